"""`rtic-console footage ...` and `evidence export|verify`: a package made end to end, then tampered with in every way."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from console.domain.audit import Action
from console.domain.cameras import Camera, Capability, SharingMode
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.services.accounts import AccountService
from console.store.audit import AuditLog
from console.store import registry as repo
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key
from tests.cli.conftest import CHEAP, PASSWORD

DETECTIVE = "cli-detective"


@pytest.fixture(autouse=True)
def settings_files(tmp_path, monkeypatch):
    """Fresh settings with the evidence folder in the test's own folder."""
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(tmp_path / "machine.toml"))
    (tmp_path / "user.toml").write_text(f'evidence_dir = "{(tmp_path / "evidence").as_posix()}"\n')
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(tmp_path / "user.toml"))
    password = tmp_path / "detective.password"  # the detective's, for scripts (RTIC_PASSWORD_FILE, mode 0600)
    password.write_text(PASSWORD)
    password.chmod(0o600)
    monkeypatch.setenv("RTIC_PASSWORD_FILE", str(password))


def _registry(database) -> dict:
    cipher = ContactCipher(load_contact_key())
    now = datetime.now(timezone.utc)
    AccountService(database, AuditLog(database), hasher=CHEAP).add_user("os:test", DETECTIVE, Role.DETECTIVE, PASSWORD,
                                                                        now - timedelta(days=1))
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Bob Shop", phone="215-555-0100"))
        site = repo.add_site(conn, owner, "Bob's", "5 Market St", 39.95, -75.16)
        cams = [repo.add_camera(conn, cipher, Camera(None, site, f"cam {i}", 39.95, -75.16 + i * 1e-4, "5 Market St",
                                                     Capability.REGISTERED, SharingMode.NEVER), owner) for i in range(2)]
        repo.add_incident(conn, Incident(None, "CAD-88", "robbery", 1, "5 Market St", 39.95, -75.16,
                                         now - timedelta(minutes=40)))
    return {"owner": owner, "cameras": cams}


def run(capsys, *argv) -> tuple[int, str, str]:
    """The command; footage and evidence export sign in as the detective."""
    signs_in = argv[0] == "footage" or argv[:2] == ("evidence", "export")
    done = run_cli(*argv, *(["--user", DETECTIVE] if signs_in else []))  # argparse's range errors too: exit 2
    return done.returncode, done.stdout, done.stderr


def make_package(database, tmp_path, capsys, out: Path) -> Path:
    ids = _registry(database)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    status, out_text, err = run(capsys, "footage", "create", "--incident", "CAD-88", "--db", database.url,
                                "--cameras", ",".join(map(str, ids["cameras"])),
                                "--start", (now - timedelta(hours=1)).isoformat(), "--end", now.isoformat())
    assert (status, err) == (0, "") and "1 footage request(s) created" in out_text
    request_id = int(out_text.rsplit(":", 1)[1])
    status, out_text, err = run(capsys, "footage", "contact", request_id, "--channel", "phone",
                                "--outcome", "agreed", "--db", database.url)
    assert (status, err) == (0, "") and "status agreed" in out_text
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "door.mp4").write_bytes(b"\x00\x01video" * 50_000)
    (inbox / "yard.mp4").write_bytes(b"yard" * 1000)
    status, out_text, err = run(capsys, "footage", "attach", request_id, inbox / "door.mp4", inbox / "yard.mp4",
                                "--camera", ids["cameras"][0], "--db", database.url)
    assert (status, err) == (0, "") and len(out_text.splitlines()) == 2
    status, out_text, err = run(capsys, "evidence", "export", request_id, out, "--db", database.url)
    assert (status, err) == (0, ""), err
    assert "exported 2 file(s) of incident CAD-88" in out_text
    return out


def test_footage_to_package_and_back(database, tmp_path, capsys):
    package = make_package(database, tmp_path, capsys, tmp_path / "pkg.zip")
    status, out, _ = run(capsys, "evidence", "verify", package)
    assert status == 0 and out.startswith("INTACT: 2 file(s)")
    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["incident"]["cad_number"] == "CAD-88"
    assert {f["size_bytes"] for f in manifest["files"]} == {350_000, 4000}
    assert "555" not in json.dumps(manifest)
    status, out, _ = run(capsys, "footage", "list", "--json", "--db", database.url)
    assert json.loads(out)["status"] == "received"
    with open_database(database.url) as db:
        from sqlalchemy import text
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT action, username, details FROM audit_events ORDER BY seq")).all()
    work = [r for r in rows if r.action not in (Action.LOGIN, Action.USER_CHANGE)]  # each command signs in first
    assert [r.action for r in work] == [Action.FOOTAGE_REQUEST, Action.FOOTAGE_CONTACT, Action.EVIDENCE_ATTACH,
                                        Action.EVIDENCE_EXPORT]
    assert {r.username for r in work} == {DETECTIVE} and all('"os_user":' in r.details for r in work)
    assert [r.action for r in rows].count(Action.LOGIN) == 5  # create, contact, attach, export, list


@pytest.fixture(params=["folder", "zip"])
def package(request, sqlite_url, tmp_path, capsys):
    """A fresh package on disk, as a folder of files (tampered in place); a zip is rebuilt with the change."""
    database = open_database(sqlite_url, create=True)
    try:
        folder = make_package(database, tmp_path, capsys, tmp_path / "pkg")
    finally:
        database.close()
    return folder, request.param


def _seal(folder: Path, kind: str) -> Path:
    if kind == "folder":
        return folder
    target = folder.with_suffix(".zip")
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return target


def _first_file(folder: Path) -> Path:
    return sorted((folder / "files").iterdir())[0]


def _flip_a_byte(folder):
    path = _first_file(folder)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return f"CHANGED files/{path.name}"


def _remove_a_file(folder):
    path = _first_file(folder)
    path.unlink()
    return f"MISSING files/{path.name}"


def _add_a_file(folder):
    (folder / "files" / "extra.mp4").write_bytes(b"planted")
    return "EXTRA files/extra.mp4"


def _edit_the_manifest(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][0]["received_by"] = "someone else"
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return "manifest.json was changed"


def _rehash_an_edited_file_in_the_manifest(folder):
    """The file and its manifest entry changed together: the manifest's own hash still gives it away."""
    path = _first_file(folder)
    path.write_bytes(b"replaced")
    manifest = json.loads((folder / "manifest.json").read_text())
    import hashlib
    for entry in manifest["files"]:
        if entry["name"] == f"files/{path.name}":
            entry["sha256"], entry["size_bytes"] = hashlib.sha256(b"replaced").hexdigest(), 8
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return "manifest.json was changed"


def _remove_the_manifest_hash(folder):
    (folder / "manifest.sha256").unlink()
    return "manifest.sha256 is missing"


@pytest.mark.parametrize("tamper", [_flip_a_byte, _remove_a_file, _add_a_file, _edit_the_manifest,
                                    _rehash_an_edited_file_in_the_manifest, _remove_the_manifest_hash])
def test_each_kind_of_tampering_is_reported(package, capsys, tamper):
    folder, kind = package
    expected = tamper(folder)
    status, out, err = run(capsys, "evidence", "verify", _seal(folder, kind))
    assert status == 1, out + err
    assert out.startswith("TAMPERED") and expected in out


def test_an_intact_rebuilt_zip_verifies(package, capsys):
    folder, kind = package
    status, out, _ = run(capsys, "evidence", "verify", _seal(folder, kind), "--json")
    report = json.loads(out)
    assert status == 0 and report["intact"] and report["files_checked"] == 2


def test_unusable_input_is_exit_2_with_one_line(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a package")
    (tmp_path / "empty").mkdir()
    for target, message in [(tmp_path / "nowhere.zip", "does not exist"),
                            (tmp_path / "notes.txt", "neither a folder nor a readable .zip"),
                            (tmp_path / "empty", "has no manifest.json")]:
        status, out, err = run(capsys, "evidence", "verify", target)
        assert status == 2 and out == ""
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_export_refuses_an_existing_target_and_bad_ids(database, tmp_path, capsys):
    package = make_package(database, tmp_path, capsys, tmp_path / "pkg")
    status, _, err = run(capsys, "evidence", "export", 1, package, "--db", database.url)
    assert status == 2 and "already exists" in err
    status, _, err = run(capsys, "evidence", "export", 99, tmp_path / "other", "--db", database.url)
    assert status == 2 and "no footage request 99" in err
    shutil.rmtree(package)


@pytest.mark.parametrize("argv, message", [
    (["--cameras", "1,x"], "not a list of camera ids"),
    (["--polygon", "1,2;3"], "not a list of points"),
    (["--circle", "39.95", "-75.16", "-5"], "radius"),
    (["--circle", "39.95", "-75.16", "1e308"], "the circle's value 1e308 is out of range"),
    (["--cameras", "9" * 30], "not a list of camera ids"),
    (["--cameras", "1", "--end", "2030-01-01T00:00:00Z"], "after now"),
    (["--cameras", "1", "--start", "yesterday"], "--start 'yesterday' is not a time"),
])
def test_footage_create_bad_input(database, capsys, argv, message):
    _registry(database)
    base = {"--start": "2026-01-01T10:00:00Z", "--end": "2026-01-01T11:00:00Z"}
    for i in range(0, len(argv) - 1):
        if argv[i] in base:
            base.pop(argv[i])
    extra = [x for k, v in base.items() for x in (k, v)]
    status, out, err = run(capsys, "footage", "create", "--incident", "CAD-88", "--db", database.url, *argv, *extra)
    assert status == 2 and message in err and "Traceback" not in err

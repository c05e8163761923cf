"""`rtic-console key` and the start-up check, through the command line (in this process, tests/support/cli.py, each
workstation its own environment and data folder; the window's refusal is in tests/cli/test_entry_point.py).

The attack from issue 14, again: workstation A fills the shared PostgreSQL registry; workstation B, with no key and
an empty data folder, is pointed at it. Before, B made its own contact.key and poisoned the registry; now B is
refused with one sentence (the window and every subcommand that reads or writes encrypted data), no key is created
and nothing is written.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from console.services.key_transfer import DEFAULT_PARAMS, write_key_export
from console.store.secrets import key_id
from tests.cli.conftest import add_account
from tests.support.cli import run_cli

KEY_A = bytes(range(32))
ADMIN = ("--user", "key-admin")
PASSPHRASE = "correct horse battery staple"


def workstation(folder: Path, key: bytes | None = None, **extra) -> dict:
    """The environment of a workstation whose data folder is `folder` (and whose key, if any, is in RTIC_CONTACT_KEY):
    the variables to change, None for each RTIC_ one this process has that the workstation does not."""
    env: dict = {k: None for k in os.environ if k.startswith("RTIC_")}
    env.update(XDG_DATA_HOME=str(folder / "data"), XDG_CONFIG_HOME=str(folder / "config"),
               XDG_CACHE_HOME=str(folder / "cache"), QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    if key is not None:
        env["RTIC_CONTACT_KEY"] = base64.b64encode(key).decode()
    env.update(extra)
    return env


def run(env: dict, *args) -> subprocess.CompletedProcess:
    return run_cli(*args, env=env)


def snapshot(url: str) -> dict:
    """Every table's rows, in order: what 'nothing was written' is checked against."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f'SELECT * FROM "{t}" ORDER BY 1')).all()
                    for t in sorted(inspect(conn).get_table_names())}
    finally:
        engine.dispose()


def key_file(folder: Path) -> Path:
    return folder / "data" / "rtic-console" / "contact.key"


@pytest.mark.postgres
def test_a_second_workstation_without_the_key_is_refused_on_the_shared_database(pg_url, tmp_path):
    a = workstation(tmp_path / "a", KEY_A)
    filled = run(a, "demo", "--cameras", "60", "--db", pg_url)
    assert filled.returncode == 0, filled.stderr
    before = snapshot(pg_url)
    assert before["owners"] and before["key_check"]
    b = workstation(tmp_path / "b")
    expected = (f"rtic-console: this database's records are under contact key {key_id(KEY_A)}, but this workstation "
                "has no contact key, so the console will not start: keys come from RTIC_CONTACT_KEY, "
                f"RTIC_CONTACT_KEY_FILE, contact.key in the data folder ({tmp_path / 'b' / 'data' / 'rtic-console'}), "
                "or `rtic-console key import`\n")
    portal = tmp_path / "portal.csv"
    portal.write_text("portal_id,owner_name,phone,address,lat,lon,camera_label,capability,sharing_mode\n"
                      "p-1,Eve Intruder,413-555-0100,1 Main St,42.15,-72.6,door,registered,never\n")
    for args in (["cameras", "near", "42.15", "-72.6", "--radius", "800"], ["import", str(portal)],
                 ["export", str(tmp_path / "out.csv"), "--with-contacts", "--reason", "taking the contacts"],
                 ["demo", "--cameras", "5"], ["key", "export", "--to", str(tmp_path / "stolen.json")]):
        refused = run(b, *args, "--db", pg_url)
        assert (refused.returncode, refused.stderr) == (2, expected), args
        assert not key_file(tmp_path / "b").exists(), args
    assert snapshot(pg_url) == before  # not one row written: no owner, no digest, no audit event
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "stolen.json").exists()
    # A keeps working: its search still finds every camera.
    a.update(add_account(pg_url, "admin", "key-admin", tmp_path))
    found = run(a, "cameras", "near", "42.15", "-72.6", "--radius", "800", "--db", pg_url, *ADMIN)
    assert found.returncode == 0 and "camera(s) within 800 m" in found.stdout


@pytest.mark.postgres
def test_the_key_carried_by_export_and_import_lets_the_second_workstation_in(pg_url, tmp_path):
    a = workstation(tmp_path / "a", KEY_A)
    assert run(a, "demo", "--cameras", "20", "--db", pg_url).returncode == 0
    a.update(add_account(pg_url, "admin", "key-admin", tmp_path))  # an administrator carries the key
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    carried = tmp_path / "agency.key.json"
    refused = run({**a, "RTIC_KEY_PASSPHRASE_FILE": str(passphrase)}, "key", "export", "--to", str(carried),
                  "--db", pg_url)
    assert refused.returncode == 2 and "`rtic-console key export` needs a signed-in console account" in refused.stderr
    exported = run({**a, "RTIC_KEY_PASSPHRASE_FILE": str(passphrase)}, "key", "export", "--to", str(carried),
                   "--db", pg_url, *ADMIN)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["key_id"] == key_id(KEY_A)
    assert stat.S_IMODE(carried.stat().st_mode) == 0o600
    document = json.loads(carried.read_text())
    assert (document["version"], document["key_id"], document["kdf"]["name"], document["cipher"]["name"]) == (
        1, key_id(KEY_A), "argon2id", "AES-256-GCM")
    assert base64.b64encode(KEY_A).decode() not in carried.read_text()
    again = run({**a, "RTIC_KEY_PASSPHRASE_FILE": str(passphrase)}, "key", "export", "--to", str(carried),
                "--db", pg_url, *ADMIN)
    assert again.returncode == 2 and "already exists" in again.stderr and again.stderr.count("\n") == 1

    b = workstation(tmp_path / "b", RTIC_PASSWORD_FILE=a["RTIC_PASSWORD_FILE"])
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    refused = run({**b, "RTIC_KEY_PASSPHRASE_FILE": str(wrong)}, "key", "import", str(carried), "--db", pg_url, *ADMIN)
    assert (refused.returncode, refused.stderr) == (
        2, f"rtic-console: the passphrase does not open {carried} (or the file was changed): nothing was installed\n")
    assert not key_file(tmp_path / "b").exists()
    imported = run({**b, "RTIC_KEY_PASSPHRASE_FILE": str(passphrase)}, "key", "import", str(carried), "--db", pg_url, *ADMIN)
    assert imported.returncode == 0, imported.stderr
    assert stat.S_IMODE(key_file(tmp_path / "b").stat().st_mode) == 0o600
    assert base64.b64decode(key_file(tmp_path / "b").read_text()) == KEY_A
    status = run(b, "key", "status", "--db", pg_url)
    assert status.returncode == 0, status.stderr
    assert f"key id: {key_id(KEY_A)}" in status.stdout and "matches: yes" in status.stdout
    assert base64.b64encode(KEY_A).decode() not in status.stdout + status.stderr
    found = run(b, "cameras", "near", "42.15", "-72.6", "--radius", "800", "--db", pg_url, *ADMIN)
    assert found.returncode == 0, found.stderr
    events = snapshot(pg_url)["audit_events"]
    assert [e.action for e in events if e.action.startswith("key_")] == ["key_export", "key_import"]


def test_a_key_file_for_another_registry_is_not_installed(sqlite_url, tmp_path):
    a = workstation(tmp_path / "a", KEY_A)
    assert run(a, "demo", "--cameras", "10", "--db", sqlite_url).returncode == 0
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE)
    other = tmp_path / "other.json"
    write_key_export(other, b"z" * 32, PASSPHRASE, DEFAULT_PARAMS)
    b = workstation(tmp_path / "b", RTIC_KEY_PASSPHRASE_FILE=str(passphrase),
                    **add_account(sqlite_url, "admin", "key-admin", tmp_path))
    refused = run(b, "key", "import", str(other), "--db", sqlite_url, *ADMIN)
    assert refused.returncode == 2 and f"under contact key {key_id(KEY_A)}" in refused.stderr
    assert refused.stderr.count("\n") == 1 and not key_file(tmp_path / "b").exists()
    status = run(b, "key", "status", "--db", sqlite_url)
    assert status.returncode == 2 and "matches: NO" in status.stdout


@pytest.mark.parametrize("content, words", [
    ("{not json", "is not a contact key export"),
    ('{"format": "rtic-console contact key", "version": 1}', "is not a contact key export"),
    ('{"format": "rtic-console contact key", "version": 7, "key_id": "00", "kdf": {"name": "argon2id"}, '
     '"cipher": {"name": "AES-256-GCM"}}', "is a version 7 key export"),
    ("x" * 5000, "too large"),
])
def test_a_hostile_key_file_is_refused_before_any_work(sqlite_url, tmp_path, content, words):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    b = workstation(tmp_path / "b", RTIC_KEY_PASSPHRASE_FILE=str(tmp_path / "missing"))
    refused = run(b, "key", "import", str(bad), "--db", sqlite_url)
    assert refused.returncode == 2 and words in refused.stderr and refused.stderr.count("\n") == 1


def test_argon2_parameters_out_of_bounds_are_refused(tmp_path):
    """A file asking for 64 GiB of memory must not make the import allocate it."""
    from console.errors import UserError
    from console.services.key_transfer import read_key_export

    good = tmp_path / "good.json"
    write_key_export(good, KEY_A, PASSPHRASE, {"time_cost": 1, "memory_cost": 8192, "parallelism": 1})
    document = json.loads(good.read_text())
    document["kdf"]["memory_cost"] = 64 * 1024 * 1024
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    assert read_key_export(good)["key_id"] == key_id(KEY_A)
    with pytest.raises(UserError, match="memory_cost is out of range"):
        read_key_export(bad)

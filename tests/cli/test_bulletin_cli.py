"""`rtic-console bulletin send|list|group|export|deliver`: end to end on a real database and a real SMTP relay
(aiosmtpd, STARTTLS with a test CA), bad input answered with one sentence and exit status 2, nothing changed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from console.cli import main
from console.domain.audit import Action
from console.domain.incidents import Incident
from console.domain.users import Role
from console.store import registry as repo
from console.store.db import open_database
from tests.services.conftest import audit_rows
from tests.services.test_bulletins import mp4, png
from tests.support.smtp_server import PASSWORD, USER, SmtpRelay


@pytest.fixture
def relay(tmp_path):
    with SmtpRelay(tmp_path / "relay") as relay:
        yield relay


@pytest.fixture
def db(sqlite_url, tmp_path, monkeypatch, relay, sign_in_as):
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(tmp_path / "machine.toml"))
    (tmp_path / "machine.toml").write_text(
        f'smtp_host = "127.0.0.1"\nsmtp_port = {relay.port}\nsmtp_ca_file = "{relay.ca.as_posix()}"\n'
        f'smtp_from = "rtic@pd.example.gov"\nsmtp_user = "{USER}"\nsmtp_timeout_s = 3.0\nbulletin_clip_max_s = 5.0\n')
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(tmp_path / "user.toml"))
    monkeypatch.setenv("RTIC_SMTP_PASSWORD", PASSWORD)
    with open_database(sqlite_url, create=True) as database:
        with database.engine.begin() as conn:
            repo.add_incident(conn, Incident(None, "CAD-88", "robbery", 1, "5 Market St", 39.95, -75.16,
                                             datetime.now(timezone.utc) - timedelta(minutes=5)))
    user = sign_in_as(sqlite_url, Role.DISPATCHER)
    return sqlite_url, user


def run(capsys, db, *argv) -> tuple[int, str, str]:
    url, user = db
    status = main(["bulletin", *[str(a) for a in argv], "--db", url, *user])
    out, err = capsys.readouterr()
    return status, out, err


def test_send_deliver_list_export_verify(db, capsys, tmp_path, relay):
    (tmp_path / "snap.png").write_bytes(png())
    (tmp_path / "clip.mp4").write_bytes(mp4(2.0, tmp_path))
    status, out, err = run(capsys, db, "group", "Patrol sector 2", "p1@pd.example.gov", "p2@pd.example.gov")
    assert status == 0, err
    status, out, err = run(capsys, db, "send", "--incident", "CAD-88", "--text", "Grey sedan, plate partial 7KX",
                           "--image", tmp_path / "snap.png", "--clip", tmp_path / "clip.mp4",
                           "--to", "Patrol sector 2", "--to", "unit4@pd.example.gov", "--reason", "robbery")
    assert status == 0, err
    assert "3 e-mail copy(ies) queued" in out
    status, out, err = run(capsys, db, "deliver")
    assert status == 0 and json.loads(out)["sent"] == 3, out + err
    assert sorted(m[0][0] for m in relay.messages) == ["p1@pd.example.gov", "p2@pd.example.gov",
                                                       "unit4@pd.example.gov"]
    status, out, _ = run(capsys, db, "list", "--incident", "CAD-88", "--json")
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert [d["state"] for d in listed["delivery"]] == ["sent"] * 3
    status, out, err = run(capsys, db, "export", "--incident", "CAD-88", tmp_path / "pkg.zip")
    assert status == 0, err
    assert main(["evidence", "verify", str(tmp_path / "pkg.zip")]) == 0
    assert "INTACT: 3 file(s)" in capsys.readouterr().out
    with open_database(db[0]) as database:
        [sent] = audit_rows(database, Action.BULLETIN_SEND)
        assert sent["username"] == "cli-dispatcher" and sent["details"]["os_user"]
        assert len(audit_rows(database, Action.EVIDENCE_EXPORT)) == 1


@pytest.mark.parametrize("argv,match", [
    (["send", "--incident", "CAD-404", "--text", "x", "--to", "a@pd.example.gov"], "no incident with CAD number"),
    (["send", "--incident", "CAD-88", "--text", "x", "--to", "a@@pd"], "not an e-mail address"),
    (["send", "--incident", "CAD-88", "--text", "x" * 1001, "--to", "a@pd.example.gov"], "keep it to 1000"),
    (["send", "--incident", "CAD-88", "--text", "x", "--to", "a@pd.example.gov", "--image", "/nonexistent.png"],
     "is not a file"),
    (["send", "--incident", "CAD-88", "--text", "x", "--to", "a@pd.example.gov", "--camera", "-3"], "out of range"),
    (["send", "--incident", "CAD-88", "--text", "x"], "no recipients"),
    (["group", "bad@name", "a@pd.example.gov"], "not a group name"),
    (["group", "Sector 1"], "give the addresses"),
    (["export", "--incident", "CAD-88", "out.zip"], "no bulletins were sent"),
])
def test_bad_input_is_one_sentence_and_exit_2(db, capsys, argv, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        status, _, err = run(capsys, db, *argv)
    except SystemExit as exc:
        status, err = exc.code, capsys.readouterr().err
    assert status == 2 and match in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1
    with open_database(db[0]) as database:
        assert audit_rows(database, Action.BULLETIN_SEND) == []


def test_hostile_files_are_refused_by_content(db, capsys, tmp_path):
    (tmp_path / "evil.png").write_bytes(b"<html><script>alert(1)</script>")
    (tmp_path / "clip.mp4").write_bytes(mp4(8.0, tmp_path))  # longer than bulletin_clip_max_s = 5
    status, _, err = run(capsys, db, "send", "--incident", "CAD-88", "--text", "x", "--to", "a@pd.example.gov",
                         "--image", tmp_path / "evil.png")
    assert status == 2 and "not a PNG, JPEG or MP4" in err
    status, _, err = run(capsys, db, "send", "--incident", "CAD-88", "--text", "x", "--to", "a@pd.example.gov",
                         "--clip", tmp_path / "clip.mp4")
    assert status == 2 and "at most 5 s" in err


def test_deliver_with_the_relay_down_keeps_every_copy(db, capsys, relay):
    assert run(capsys, db, "send", "--incident", "CAD-88", "--text", "x", "--to", "a@pd.example.gov")[0] == 0
    relay.down()
    status, out, _ = run(capsys, db, "deliver")
    assert status == 0 and json.loads(out)["retry"] == 1
    status, out, _ = run(capsys, db, "list", "--json")
    assert json.loads(out)["delivery"][0]["state"] == "queued"


def test_auditors_cannot_send(db, capsys, sign_in_as):
    url, _ = db
    user = sign_in_as(url, Role.AUDITOR)
    status = main(["bulletin", "send", "--incident", "CAD-88", "--text", "x", "--to", "a@pd.example.gov",
                   "--db", url, *user])
    assert status == 2 and "cannot" in capsys.readouterr().err


def test_send_to_units_uses_the_units_groups_and_names_the_others(db, capsys):
    from tests.services.test_bulletin_units import SAMPLES

    url, user = db
    assert main(["cad", "import", str(SAMPLES / "units_burglary.json"), "--db", url, *user]) == 0, \
        capsys.readouterr().err
    capsys.readouterr()
    status, out, err = run(capsys, db, "send", "--incident", "CPD-2026-004711", "--text", "x", "--to-units")
    assert status == 2 and "no recipients" in err  # no unit has a group yet: nothing sent
    assert run(capsys, db, "group", "Unit 2A21", "lee@pd.example.gov", "diaz@pd.example.gov")[0] == 0
    status, out, err = run(capsys, db, "send", "--incident", "CPD-2026-004711", "--text", "Suspect north on Elm",
                           "--to-units", "--to", "sgt@pd.example.gov")
    assert status == 0, err
    assert "3 e-mail copy(ies) queued" in out
    assert "'Unit 2A22'" in err and "'K9-4'" in err and "no recipient group" in err
    with open_database(url) as database:
        [event] = audit_rows(database, Action.BULLETIN_SEND)
    assert event["details"]["groups"] == ["Unit 2A21"]

"""`rtic-console alerts raise|list|end` on both backends, signed in: one line out, bad input one line and exit 2."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import main
from console.domain.cameras import Camera, Capability, SharingMode
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store import registry as repo
from console.store.secrets import ContactCipher, load_contact_key


@pytest.fixture
def camera(database):
    cipher = ContactCipher(load_contact_key())
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Bob Shop", phone="215-555-0100"))
        site = repo.add_site(conn, owner, "Bob's", "5 Market St", 39.95, -75.16)
        camera_id = repo.add_camera(conn, cipher, Camera(None, site, "front", 39.95, -75.16, "5 Market St",
                                                         Capability.LIVE, SharingMode.ON_ALERT), owner)
    return {"camera": camera_id, "site": site}


@pytest.fixture
def outreach(db_url, sign_in_as):
    return sign_in_as(db_url, Role.OUTREACH)


def test_raise_list_end(db_url, camera, capsys, outreach):
    db_url = [db_url, *outreach]  # every command below signs in as the outreach account
    assert main(["alerts", "raise", "--camera", str(camera["camera"]), "--minutes", "20", "--db", *db_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Alert ") and f"camera {camera['camera']} may be watched live until" in out
    grant_id = int(out.split()[1].rstrip(":"))
    assert main(["alerts", "raise", "--site", str(camera["site"]), "--source", "panic_button", "--db", *db_url]) == 0
    capsys.readouterr()

    assert main(["alerts", "list", "--json", "--db", *db_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["camera_id"], a["site_id"], a["source"]) for a in listed] == [
        (None, camera["site"], "panic_button"), (camera["camera"], camera["site"], "staff")]
    assert "Bob Shop" not in json.dumps(listed) and "215-555" not in json.dumps(listed)

    assert main(["alerts", "end", str(grant_id), "--db", *db_url]) == 0
    assert capsys.readouterr().out.startswith(f"Alert {grant_id} ended at")
    assert main(["alerts", "list", "--db", *db_url]) == 0
    table = capsys.readouterr().out
    assert "every camera at Bob's (5 Market St)" in table and "camera front" not in table


@pytest.mark.parametrize("argv, message", [
    (["alerts", "raise", "--camera", "424242"], "no camera 424242"),
    (["alerts", "raise", "--camera", "{camera}", "--minutes", "0"], "--minutes 0 is out of range: give a whole number from 1 to 720"),
    (["alerts", "raise", "--camera", "{camera}", "--minutes", "721"], "from 1 to 720"),
    (["alerts", "raise", "--camera", "{camera}", "--minutes", "ten"], "--minutes 'ten' is not a whole number"),
    (["alerts", "raise", "--camera", "9" * 40], "--camera " + "9" * 40 + " is out of range"),
    (["alerts", "raise", "--camera", "{camera}", "--source", "feed"], "cannot claim --source feed"),
    (["alerts", "raise"], "one of the arguments --camera --site is required"),
    (["alerts", "end", "77"], "no alert 77"),
])
def test_bad_input_is_one_line_and_exit_2(db_url, camera, capsys, outreach, argv, message):
    argv = [a.format(camera=camera["camera"]) for a in argv]
    status = main(argv + ["--db", db_url, *outreach])  # argparse's own errors too, through our one-line parser
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_staff_cannot_claim_the_feed_and_watchers_cannot_raise_alerts(db_url, camera, capsys, sign_in_as):
    dispatcher = sign_in_as(db_url, Role.DISPATCHER)
    assert main(["alerts", "raise", "--camera", str(camera["camera"]), "--db", db_url, *dispatcher]) == 2
    assert capsys.readouterr().err == ("rtic-console: the dispatcher role cannot run `rtic-console alerts raise`: "
                                       "it needs the registry edit permission\n")
    outreach = sign_in_as(db_url, Role.OUTREACH)
    assert main(["alerts", "raise", "--camera", str(camera["camera"]), "--source", "feed", "--db", db_url,
                 *outreach]) == 2
    assert capsys.readouterr().err == (
        "rtic-console: an alert entered by staff cannot claim --source feed: only the portal's registry feed records "
        "those (give staff, app or panic_button: how the owner told you)\n")
    assert main(["alerts", "raise", "--camera", str(camera["camera"]), "--db", db_url]) == 2  # no --user
    assert "`rtic-console alerts raise` needs a signed-in console account: give --user NAME" in capsys.readouterr().err
    with open_database(db_url) as database:
        events = AuditLog(database).query()
    assert not [e for e in events if e.action == "consent_change"]  # nothing was opened
    [refused] = [e for e in events if e.action == "login_failed"]
    assert (refused.username, refused.outcome, refused.details["why"]) == ("cli-dispatcher", "denied", "role")
    assert refused.details["os_user"] and refused.details["command"] == "alerts raise"


def test_a_dispatcher_closes_an_owner_alert_incident(db_url, camera, capsys, outreach, sign_in_as):
    from console.services.owner_alerts import OwnerAlertService

    assert main(["alerts", "raise", "--camera", str(camera["camera"]), "--source", "panic_button",
                 "--db", db_url, *outreach]) == 0
    capsys.readouterr()
    with open_database(db_url) as database:
        from datetime import datetime, timezone

        (bar,) = OwnerAlertService(database, AuditLog(database)).alert_bars(datetime.now(timezone.utc))
    dispatcher = sign_in_as(db_url, Role.DISPATCHER)
    assert main(["alerts", "close-incident", str(bar.incident.id), "--note", "owner called: false alarm",
                 "--db", db_url, *dispatcher]) == 0
    assert capsys.readouterr().out.startswith(f"Incident {bar.incident.id} closed at")
    # Again: already closed, one sentence, exit 2; an auditor may not; hostile input is refused plainly.
    for argv, words in ((["alerts", "close-incident", str(bar.incident.id)], "already closed"),
                        (["alerts", "close-incident", "x' OR 1=1"], "the incident's ID"),
                        (["alerts", "close-incident", str(bar.incident.id), "--note", "n" * 501], "500 characters")):
        try:
            code = main([*argv, "--db", db_url, *dispatcher])
        except SystemExit as exit_:  # argparse refuses bad arguments itself
            code = exit_.code
        assert code == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
    auditor = sign_in_as(db_url, Role.AUDITOR)
    assert main(["alerts", "close-incident", str(bar.incident.id), "--db", db_url, *auditor]) == 2
    capsys.readouterr()

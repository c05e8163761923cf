"""`rtic-console alerts raise|list|end` on both backends: one line out, bad input one line and exit 2."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from console.domain.cameras import Camera, Capability, SharingMode
from console.domain.owners import OwnerContact, OwnerKind
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


def test_raise_list_end(db_url, camera, capsys):
    assert main(["alerts", "raise", "--camera", str(camera["camera"]), "--minutes", "20", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Alert ") and f"camera {camera['camera']} may be watched live until" in out
    grant_id = int(out.split()[1].rstrip(":"))
    assert main(["alerts", "raise", "--site", str(camera["site"]), "--source", "panic_button", "--db", db_url]) == 0
    capsys.readouterr()

    assert main(["alerts", "list", "--json", "--db", db_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["camera_id"], a["site_id"], a["source"]) for a in listed] == [
        (None, camera["site"], "panic_button"), (camera["camera"], camera["site"], "staff")]
    assert "Bob Shop" not in json.dumps(listed) and "215-555" not in json.dumps(listed)

    assert main(["alerts", "end", str(grant_id), "--db", db_url]) == 0
    assert capsys.readouterr().out.startswith(f"Alert {grant_id} ended at")
    assert main(["alerts", "list", "--db", db_url]) == 0
    table = capsys.readouterr().out
    assert "every camera at Bob's (5 Market St)" in table and "camera front" not in table


@pytest.mark.parametrize("argv, message", [
    (["alerts", "raise", "--camera", "424242"], "no camera 424242"),
    (["alerts", "raise", "--camera", "{camera}", "--minutes", "0"], "1 to 720 minutes"),
    (["alerts", "raise", "--camera", "{camera}", "--minutes", "721"], "at most 720 minutes"),
    (["alerts", "raise", "--camera", "{camera}", "--minutes", "ten"], "invalid int value"),
    (["alerts", "raise"], "one of the arguments --camera --site is required"),
    (["alerts", "end", "77"], "no alert 77"),
])
def test_bad_input_is_one_line_and_exit_2(db_url, camera, capsys, argv, message):
    argv = [a.format(camera=camera["camera"]) for a in argv]
    try:
        status = main(argv + ["--db", db_url])
    except SystemExit as usage:  # argparse's own errors exit through our one-line parser
        status = usage.code
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err

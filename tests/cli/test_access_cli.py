"""`rtic-console access explain`: the decision and its rule, in words and as JSON; signed in; audited; opens nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.cli import main
from console.domain.audit import Action
from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
from console.domain.grants import GrantSource, ShareGrant
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.services.accounts import AccountService
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.secrets import ContactCipher, load_contact_key
from tests.cli.conftest import CHEAP, PASSWORD

AT = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)


@pytest.fixture
def setup(database):
    cipher = ContactCipher(load_contact_key())
    accounts = AccountService(database, AuditLog(database), cipher, CHEAP, "ws")
    for role in (Role.DISPATCHER, Role.OUTREACH):
        accounts.add_user("os:test", role.value, role, PASSWORD, AT - timedelta(days=1))
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Bob Shop", phone="215-555-0100"))
        site = repo.add_site(conn, owner, "Bob's", "5 Market St", 39.95, -75.16)
        stream = (Stream(StreamProtocol.RTSP, "rtsp://u:pw@10.0.0.9/live"),)
        ids = {mode: repo.add_camera(conn, cipher, Camera(None, site, mode.value, 39.95, -75.16, "5 Market St",
                                                          Capability.LIVE, mode, streams=stream), owner)
               for mode in SharingMode}
        repo.add_grant(conn, ShareGrant(None, ids[SharingMode.ON_ALERT], None, AT - timedelta(minutes=5),
                                        AT + timedelta(minutes=10), GrantSource.APP))
        repo.add_incident(conn, Incident(None, "CAD-77", "robbery", 1, "5 Market St", 39.95, -75.16, AT))
    return ids


@pytest.fixture
def supervisor(database, sign_in_as):
    return sign_in_as(database, Role.SUPERVISOR, "sup")


def explain(database, capsys, *argv):
    """As the supervisor `sup` (signed in): `--user X` in argv becomes `--for X`, the user asked about."""
    argv = ["--for" if a == "--user" else str(a) for a in argv]
    status = main(["access", "explain", *argv, "--user", "sup", "--db", database.url])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_decision_for_an_owner_alert(database, capsys, setup, supervisor):
    status, out, err = explain(database, capsys, setup[SharingMode.ON_ALERT], "--user", "dispatcher", "--incident",
                               "CAD-77", "--reason", "robbery in progress", "--at", "2026-11-23T22:00:00Z", "--json")
    assert (status, err) == (0, "")
    decision = json.loads(out)
    assert (decision["allowed"], decision["rule"], decision["expires_at"]) == (
        True, "owner_alert", "2026-11-23T22:10:00+00:00")
    assert "alert" in decision["reason"]
    [event] = [r for r in AuditLog(database).query() if r.action == Action.ACCESS_EXPLAIN]
    assert event.camera_id == setup[SharingMode.ON_ALERT] and event.username == "sup"
    assert event.details["os_user"] and not event.details["os_user"].startswith("os:")
    assert event.details["user"] == "dispatcher" and event.details["rule"] == "owner_alert"
    assert not [r for r in AuditLog(database).query() if r.action == Action.VIEW_START]


def test_words_for_the_dispatcher(database, capsys, setup, supervisor):
    status, out, _ = explain(database, capsys, setup[SharingMode.NEVER], "--user", "dispatcher", "--incident",
                             "CAD-77", "--reason", "robbery in progress", "--at", "2026-11-23T22:00:00")
    assert status == 0
    assert out.splitlines() == ["DENIED (rule: sharing_never)", "  the owner does not share this camera live"]
    status, out, _ = explain(database, capsys, setup[SharingMode.ALWAYS], "--user", "outreach",
                             "--at", "2026-11-23T22:00:00")
    assert out.splitlines()[0] == "DENIED (rule: role_no_live_view)"
    assert out.splitlines()[2] == "  also failing: no_incident, no_reason"
    status, out, _ = explain(database, capsys, setup[SharingMode.ON_ALERT], "--user", "dispatcher", "--incident",
                             "CAD-77", "--reason", "robbery in progress", "--at", "2026-11-23T22:20:00Z")
    assert out.splitlines()[0] == "DENIED (rule: grant_expired)"


@pytest.mark.parametrize("argv, words", [
    (("--user", "nobody"), "no user named nobody"),
    (("--user", "dispatcher", "--at", "yesterday"), "--at 'yesterday' is not a time"),
    (("--user", "dispatcher", "--max-session", "0"), "--max-session 0 is out of range"),
    (("--user", "dispatcher", "--max-session", "9" * 40), "--max-session 9999"),
    (("--user", "dispatcher", "--incident", "NOPE-1"), "no incident with CAD number 'NOPE-1'"),
])
def test_bad_input(database, capsys, setup, supervisor, argv, words):
    status, out, err = explain(database, capsys, setup[SharingMode.ALWAYS], *argv)  # argparse's range errors too
    assert status == 2 and words in err and out == "" and "Traceback" not in err and err.count("\n") == 1


def test_a_user_explains_their_own_access_but_not_someone_elses(database, capsys, setup, sign_in_as):
    sign_in_as(database, Role.DISPATCHER, "dispatcher")  # the account exists: its password file is now in force
    argv = ["access", "explain", str(setup[SharingMode.NEVER]), "--user", "dispatcher", "--db", database.url]
    assert main(argv) == 0 and capsys.readouterr().out.startswith("DENIED (rule: sharing_never)")
    assert main([*argv, "--for", "outreach"]) == 2
    assert capsys.readouterr().err == ("rtic-console: the dispatcher role cannot run `rtic-console access explain`: "
                                       "it needs the audit view permission\n")
    [event] = [r for r in AuditLog(database).query() if r.action == Action.ACCESS_EXPLAIN]
    assert (event.username, event.details["user"]) == ("dispatcher", "dispatcher")


def test_unknown_camera(database, capsys, setup, supervisor):
    status, _, err = explain(database, capsys, 9999, "--user", "dispatcher")
    assert status == 2 and "no camera 9999" in err

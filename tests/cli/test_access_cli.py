"""`rtic-console access explain`: the decision and its rule, in words and as JSON; audited; opens nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher

from console.cli import main
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

AT = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)


@pytest.fixture
def setup(database):
    cipher = ContactCipher(load_contact_key())
    accounts = AccountService(database, AuditLog(database), cipher,
                              PasswordHasher(time_cost=1, memory_cost=8, parallelism=1), "ws")
    for role in (Role.DISPATCHER, Role.OUTREACH):
        accounts.add_user("os:test", role.value, role, "correct horse battery", AT - timedelta(days=1))
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


def explain(database, capsys, *argv):
    status = main(["access", "explain", *map(str, argv), "--db", database.url])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_decision_for_an_owner_alert(database, capsys, setup):
    status, out, err = explain(database, capsys, setup[SharingMode.ON_ALERT], "--user", "dispatcher", "--incident",
                               "CAD-77", "--reason", "robbery in progress", "--at", "2026-11-23T22:00:00Z", "--json")
    assert (status, err) == (0, "")
    decision = json.loads(out)
    assert (decision["allowed"], decision["rule"], decision["expires_at"]) == (
        True, "owner_alert", "2026-11-23T22:10:00+00:00")
    assert "alert" in decision["reason"]
    [event] = [r for r in AuditLog(database).query() if r.action == Action.ACCESS_EXPLAIN]
    assert event.camera_id == setup[SharingMode.ON_ALERT] and event.username.startswith("os:")
    assert event.details["user"] == "dispatcher" and event.details["rule"] == "owner_alert"
    assert not [r for r in AuditLog(database).query() if r.action == Action.VIEW_START]


def test_words_for_the_dispatcher(database, capsys, setup):
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
    (("--user", "dispatcher", "--max-session", "0"), "--max-session 0 is not valid"),
])
def test_bad_input(database, capsys, setup, argv, words):
    status, out, err = explain(database, capsys, setup[SharingMode.ALWAYS], *argv)
    assert status == 2 and words in err and out == "" and "Traceback" not in err


def test_unknown_camera(database, capsys, setup):
    status, _, err = explain(database, capsys, 9999, "--user", "dispatcher")
    assert status == 2 and "no camera 9999" in err

"""Owner contact: masked by default, revealed only to a permitted role with a reason, audited first; never readable
in the raw database (SQLite file bytes, PostgreSQL rows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from console.domain.audit import Action, Outcome
from console.domain.users import Role
from console.services.contacts import ContactDenied
from console.store.audit import AuditUnavailable
from tests.services.conftest import CONTACT, NOW, audit_rows, refuse_audit_writes

SECRETS = ("Maria", "Lopez", "555-0143", "2155550143", "maria.lopez", "example.org")


def test_reveal_for_a_permitted_role_with_a_reason(database, contacts, people, registry):
    contact = contacts.reveal(people[Role.DETECTIVE], registry["owner"], "request footage for CAD-2026-0042", NOW,
                              camera_id=registry["always"])
    assert (contact.name, contact.phone, contact.email) == (CONTACT.name, CONTACT.phone, CONTACT.email)
    [event] = audit_rows(database, Action.CONTACT_REVEAL)
    assert (event["outcome"], event["username"], event["camera_id"]) == (Outcome.OK, "detective", registry["always"])
    assert event["details"] == {"owner_id": registry["owner"], "reason": "request footage for CAD-2026-0042"}
    assert not any(s in str(audit_rows(database)) for s in SECRETS)


@pytest.mark.parametrize("role, reason, words", [
    (Role.AUDITOR, "checking a complaint", "auditor role cannot see owner contact"),
    (Role.ADMIN, "checking a complaint", "admin role cannot"),
    (Role.DISPATCHER, "  ", "give a reason"),
])
def test_refused_reveals_stay_masked_and_are_recorded(database, contacts, people, registry, role, reason, words):
    with pytest.raises(ContactDenied, match=words) as denied:
        contacts.reveal(people[role], registry["owner"], reason, NOW)
    assert not any(s in str(denied.value) for s in SECRETS)
    [event] = audit_rows(database, Action.CONTACT_REVEAL)
    assert event["outcome"] == Outcome.DENIED and event["details"]["owner_id"] == registry["owner"]
    masked = contacts.masked(registry["owner"])
    assert (masked.name, masked.phone, masked.email) == ("M**** L****", "***-***-**43", "m***@example.org")


def test_no_reveal_when_the_audit_store_refuses(database, contacts, people, registry):
    refuse_audit_writes(database)
    with pytest.raises(AuditUnavailable):
        contacts.reveal(people[Role.DISPATCHER], registry["owner"], "request footage", NOW)


def test_contact_is_unreadable_in_the_raw_database(database, registry):
    if database.dialect == "sqlite":
        database.engine.dispose()  # let SQLite fold the WAL into the file too
        path = Path(make_url(database.url).database)
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert b"12 Elm St" in raw  # the site address is public: proves we read the right bytes
    else:
        with database.engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM owners")).all()
            raw = repr(rows).encode() + b"".join(bytes(v) for r in rows for v in r if isinstance(v, (bytes, memoryview)))
        assert rows
    for secret in SECRETS:
        assert secret.encode() not in raw


def test_a_role_lost_since_login_cannot_reveal(database, contacts, accounts, people, registry):
    detective = people[Role.DETECTIVE]
    accounts.set_role("os:admin", "detective", Role.AUDITOR, NOW)
    with pytest.raises(ContactDenied, match="auditor role"):
        contacts.reveal(detective, registry["owner"], "request footage", NOW)

"""Outreach calls on both backends: logging calls, who to call next, a registered call linked to its owner."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from console.domain.audit import Action
from console.domain.changes import ChangeKind
from console.domain.intake import CallOutcome
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.errors import UserError
from console.services.outreach import CallLog, OutreachService
from console.store import registry as repo
from console.store.changes import changes_since
from console.store.models import OutreachCallRow
from tests.services.conftest import NOW, audit_rows

DAY = timedelta(days=1)


@pytest.fixture
def outreach(database, audit, cipher):
    return OutreachService(database, audit, cipher, workstation="outreach-desk")


@pytest.fixture
def staff(people):
    return people[Role.OUTREACH]


def call(business, outcome, when, phone="", **extra) -> CallLog:
    return CallLog(business, f"{business} address", phone, when, outcome, **extra)


def test_who_to_call_next(outreach, staff):
    ids = {
        "bakery": outreach.log_call(staff, call("Bakery", CallOutcome.CALL_BACK, NOW - 5 * DAY, "413-555-0101",
                                                call_back_on=date(2026, 11, 23))),
        "later": outreach.log_call(staff, call("Later Ltd", CallOutcome.CALL_BACK, NOW - DAY, "413-555-0102",
                                               call_back_on=date(2026, 11, 30))),
        "silent": outreach.log_call(staff, call("Silent Bar", CallOutcome.NO_ANSWER, NOW - 10 * DAY, "413-555-0103")),
        "recent": outreach.log_call(staff, call("Fresh Cafe", CallOutcome.NO_ANSWER, NOW - DAY, "413-555-0104")),
        "no": outreach.log_call(staff, call("Nope Inc", CallOutcome.DECLINED, NOW - 20 * DAY, "413-555-0105")),
    }
    # Answered on a second try: its earlier unanswered call no longer counts.
    outreach.log_call(staff, call("Gym", CallOutcome.NO_ANSWER, NOW - 9 * DAY, "413-555-0106"))
    outreach.log_call(staff, call("Gym", CallOutcome.DECLINED, NOW - 2 * DAY, "(413) 555-0106"))
    due = outreach.due(staff, date(2026, 11, 23), no_answer_days=3)
    assert [d.call_id for d in due] == [ids["silent"], ids["bakery"]]  # soonest due first
    assert due[0].due_at == NOW - 7 * DAY and due[0].last_outcome is CallOutcome.NO_ANSWER
    week = [d.business for d in outreach.due(staff, date(2026, 11, 30), no_answer_days=3)]
    assert week == ["Silent Bar", "Bakery", "Fresh Cafe", "Later Ltd"]
    assert outreach.phone_of(staff, ids["bakery"]) == "413-555-0101"


def test_registered_call_links_to_the_owner_found_by_phone(database, outreach, staff, cipher):
    with pytest.raises(UserError, match="register the cameras first"):
        outreach.log_call(staff, call("Deli", CallOutcome.REGISTERED, NOW, "413-555-0177"))
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS,
                               OwnerContact("Sam", "Deli", phone="+1 (413) 555-0177"))
    call_id = outreach.log_call(staff, call("Deli", CallOutcome.REGISTERED, NOW, "413 555 0177", notes="two cameras"))
    with database.engine.connect() as conn:
        row = conn.execute(select(OutreachCallRow.__table__).where(OutreachCallRow.id == call_id)).one()
        [change] = changes_since(conn, 0)[-1:]
    assert row.owner_id == owner and row.outcome == "registered" and b"0177" not in row.phone_ciphertext
    assert (change.kind, change.record_id) == (ChangeKind.OUTREACH, call_id)
    [event] = audit_rows(database, Action.REGISTRY_CHANGE)
    assert event["details"] == {"change": "outreach_call", "outreach_call_id": call_id, "outcome": "registered",
                                "owner_id": owner}


def test_bad_calls_are_refused_and_only_editors_may_log(database, outreach, staff, people):
    with pytest.raises(UserError, match="date to call back on"):
        outreach.log_call(staff, call("Deli", CallOutcome.CALL_BACK, NOW))
    with pytest.raises(UserError, match="business"):
        outreach.log_call(staff, call("  ", CallOutcome.DECLINED, NOW))
    with pytest.raises(UserError, match="dispatcher role"):
        outreach.log_call(people[Role.DISPATCHER], call("Deli", CallOutcome.DECLINED, NOW))
    with pytest.raises(UserError, match="auditor role"):
        outreach.due(people[Role.AUDITOR], date(2026, 11, 23))
    with database.engine.connect() as conn:
        assert conn.execute(select(OutreachCallRow.id)).first() is None

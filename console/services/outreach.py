"""Outreach calls: log each call to a business or resident, and list who to call next.

"Who to call next" looks at the latest call to each business (the same phone number, else the same name and
address): a call-back due by the given day, or a call nobody answered at least N days ago; soonest due first.
A registered outcome links the call to the owner it registered. The phone number is stored encrypted; audit
events name the call and its outcome, never the number or the notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from console.domain.audit import Action, AuditEntry
from console.domain.changes import ChangeKind
from console.domain.intake import CallOutcome, DueCall, normalise_address
from console.domain.users import User
from console.errors import UserError
from console.services.accounts import AuditedService, audited_transaction
from console.services.registry_edits import RegistryEditService
from console.store import intake as store
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.secrets import ContactCipher

DEFAULT_NO_ANSWER_DAYS = 3


@dataclass(frozen=True)
class CallLog:
    """One call as the staffer records it."""

    business: str
    address: str
    phone: str
    called_at: datetime
    outcome: CallOutcome
    call_back_on: date | datetime | None = None
    notes: str = ""
    owner_id: int | None = None

    def __repr__(self) -> str:  # keep the number out of logs
        return f"CallLog({self.business!r}, {self.outcome.value})"


class OutreachService(AuditedService):
    def __init__(self, database: Database, audit: AuditLog, cipher: ContactCipher | None = None,
                 workstation: str | None = None):
        super().__init__(database, audit, cipher, workstation)
        self._edits = RegistryEditService(database, audit, cipher, self.workstation)

    def log_call(self, user: User, call: CallLog) -> int:
        """Record a call; its id. A call-back needs its date; a registered outcome links to the owner
        (given, or found by the phone number)."""
        user = self._edits.check_allowed(user)
        business, address = call.business.strip(), call.address.strip()
        if not business:
            raise UserError("not saved: give the business (or resident's) name")
        if call.called_at.tzinfo is None:
            raise UserError("not saved: the call's time must carry a time zone")
        outcome = CallOutcome(call.outcome)
        call_back = _as_moment(call.call_back_on)
        if outcome is CallOutcome.CALL_BACK and call_back is None:
            raise UserError("not saved: a call-back needs the date to call back on")
        if outcome is not CallOutcome.CALL_BACK:
            call_back = None
        with audited_transaction(self.database) as conn:
            owner_id = call.owner_id
            if outcome is CallOutcome.REGISTERED:
                if owner_id is None:
                    owner_id = store.owner_by_phone(conn, self.cipher, call.phone)
                if owner_id is None or not store.owner_exists(conn, owner_id):
                    raise UserError("not saved: a 'registered' call links to the owner: register the cameras first "
                                    "(the phone number then finds the owner)")
            call_id = store.add_call(conn, self.cipher, business, address, call.phone.strip(), call.called_at,
                                     user.username, outcome.value, call_back, call.notes.strip(), owner_id)
            self.audit.append(AuditEntry(
                action=Action.REGISTRY_CHANGE, username=user.username, workstation=self.workstation,
                details={"change": "outreach_call", "outreach_call_id": call_id, "outcome": outcome.value,
                         "owner_id": owner_id}), conn=conn)
            record_change(conn, ChangeKind.OUTREACH, call_id, self.workstation)
        return call_id

    def due(self, user: User, by: date | datetime, no_answer_days: int = DEFAULT_NO_ANSWER_DAYS) -> list[DueCall]:
        """Who to call next: call-backs due by `by` (end of that day for a date), and no-answer calls at
        least `no_answer_days` before it; only each business's latest call counts; soonest due first."""
        self._edits.check_allowed(user)
        if no_answer_days < 0:
            raise UserError("the number of days after an unanswered call cannot be negative")
        until = _as_moment(by, end_of_day=True)
        with self.database.engine.connect() as conn:
            rows = store.all_calls(conn)
        latest: dict[tuple, object] = {}
        for row in rows:  # oldest first: later calls replace earlier ones
            latest[row.phone_digest or (row.business.strip().lower(), normalise_address(row.address))] = row
        due = []
        for row in latest.values():
            outcome = CallOutcome(row.outcome)
            if outcome is CallOutcome.CALL_BACK and row.call_back_on <= until:
                due_at = row.call_back_on
            elif outcome is CallOutcome.NO_ANSWER and row.called_at + timedelta(days=no_answer_days) <= until:
                due_at = row.called_at + timedelta(days=no_answer_days)
            else:
                continue
            due.append(DueCall(row.id, row.business, row.address, row.called_at, outcome, due_at, row.staff, row.notes))
        return sorted(due, key=lambda d: (d.due_at, d.call_id))

    def phone_of(self, user: User, call_id: int) -> str:
        """The number to dial for a listed call (outreach staff and administrators)."""
        self._edits.check_allowed(user)
        with self.database.engine.connect() as conn:
            return store.call_phone(conn, self.cipher, call_id)


def _as_moment(value: date | datetime | None, end_of_day: bool = False) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise UserError("times must carry a time zone")
        return value
    return datetime.combine(value, time.max if end_of_day else time(9, 0), tzinfo=timezone.utc)

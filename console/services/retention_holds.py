"""Legal holds: placed on an incident, a footage request or a camera by a supervisor or an administrator, with a
reason, audited; listed; released the same way. Nothing under an active hold is purged (console/store/retention.py
takes the held ids into every query)."""

from __future__ import annotations

from console.domain.audit import Action, AuditEntry
from console.domain.retention import Hold, HoldTarget, checked_reason, hold_refusal
from console.domain.users import User
from console.errors import UserError
from console.store import retention as store
from console.store.transactions import audited_transaction, transaction

MAX_ID = 2**63 - 1


class LegalHolds:
    """The hold half of RetentionService (console/services/retention.py): needs database, audit, workstation, clock."""

    def place_hold(self, user: User, target: HoldTarget, target_id: int, reason: str) -> Hold:
        self._may_hold(user)
        reason = checked_reason(reason)
        _check_id(target_id, target.value)
        now = self.clock()
        with audited_transaction(self.database) as conn:
            if not store.target_exists(conn, target, target_id):
                raise UserError(f"there is no {target.value.replace('_', ' ')} {target_id}: nothing was held")
            hold_id = store.add_hold(conn, target, target_id, reason, user.username, now)
            self.audit.append(AuditEntry(Action.LEGAL_HOLD, user.username, self.workstation,
                                         camera_id=target_id if target is HoldTarget.CAMERA else None,
                                         incident_id=target_id if target is HoldTarget.INCIDENT else None,
                                         details={"op": "hold", "hold": hold_id, "target": target.value,
                                                  "target_id": target_id, "reason": reason}), conn=conn)
            return store.get_hold(conn, hold_id)

    def holds(self, user: User, include_released: bool = False) -> list[Hold]:
        self._may_hold(user)
        with transaction(self.database) as conn:
            return store.list_holds(conn, include_released)

    def release_hold(self, user: User, hold_id: int, reason: str) -> Hold:
        self._may_hold(user)
        reason = checked_reason(reason, "release reason")
        _check_id(hold_id, "hold")
        now = self.clock()
        with audited_transaction(self.database) as conn:
            hold = store.get_hold(conn, hold_id)
            if hold is None:
                raise UserError(f"there is no legal hold {hold_id} (see `rtic-console retention holds`)")
            if not hold.active or not store.release_hold(conn, hold_id, user.username, now, reason):
                raise UserError(f"legal hold {hold_id} was already released: nothing was changed")
            self.audit.append(AuditEntry(Action.LEGAL_HOLD, user.username, self.workstation,
                                         camera_id=hold.target_id if hold.target is HoldTarget.CAMERA else None,
                                         incident_id=hold.target_id if hold.target is HoldTarget.INCIDENT else None,
                                         details={"op": "release", "hold": hold_id, "target": hold.target.value,
                                                  "target_id": hold.target_id, "reason": reason}), conn=conn)
            return store.get_hold(conn, hold_id)

    @staticmethod
    def _may_hold(user: User) -> None:
        why = hold_refusal(user.role)
        if why:
            raise UserError(why)


def _check_id(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise UserError(f"the {what} id must be a whole number from 1, not {value!r}")

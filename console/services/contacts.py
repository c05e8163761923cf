"""Owner contact: masked for everyone, revealed only to a role that allows it, with a reason, and audited first.

The reveal is recorded (Action.CONTACT_REVEAL, naming the owner's id, never the contact) before the contact
is decrypted and returned: if the event cannot be stored, nothing is revealed.
"""

from __future__ import annotations

from datetime import datetime

from console.domain.access import MIN_REASON_CHARS
from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.owners import OwnerContact
from console.domain.users import Permission, User
from console.errors import UserError
from console.services.accounts import AuditedService, audited_transaction
from console.store import registry as registry_repo
from console.store.users import get_user_by_id


class ContactDenied(UserError):
    """The contact stays masked; the message says why."""


class ContactService(AuditedService):

    def masked(self, owner_id: int) -> OwnerContact:
        """The contact as anyone may see it (initials, last two digits of the phone); not audited."""
        with self.database.engine.connect() as conn:
            owner = registry_repo.get_owner(conn, self.cipher, owner_id)
        if owner is None:
            raise UserError(f"there is no owner {owner_id} in the registry")
        return owner.contact.masked()

    def owner_of_camera(self, camera_id: int) -> int:
        with self.database.engine.connect() as conn:
            owner_id = registry_repo.camera_owner_id(conn, camera_id)
        if owner_id is None:
            raise UserError(f"there is no camera {camera_id} in the registry")
        return owner_id

    def reveal(self, user: User, owner_id: int, reason: str, now: datetime,
               camera_id: int | None = None, incident_id: int | None = None) -> OwnerContact:
        """The full contact, after the reveal is durably audited; ContactDenied (also audited) otherwise."""
        reason = (reason or "").strip()
        with self.database.engine.connect() as conn:  # the role and lock as stored now, not as at login
            user = (get_user_by_id(conn, user.id) if user.id is not None else None) or user
        refusal = None
        if not user.is_active:
            refusal = f"the account {user.username} is {user.state}"
        elif not user.may(Permission.CONTACT_REVEAL):
            refusal = f"the {user.role.value} role cannot see owner contact details"
        elif len(reason) < MIN_REASON_CHARS:
            refusal = f"give a reason to see the owner's contact (at least {MIN_REASON_CHARS} characters)"
        with audited_transaction(self.database) as conn:
            owner = registry_repo.get_owner(conn, self.cipher, owner_id)
            if owner is None:
                raise UserError(f"there is no owner {owner_id} in the registry")
            details = {"owner_id": owner_id, "reason": reason}
            if refusal:
                details["refused"] = refusal
            self.audit.append(AuditEntry(
                action=Action.CONTACT_REVEAL, username=user.username, workstation=self.workstation,
                outcome=Outcome.DENIED if refusal else Outcome.OK, camera_id=camera_id, incident_id=incident_id,
                details=details), conn=conn)
        if refusal:
            raise ContactDenied(f"contact not shown: {refusal}")
        return owner.contact

"""Phone intake: register an owner, a site and cameras from a call, with the owner's consent and duplicate checks.

Duplicates are looked for before anything is saved: a site at the same (normalised) address or within 15 m,
an owner with the same phone or e-mail (keyed digests, nothing decrypted for the search). When there are any,
`register` refuses with `DuplicatesFound` unless the caller chose to merge (`merge_owner_id`, and optionally
`merge_site_id`) or explicitly to create a new record anyway (`create_new=True`). The check is repeated inside
the saving transaction, so a registration made meanwhile on another console is not missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from console.domain.audit import Action, AuditEntry
from console.domain.cameras import (
    Camera,
    CameraInvalid,
    ConsentChannel,
    ConsentRecord,
    FieldOfView,
    Stream,
    check_camera,
    stream_protocol,
)
from console.domain.changes import ChangeKind
from console.domain.intake import Duplicates, IntakeForm, check_form
from console.domain.users import User
from console.errors import UserError
from console.services.accounts import AuditedService, audited_transaction
from console.services.registry_edits import RegistryEditService
from console.store import intake as store
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.secrets import ContactCipher


class DuplicatesFound(UserError):
    """The registration may already exist; nothing was saved. `duplicates` lists the candidates."""

    def __init__(self, duplicates: Duplicates):
        super().__init__(f"this may already be registered ({duplicates.summary()}): merge into one of these, "
                         "or choose 'create new anyway'")
        self.duplicates = duplicates


@dataclass(frozen=True)
class Registered:
    owner_id: int
    site_id: int
    camera_ids: tuple[int, ...]
    merged_owner: bool
    merged_site: bool


class IntakeService(AuditedService):
    def __init__(self, database: Database, audit: AuditLog, cipher: ContactCipher | None = None,
                 workstation: str | None = None):
        super().__init__(database, audit, cipher, workstation)
        self._edits = RegistryEditService(database, audit, cipher, self.workstation)

    def duplicates(self, form: IntakeForm) -> Duplicates:
        """Existing sites and owners this registration may duplicate (read only, not audited)."""
        with self.database.engine.connect() as conn:
            return self._duplicates(conn, form)

    def _duplicates(self, conn, form: IntakeForm) -> Duplicates:
        return Duplicates(tuple(store.site_candidates(conn, form.address, form.lat, form.lon)),
                          tuple(store.owner_candidates(conn, self.cipher, form.contact.phone, form.contact.email)))

    def register(self, user: User, form: IntakeForm, *, merge_owner_id: int | None = None,
                 merge_site_id: int | None = None, create_new: bool = False,
                 now: datetime | None = None) -> Registered:
        """Save the registration in one audited transaction (one OWNER change); see the module docstring."""
        user = self._edits.check_allowed(user)
        try:
            check_form(form)
        except ValueError as exc:
            raise UserError(f"not saved: {exc}") from None
        if create_new and (merge_owner_id or merge_site_id):
            raise UserError("choose either to merge into an existing record or to create a new one, not both")
        now = now or datetime.now(timezone.utc)
        consent = ConsentRecord(now, ConsentChannel.PHONE, user.username, form.consent_wording)
        with audited_transaction(self.database) as conn:
            found = self._duplicates(conn, form)
            if found and not create_new and merge_owner_id is None and merge_site_id is None:
                raise DuplicatesFound(found)
            owner_id, site_id = self._targets(conn, merge_owner_id, merge_site_id)
            merged_owner, merged_site = owner_id is not None, site_id is not None
            if owner_id is None:
                owner_id = repo.add_owner(conn, self.cipher, form.owner_kind, form.contact)
                store.add_history(conn, now, user.username, "owner", owner_id,
                                  [("created", None, "phone intake"), ("contact", None, "changed")])
            if site_id is None:
                site_name = form.site_name.strip() or form.contact.organisation.strip() or form.address.strip()
                site_id = repo.add_site(conn, owner_id, site_name, form.address.strip(), form.lat, form.lon)
                store.add_history(conn, now, user.username, "site", site_id, [("created", None, site_name)])
            camera_ids = tuple(self._add_camera(conn, camera, owner_id, site_id, form.address, consent, user, now)
                               for camera in form.cameras)
            self.audit.append(AuditEntry(
                action=Action.REGISTRY_CHANGE, username=user.username, workstation=self.workstation,
                details={"change": "phone_intake", "owner_id": owner_id, "site_id": site_id,
                         "camera_ids": list(camera_ids), "merged_owner": merged_owner, "merged_site": merged_site,
                         "duplicates_overridden": bool(found) and create_new, "consent_channel": "phone"}), conn=conn)
            record_change(conn, ChangeKind.OWNER, owner_id, self.workstation)
        return Registered(owner_id, site_id, camera_ids, merged_owner, merged_site)

    def _targets(self, conn, merge_owner_id: int | None, merge_site_id: int | None) -> tuple[int | None, int | None]:
        if merge_site_id is not None:
            site_owner = store.site_owner(conn, merge_site_id)
            if site_owner is None:
                raise UserError(f"there is no site {merge_site_id} to merge into")
            if merge_owner_id is not None and merge_owner_id != site_owner:
                raise UserError(f"site {merge_site_id} belongs to owner {site_owner}, not {merge_owner_id}")
            merge_owner_id = site_owner
        if merge_owner_id is not None and not store.owner_exists(conn, merge_owner_id):
            raise UserError(f"there is no owner {merge_owner_id} to merge into (or the owner was erased)")
        return merge_owner_id, merge_site_id

    def _add_camera(self, conn, camera, owner_id, site_id, address, consent, user, now) -> int:
        fov = None
        if camera.bearing_deg is not None:
            fov = FieldOfView(camera.bearing_deg, camera.fov_deg or 90.0, camera.range_m or 30.0)
        url = camera.stream_url.strip()
        streams = (Stream(stream_protocol(url), url),) if url else ()
        new = Camera(id=None, site_id=site_id, label=camera.label.strip(), lat=camera.lat, lon=camera.lon,
                     address=address, capability=camera.capability, sharing_mode=camera.sharing_mode,
                     field_of_view=fov, consent=consent, streams=streams)
        try:
            check_camera(new)  # check_form said so already; the rule is the domain's, so it is asked here too
        except CameraInvalid as exc:
            raise UserError(f"not saved: camera {camera.label.strip()!r}: {exc}") from None
        camera_id = repo.add_camera(conn, self.cipher, new, owner_id)
        store.set_placement(conn, camera_id, camera.placement.value)
        store.add_history(conn, now, user.username, "camera", camera_id,
                          [("created", None, camera.label.strip()), ("sharing_mode", None, camera.sharing_mode)])
        return camera_id

"""What the console shows around an incident: cameras in and near the radius with their sharing state, and one
camera's detail. Qt-free and blocking: the GUI runs it on a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from console.domain.audit import Action, AuditEntry
from console.domain.cameras import Camera, NearbyCamera
from console.domain.grants import ShareGrant
from console.domain.owners import OwnerContact
from console.domain.access import consent_now
from console.domain.sharing import SharingState, sharing_state
from console.errors import UserError, first_line
from console.services.offline_age import DEFAULT_FIELD_COPY_MAX_AGE, too_old
from console.services.registry import MAX_RADIUS_M, RegistryService, check_search
from console.store import registry as repo
from console.store.audit import AuditLog, connection_lost
from console.store.secrets import ContactCipher
from console.store.transactions import StoreError

# Cameras around the radius are shown (clustered) for context, out to this multiple of the radius.
CONTEXT_FACTOR = 4.0
CONTEXT_MIN_M = 1_500.0
DATA_AS_OF = "data_as_of"  # search details key: the answer came from the field copy made then


@dataclass(frozen=True)
class ShownCamera:
    camera: NearbyCamera
    state: SharingState
    inside: bool  # within the search radius: listed and highlighted
    owner_masked: str


@dataclass(frozen=True)
class NearbyAnswer:
    lat: float
    lon: float
    radius_m: float
    cameras: list[ShownCamera]  # within the radius, nearest first
    data_as_of: datetime | None = None  # set when the database was away: the answer is the field copy made then

    @property
    def inside(self) -> list[ShownCamera]:
        return [c for c in self.cameras if c.inside]

    def nearest_live(self, n: int) -> list[int]:
        return [c.camera.id for c in self.inside if c.state is SharingState.LIVE_NOW][:n]


@dataclass(frozen=True)
class CameraDetail:
    camera: Camera
    state: SharingState
    grant: ShareGrant | None
    owner_masked: str


class IncidentView:
    def __init__(self, registry: RegistryService, cipher: ContactCipher | None):
        self.registry = registry
        self.cipher = cipher
        self._searches: tuple[AuditLog, str, str] | None = None
        # Set when `registry` is itself a field copy (a console started in field mode): answers carry when it was made.
        self.data_as_of: datetime | None = None
        # A field copy older than this answers no search (setting field_copy_max_age_days).
        self.field_copy_max_age = DEFAULT_FIELD_COPY_MAX_AGE

    def record_searches(self, audit: AuditLog, username: str, workstation: str) -> None:
        """From now on every search is an audit event of this user (set when someone signs in)."""
        self._searches = (audit, username, workstation)

    def nearby(self, lat: float, lon: float, radius_m: float, now: datetime | None = None) -> NearbyAnswer:
        """Cameras within the radius, nearest first, with their sharing state and masked owner. While the database
        is away the field copy answers (`data_as_of` says when it was made); with no copy the search fails clearly."""
        check_search(lat, lon, radius_m)
        now = now or datetime.now(timezone.utc)

        def search(registry: RegistryService) -> tuple[list[NearbyCamera], list[ShownCamera]]:
            found = registry.nearby(lat, lon, radius_m)
            return found, self._shown(registry, found, radius_m, now, with_owners=True)

        (found, shown), data_as_of = self._answered(search, now)
        answer = NearbyAnswer(lat, lon, radius_m, shown, data_as_of)
        if self._searches is not None:  # recorded before the answer is shown (AuditUnavailable otherwise)
            audit, username, workstation = self._searches
            live_now = sum(1 for c in answer.cameras if c.state is SharingState.LIVE_NOW)
            details = {"lat": round(lat, 6), "lon": round(lon, 6), "radius_m": radius_m, "found": len(found),
                       "live_now": live_now}
            if data_as_of is not None:
                details[DATA_AS_OF] = data_as_of.isoformat()
            audit.append(AuditEntry(Action.SEARCH_NEAR, username, workstation, details=details))
        return answer

    def context(self, lat: float, lon: float, radius_m: float, now: datetime | None = None) -> list[ShownCamera]:
        """Cameras beyond the radius but near enough to matter on the map (clustered there), nearest first."""
        check_search(lat, lon, radius_m)
        now = now or datetime.now(timezone.utc)
        reach = min(max(radius_m * CONTEXT_FACTOR, CONTEXT_MIN_M), MAX_RADIUS_M)

        def search(registry: RegistryService) -> list[ShownCamera]:
            found = [c for c in registry.nearby(lat, lon, max(reach, radius_m)) if c.distance_m > radius_m]
            return self._shown(registry, found, radius_m, now, with_owners=False)

        return self._answered(search, now)[0]

    def _answered(self, search, now: datetime):
        """(search(the database's registry), None), or, when the database is away and a field copy is there,
        (search(the copy), when the copy was made). No copy, or a copy past its age limit: a UserError saying so."""
        try:
            if self.data_as_of is not None:
                self._fresh_enough(self.data_as_of, now)
            return search(self.registry), self.data_as_of
        except StoreError as exc:
            if not connection_lost(exc):
                raise
            offline = self.registry.from_field_copy()
            if offline is None:
                raise UserError(f"the registry database cannot be reached ({first_line(exc)}) and this computer "
                                "has no field copy: the search works again when the database is back") from None
            registry, made_at = offline
            self._fresh_enough(made_at, now)
            return search(registry), made_at

    def _fresh_enough(self, made_at: datetime, now: datetime) -> None:
        stale = too_old(made_at, now, self.field_copy_max_age, field_copy=True)
        if stale:
            raise UserError(f"the search is not answered: the database cannot be reached and {stale}")

    def _shown(self, registry: RegistryService, found: list[NearbyCamera], radius_m: float, now: datetime,
               with_owners: bool) -> list[ShownCamera]:
        grants = registry.grants([c.id for c in found if c.is_live_capable], now)
        owners = self._masked_owners(registry, {c.owner_id for c in found}) if with_owners else {}
        return shown_cameras(found, grants, owners, radius_m, now)

    def detail(self, camera_id: int, now: datetime | None = None) -> CameraDetail:
        """The camera, its sharing state now, the alert in force and the masked owner (from the field copy while
        the database is away, like the search)."""
        now = now or datetime.now(timezone.utc)

        def read(registry: RegistryService) -> CameraDetail:
            camera = registry.camera(camera_id)
            grants = registry.grants([camera_id], now)
            state = sharing_state(camera, grants, now)
            with registry.database.engine.connect() as conn:
                owner_id = repo.camera_owner_id(conn, camera_id)
            owners = self._masked_owners(registry, {owner_id} if owner_id is not None else set())
            return CameraDetail(camera, state, consent_now(camera, grants, now).grant, owners.get(owner_id, ""))

        return self._answered(read, now)[0]

    def masked_owners(self, owner_ids: set[int]) -> dict[int, str]:
        """Owner names masked ('M**** L****', or the business name): what the list may show before a reveal."""
        return self._masked_owners(self.registry, owner_ids)

    def _masked_owners(self, registry: RegistryService, owner_ids: set[int]) -> dict[int, str]:
        if self.cipher is None or not owner_ids:
            return {}
        masked = {}
        with registry.database.engine.connect() as conn:
            for owner_id in owner_ids:
                owner = repo.get_owner(conn, self.cipher, owner_id)
                if owner is not None:
                    masked[owner_id] = _masked_name(owner.contact)
        return masked


def shown_cameras(found: list[NearbyCamera], grants: list[ShareGrant], owners: dict[int, str], radius_m: float,
                  now: datetime) -> list[ShownCamera]:
    """The search's cameras with the state shown for each: `sharing_state`, i.e. may_view's consent rule."""
    return [ShownCamera(c, sharing_state(c, grants, now), c.distance_m <= radius_m, owners.get(c.owner_id, ""))
            for c in found]


def _masked_name(contact: OwnerContact) -> str:
    shown = contact.masked()
    return shown.organisation or shown.name

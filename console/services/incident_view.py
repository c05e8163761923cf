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
from console.domain.sharing import SharingState, current_grant, sharing_state
from console.services.registry import MAX_RADIUS_M, RegistryService, check_search
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.secrets import ContactCipher

# Cameras around the radius are shown (clustered) for context, out to this multiple of the radius.
CONTEXT_FACTOR = 4.0
CONTEXT_MIN_M = 1_500.0


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

    def record_searches(self, audit: AuditLog, username: str, workstation: str) -> None:
        """From now on every search is an audit event of this user (set when someone signs in)."""
        self._searches = (audit, username, workstation)

    def nearby(self, lat: float, lon: float, radius_m: float, now: datetime | None = None) -> NearbyAnswer:
        """Cameras within the radius, nearest first, with their sharing state and masked owner."""
        check_search(lat, lon, radius_m)
        now = now or datetime.now(timezone.utc)
        found = self.registry.nearby(lat, lon, radius_m)
        answer = NearbyAnswer(lat, lon, radius_m, self._shown(found, radius_m, now, with_owners=True))
        if self._searches is not None:  # recorded before the answer is shown (AuditUnavailable otherwise)
            audit, username, workstation = self._searches
            live_now = sum(1 for c in answer.cameras if c.state is SharingState.LIVE_NOW)
            audit.append(AuditEntry(Action.SEARCH_NEAR, username, workstation, details={
                "lat": round(lat, 6), "lon": round(lon, 6), "radius_m": radius_m, "found": len(found),
                "live_now": live_now}))
        return answer

    def context(self, lat: float, lon: float, radius_m: float, now: datetime | None = None) -> list[ShownCamera]:
        """Cameras beyond the radius but near enough to matter on the map (clustered there), nearest first."""
        check_search(lat, lon, radius_m)
        now = now or datetime.now(timezone.utc)
        reach = min(max(radius_m * CONTEXT_FACTOR, CONTEXT_MIN_M), MAX_RADIUS_M)
        found = [c for c in self.registry.nearby(lat, lon, max(reach, radius_m)) if c.distance_m > radius_m]
        return self._shown(found, radius_m, now, with_owners=False)

    def _shown(self, found: list[NearbyCamera], radius_m: float, now: datetime,
               with_owners: bool) -> list[ShownCamera]:
        grants = self.registry.grants([c.id for c in found if c.is_live_capable], now)
        owners = self.masked_owners({c.owner_id for c in found}) if with_owners else {}
        return [
            ShownCamera(c, sharing_state(c.capability, c.status, c.sharing_mode, c.id, c.site_id, grants, now),
                        c.distance_m <= radius_m, owners.get(c.owner_id, ""))
            for c in found
        ]

    def detail(self, camera_id: int, now: datetime | None = None) -> CameraDetail:
        now = now or datetime.now(timezone.utc)
        camera = self.registry.camera(camera_id)
        grants = self.registry.grants([camera_id], now)
        state = sharing_state(camera.capability, camera.status, camera.sharing_mode, camera_id, camera.site_id,
                              grants, now)
        with self.registry.database.engine.connect() as conn:
            owner_id = repo.camera_owner_id(conn, camera_id)
        owner = self.masked_owners({owner_id} if owner_id is not None else set()).get(owner_id, "")
        return CameraDetail(camera, state, current_grant(camera_id, camera.site_id, grants, now), owner)

    def masked_owners(self, owner_ids: set[int]) -> dict[int, str]:
        """Owner names masked ('M**** L****', or the business name): what the list may show before a reveal."""
        if self.cipher is None or not owner_ids:
            return {}
        masked = {}
        with self.registry.database.engine.connect() as conn:
            for owner_id in owner_ids:
                owner = repo.get_owner(conn, self.cipher, owner_id)
                if owner is not None:
                    masked[owner_id] = _masked_name(owner.contact)
        return masked


def _masked_name(contact: OwnerContact) -> str:
    shown = contact.masked()
    return shown.organisation or shown.name

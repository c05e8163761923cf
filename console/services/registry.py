"""Registry use cases the console, the CLI and tests share: cameras near a point, camera detail, incidents.

Qt-free and synchronous: the GUI calls these from a worker thread, never from the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.domain.cameras import Camera, NearbyCamera
from console.domain.geo import validate_point
from console.domain.grants import ShareGrant
from console.domain.incidents import Incident
from console.errors import UserError
from console.store import registry as repo
from console.store.db import Database
from console.store.spatial import NearbyFilter, nearby_cameras

MAX_RADIUS_M = 100_000.0


@dataclass(frozen=True)
class AlertNotice:
    grant_id: int
    where: str  # the camera's label, or the site's name for a whole-site alert
    camera_id: int | None
    expires_at: datetime
    in_force: bool
    source: str
    site_name: str = ""
    address: str = ""
    lat: float | None = None  # the camera's point, or the site's for a whole-site alert
    lon: float | None = None


class RegistryService:
    def __init__(self, database: Database, field_copy=None):
        self.database = database
        # A FieldRegistry (console/services/field_copy.py) that answers searches while the database is away;
        # replaced whole when a fresh copy is made (readers take it once per search).
        self.field_copy = field_copy

    def from_field_copy(self) -> tuple["RegistryService", datetime] | None:
        """The same service on the field copy, and when the copy was made; None when this console has none."""
        field = self.field_copy
        if field is None:
            return None
        return RegistryService(field.database), field.made_at

    def nearby(self, lat: float, lon: float, radius_m: float, where: NearbyFilter = NearbyFilter(),
               limit: int | None = None) -> list[NearbyCamera]:
        """Cameras within `radius_m` of the point, nearest first. Raises UserError on impossible input."""
        check_search(lat, lon, radius_m)
        with self.database.search_reader.connect() as conn:
            return nearby_cameras(conn, lat, lon, radius_m, where, limit)

    def camera(self, camera_id: int) -> Camera:
        with self.database.search_reader.connect() as conn:
            camera = repo.get_camera(conn, camera_id)
        if camera is None:
            raise UserError(f"there is no camera {camera_id} in the registry")
        return camera

    def grants(self, camera_ids: list[int], now: datetime) -> list[ShareGrant]:
        with self.database.reader.connect() as conn:
            return repo.grants_for_cameras(conn, camera_ids, now)

    def alert_notices(self, grant_ids: list[int], now: datetime) -> list[AlertNotice]:
        """What to tell a dispatcher about these owner alerts (grants): which camera or site, until when."""
        if not grant_ids:
            return []
        with self.database.reader.connect() as conn:
            places = repo.grant_places(conn, grant_ids)
        return [AlertNotice(p.grant_id, p.camera_label or p.site_name or "a site", p.camera_id, p.expires_at,
                            (p.revoked_at is None or p.revoked_at > now) and p.expires_at > now, p.source,
                            p.site_name or "", p.address or "", p.lat, p.lon)
                for p in places]

    def open_incidents(self) -> list[Incident]:
        with self.database.search_reader.connect() as conn:
            return repo.open_incidents(conn)

    def incident(self, incident_id: int) -> Incident:
        with self.database.search_reader.connect() as conn:
            incident = repo.get_incident(conn, incident_id)
        if incident is None:
            raise UserError(f"there is no incident {incident_id}")
        return incident


def check_search(lat: float, lon: float, radius_m: float) -> None:
    try:
        validate_point(lat, lon)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not radius_m == radius_m or radius_m < 0:  # NaN or negative
        raise UserError(f"radius {radius_m} m is not valid: give a distance of 0 m or more")
    if radius_m > MAX_RADIUS_M:
        raise UserError(f"radius {radius_m:g} m is too large: at most {MAX_RADIUS_M:g} m")

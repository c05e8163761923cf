"""Index-backed nearby search, exact to the metre, on SQLite and PostgreSQL.

Two steps on both backends: the index returns the cameras inside the box(es) that bound the search circle
(console.domain.geo.bounding_boxes, split at the antimeridian, widened to every longitude near a pole),
then the exact great-circle distance keeps those inside the circle, nearest first (ties by id).

- SQLite: the R*Tree module built into SQLite (`camera_rtree`, kept in step by triggers; see migration
  0001). R*Tree stores float32 bounds rounded outwards, so the box query can only return extra candidates,
  never miss one.
- PostgreSQL: a GiST index on the built-in `point(lon, lat)` expression, queried with `<@ box(...)`. No
  extension is needed, so the console runs on any PostgreSQL an agency has, with least privileges.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, and_, exists, select, text, type_coerce
from sqlalchemy.engine import Connection

from console.domain.cameras import (
    CameraStatus,
    Capability,
    FieldOfView,
    NearbyCamera,
    SharingMode,
)
from console.domain.geo import EARTH_RADIUS_M, bounding_boxes
from console.store.models import CameraRow, SiteRow, StreamRow

# The R*Tree is a virtual table that Alembic must not manage; it lives in its own metadata.
camera_rtree = Table(
    "camera_rtree",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("min_lat", Float),
    Column("max_lat", Float),
    Column("min_lon", Float),
    Column("max_lon", Float),
)

_cameras = CameraRow.__table__
_sites = SiteRow.__table__
_streams = StreamRow.__table__

_COLUMNS = (
    _cameras.c.id,
    _cameras.c.site_id,
    _cameras.c.owner_id,
    _cameras.c.label,
    _cameras.c.lat,
    _cameras.c.lon,
    _sites.c.address,
    _cameras.c.capability,
    _cameras.c.sharing_mode,
    _cameras.c.status,
    _cameras.c.fov_bearing_deg,
    _cameras.c.fov_angle_deg,
    _cameras.c.fov_range_m,
    # Read raw and converted only for the cameras inside the circle (see _as_utc): parsing every candidate's
    # timestamp cost a third of the query.
    type_coerce(_cameras.c.consent_at, String).label("consent_at"),
    # What may_view needs of the streams (see consent_now): looked up through the streams' camera_id index, and only
    # for live-capable cameras (a registered-only camera has none).
    and_(_cameras.c.capability == Capability.LIVE.value,
         exists().where(_streams.c.camera_id == _cameras.c.id)).label("has_stream"),
)


# The R*Tree's insert trigger, exactly as migration 0001 creates it (tests/store/test_store.py checks they agree).
_RTREE_INSERT_TRIGGER = (
    "CREATE TRIGGER cameras_rtree_insert AFTER INSERT ON cameras BEGIN "
    "INSERT INTO camera_rtree VALUES (new.id, new.lat, new.lat, new.lon, new.lon); END"
)


_PG_INDEX = "CREATE INDEX ix_cameras_point ON cameras USING gist (point(lon, lat))"  # as migration 0001


@contextmanager
def bulk_loading(conn: Connection, rebuild_index: bool = False):
    """Around a bulk load of cameras: index the new cameras in one pass at the end instead of row by row.

    SQLite: the R*Tree insert trigger is dropped for the load and the new cameras indexed at once (row-by-row R*Tree
    inserts cost twice the load itself at a million cameras). PostgreSQL, with `rebuild_index` (an empty registry
    only: it locks the table for the load): the GiST index is built once after the COPY, with its sorted build.
    Runs inside the caller's transaction, so a failed load leaves trigger and index as they were.
    """
    if conn.dialect.name == "postgresql":
        if rebuild_index:
            conn.execute(text("DROP INDEX ix_cameras_point"))
        yield
        if rebuild_index:
            conn.execute(text(_PG_INDEX))
        return
    first_new = conn.execute(text("SELECT COALESCE(MAX(id), 0) + 1 FROM cameras")).scalar_one()
    conn.execute(text("DROP TRIGGER cameras_rtree_insert"))
    yield
    conn.execute(text(
        "INSERT INTO camera_rtree SELECT id, lat, lat, lon, lon FROM cameras WHERE id >= :first ORDER BY id"
    ), {"first": first_new})
    conn.execute(text(_RTREE_INSERT_TRIGGER))


@dataclass(frozen=True)
class NearbyFilter:
    """What the nearby list may be narrowed to. The default shows every active camera."""

    live_only: bool = False
    sharing_modes: frozenset[SharingMode] | None = None
    statuses: frozenset[CameraStatus] = frozenset({CameraStatus.ACTIVE})


def nearby_cameras(
    conn: Connection,
    lat: float,
    lon: float,
    radius_m: float,
    where: NearbyFilter = NearbyFilter(),
    limit: int | None = None,
) -> list[NearbyCamera]:
    """Cameras within `radius_m` metres of (lat, lon), nearest first."""
    boxes = bounding_boxes(lat, lon, radius_m)
    params = {}
    for i, box in enumerate(boxes):
        params.update({f"w{i}": box.min_lon, f"s{i}": box.min_lat, f"e{i}": box.max_lon, f"n{i}": box.max_lat})
    # Straight to the driver, past SQLAlchemy's statement and row handling: a search must answer in a few ms.
    # PostgreSQL: rows in binary (no parsing of numbers and times) from a statement prepared once per connection.
    dbapi = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        with dbapi.cursor(binary=True) as cursor:
            cursor.execute(_pg_query(len(boxes), where), params, prepare=True)
            rows = cursor.fetchall()
    else:
        cursor = dbapi.cursor()
        try:
            rows = cursor.execute(_sqlite_query(len(boxes), where), params).fetchall()
        finally:
            cursor.close()
    return _nearest(rows, lat, lon, radius_m, limit)


def scan_cameras(
    conn: Connection, lat: float, lon: float, radius_m: float, where: NearbyFilter = NearbyFilter()
) -> list[NearbyCamera]:
    """The same answer as `nearby_cameras` by reading every camera: the baseline the index is measured against."""
    query = _filtered(
        select(*_COLUMNS).select_from(_cameras.join(_sites, _sites.c.id == _cameras.c.site_id)), where
    )
    return _nearest(conn.execute(query).fetchall(), lat, lon, radius_m, None)


# The names of the selected columns, as _COLUMNS lists them, for the hand-written queries below.
_SELECT = (
    "cameras.id, cameras.site_id, cameras.owner_id, cameras.label, cameras.lat, cameras.lon, sites.address, "
    "cameras.capability, cameras.sharing_mode, cameras.status, cameras.fov_bearing_deg, cameras.fov_angle_deg, "
    "cameras.fov_range_m, cameras.consent_at, "
    f"(cameras.capability = '{Capability.LIVE.value}' "
    "AND EXISTS (SELECT 1 FROM streams WHERE streams.camera_id = cameras.id)) AS has_stream"
)


def _filter_sql(where: NearbyFilter) -> str:
    """The filter as SQL text. Values come from the enums only (never from a user), so they are inlined."""
    clauses = []
    if where.statuses:
        clauses.append(f"cameras.status IN ({_sql_list(s.value for s in where.statuses)})")
    if where.live_only:
        clauses.append(f"cameras.capability = '{Capability.LIVE.value}'")
    if where.sharing_modes is not None:
        clauses.append(f"cameras.sharing_mode IN ({_sql_list(m.value for m in where.sharing_modes)})"
                       if where.sharing_modes else "1 = 0")
    return "".join(f" AND {clause}" for clause in clauses)


def _sql_list(values) -> str:
    values = sorted(values)
    assert all(value.isidentifier() for value in values)  # enum values: plain words, nothing to quote
    return ", ".join(f"'{value}'" for value in values)


@lru_cache(maxsize=64)
def _sqlite_query(boxes: int, where: NearbyFilter) -> str:
    inside = " OR ".join(
        f"(camera_rtree.min_lat <= :n{i} AND camera_rtree.max_lat >= :s{i} "
        f"AND camera_rtree.min_lon <= :e{i} AND camera_rtree.max_lon >= :w{i})"
        for i in range(boxes)
    )
    return (f"SELECT {_SELECT} FROM camera_rtree JOIN cameras ON cameras.id = camera_rtree.id "
            f"JOIN sites ON sites.id = cameras.site_id WHERE ({inside}){_filter_sql(where)}")


@lru_cache(maxsize=64)
def _pg_query(boxes: int, where: NearbyFilter) -> str:
    inside = " OR ".join(
        f"point(cameras.lon, cameras.lat) <@ box(point(%(w{i})s, %(s{i})s), point(%(e{i})s, %(n{i})s))"
        for i in range(boxes)
    )
    return (f"SELECT {_SELECT} FROM cameras JOIN sites ON sites.id = cameras.site_id "
            f"WHERE ({inside}){_filter_sql(where)}")


# math.radians and math.degrees multiply by exactly these, so the inlined arithmetic below gives the same bits
# as console.domain.geo.haversine_m and initial_bearing_deg (the brute-force tests compare them).
_TO_RAD = math.pi / 180.0
_TO_DEG = 180.0 / math.pi


def _nearest(rows, lat: float, lon: float, radius_m: float, limit: int | None) -> list[NearbyCamera]:
    """The exact distance test, the order and the result objects, inlined: this runs for every camera found
    and is most of a search's time (geo.haversine_m and geo.initial_bearing_deg, operation for operation)."""
    sin, cos, asin, sqrt, atan2 = math.sin, math.cos, math.asin, math.sqrt, math.atan2
    to_rad = _TO_RAD
    p1 = lat * to_rad
    cos_p1, sin_p1 = cos(p1), sin(p1)
    diameter = 2 * EARTH_RADIUS_M
    found = []
    for row in rows:  # the exact test on plain tuples first: a box holds ~27 % more than its circle
        p2 = row[4] * to_rad
        h = sin((p2 - p1) / 2) ** 2 + cos_p1 * cos(p2) * sin((row[5] - lon) * to_rad / 2) ** 2
        distance = diameter * asin(min(1.0, sqrt(h)))
        if distance <= radius_m:
            found.append((distance, row[0], row))
    found.sort()  # by distance, then id (ids are unique, so rows are never compared)
    if limit is not None:
        found = found[:limit]
    capabilities, sharing_modes, statuses, to_deg = _CAPABILITY, _SHARING, _STATUS, _TO_DEG
    cameras = []
    for distance, _, row in found:
        (camera_id, site_id, owner_id, label, cam_lat, cam_lon, address, capability, sharing, status,
         fov_bearing, fov_angle, fov_range, consent_at, has_stream) = row
        if distance > 0:
            p2 = cam_lat * to_rad
            dl = (cam_lon - lon) * to_rad
            cos_p2 = cos(p2)
            bearing = (atan2(sin(dl) * cos_p2, cos_p1 * sin(p2) - sin_p1 * cos_p2 * cos(dl)) * to_deg) % 360.0
        else:
            bearing = 0.0
        cameras.append(NearbyCamera(
            camera_id, site_id, owner_id, label, cam_lat, cam_lon, address, capabilities[capability],
            sharing_modes[sharing], statuses[status],
            None if fov_bearing is None or fov_angle is None or fov_range is None
            else FieldOfView(fov_bearing, fov_angle, fov_range),
            None if consent_at is None else _as_utc(consent_at), distance, bearing, bool(has_stream),
        ))
    return cameras


def _filtered(query, where: NearbyFilter):
    if where.statuses:
        query = query.where(_cameras.c.status.in_(sorted(s.value for s in where.statuses)))
    if where.live_only:
        query = query.where(_cameras.c.capability == Capability.LIVE.value)
    if where.sharing_modes is not None:
        query = query.where(_cameras.c.sharing_mode.in_(sorted(m.value for m in where.sharing_modes)))
    return query


_CAPABILITY = {c.value: c for c in Capability}
_SHARING = {m.value: m for m in SharingMode}
_STATUS = {s.value: s for s in CameraStatus}


def _as_utc(value) -> datetime | None:
    """consent_at as the models give it: SQLite hands back its stored text, PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)

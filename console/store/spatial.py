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

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, and_, bindparam, or_, select, text, type_coerce
from sqlalchemy.engine import Connection

from console.domain.cameras import (
    CameraStatus,
    Capability,
    FieldOfView,
    NearbyCamera,
    SharingMode,
)
from console.domain.geo import bounding_boxes, distance_from, initial_bearing_deg
from console.store.models import CameraRow, SiteRow

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
    rows = conn.execute(_box_query(conn.dialect.name, len(boxes), where), params).fetchall()
    return _nearest(rows, lat, lon, radius_m, limit)


def scan_cameras(
    conn: Connection, lat: float, lon: float, radius_m: float, where: NearbyFilter = NearbyFilter()
) -> list[NearbyCamera]:
    """The same answer as `nearby_cameras` by reading every camera: the baseline the index is measured against."""
    query = _filtered(
        select(*_COLUMNS).select_from(_cameras.join(_sites, _sites.c.id == _cameras.c.site_id)), where
    )
    return _nearest(conn.execute(query).fetchall(), lat, lon, radius_m, None)


@lru_cache(maxsize=64)
def _box_query(dialect: str, boxes: int, where: NearbyFilter):
    """The candidate query for one or two boxes, built once per shape and reused (bounds are parameters)."""
    query = select(*_COLUMNS).select_from(_cameras.join(_sites, _sites.c.id == _cameras.c.site_id))
    if dialect == "sqlite":
        query = query.join(camera_rtree, camera_rtree.c.id == _cameras.c.id).where(or_(*(
            and_(
                camera_rtree.c.min_lat <= bindparam(f"n{i}"),
                camera_rtree.c.max_lat >= bindparam(f"s{i}"),
                camera_rtree.c.min_lon <= bindparam(f"e{i}"),
                camera_rtree.c.max_lon >= bindparam(f"w{i}"),
            )
            for i in range(boxes)
        )))
    else:
        query = query.where(or_(*(
            text(f"point(cameras.lon, cameras.lat) <@ box(point(:w{i}, :s{i}), point(:e{i}, :n{i}))")
            for i in range(boxes)
        )))
    return _filtered(query, where)


def _nearest(rows, lat: float, lon: float, radius_m: float, limit: int | None) -> list[NearbyCamera]:
    found = []
    distance_to = distance_from(lat, lon)
    for row in rows:  # the exact test on plain tuples first: a box holds ~27 % more than its circle
        distance = distance_to(row[4], row[5])
        if distance <= radius_m:
            found.append((distance, row[0], row))
    found.sort(key=lambda item: (item[0], item[1]))
    if limit is not None:
        found = found[:limit]
    return [_nearby(row, distance, lat, lon) for distance, _, row in found]


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


def _nearby(row, distance: float, lat: float, lon: float) -> NearbyCamera:
    (camera_id, site_id, owner_id, label, cam_lat, cam_lon, address, capability, sharing, status, fov_bearing,
     fov_angle, fov_range, consent_at) = row
    fov = None
    if fov_bearing is not None and fov_angle is not None and fov_range is not None:
        fov = FieldOfView(fov_bearing, fov_angle, fov_range)
    return NearbyCamera(
        camera_id, site_id, owner_id, label, cam_lat, cam_lon, address, _CAPABILITY[capability], _SHARING[sharing],
        _STATUS[status], fov, _as_utc(consent_at), distance,
        initial_bearing_deg(lat, lon, cam_lat, cam_lon) if distance > 0 else 0.0,
    )


def _as_utc(value) -> datetime | None:
    """consent_at as the models give it: SQLite hands back its stored text, PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)

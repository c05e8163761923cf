"""The index-backed nearby search gives exactly what a brute-force haversine scan gives, on both backends."""

from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from console.domain.cameras import Camera, CameraStatus, Capability, SharingMode
from console.domain.geo import haversine_m
from console.domain.owners import OwnerContact, OwnerKind
from console.store import registry as repo
from console.store.secrets import ContactCipher
from console.store.spatial import NearbyFilter, nearby_cameras, scan_cameras
from tests.support.geometry import destination

CIPHER = ContactCipher(b"k" * 32)


def _reset(conn):
    for table in ("streams", "share_grants", "cameras", "sites", "owners"):
        conn.execute(text(f"DELETE FROM {table}"))


def _load(conn, points, modes=None, statuses=None, capabilities=None):
    """One owner and site; a camera at each point. Returns the ids in point order."""
    owner = repo.add_owner(conn, CIPHER, OwnerKind.RESIDENT, OwnerContact("Test Owner"))
    site = repo.add_site(conn, owner, "site", "1 Test St", points[0][0] if points else 0, points[0][1] if points else 0)
    ids = []
    for i, (lat, lon) in enumerate(points):
        mode = modes[i] if modes else SharingMode.NEVER
        status = statuses[i] if statuses else CameraStatus.ACTIVE
        capability = capabilities[i] if capabilities else Capability.LIVE
        ids.append(repo.add_camera(conn, CIPHER, Camera(None, site, f"cam {i}", lat, lon, "", capability, mode, status),
                                   owner))
    return ids


def _brute_force(points, ids, lat, lon, radius):
    hits = [(haversine_m(lat, lon, p[0], p[1]), i) for p, i in zip(points, ids)]
    return [i for d, i in sorted(h for h in hits if h[0] <= radius)]


@st.composite
def registries(draw):
    """A centre (often at the antimeridian or near a pole), a radius, and cameras scattered in and around it."""
    lat = draw(st.one_of(st.floats(-90, 90, allow_subnormal=False), st.floats(88.5, 90), st.floats(-90, -88.5), st.sampled_from([0.0, 42.1487])))
    lon = draw(st.one_of(st.floats(-180, 180, allow_subnormal=False), st.floats(179, 180), st.floats(-180, -179), st.just(-72.6079)))
    radius = draw(st.one_of(st.floats(1, 500), st.floats(500, 50_000), st.just(0.0)))
    near = draw(st.lists(st.tuples(st.floats(0, 360), st.floats(0, 2)), max_size=40))
    points = [destination(lat, lon, b, radius * f) for b, f in near]
    points += draw(st.lists(st.tuples(st.floats(-90, 90), st.floats(-180, 180)), max_size=10))
    # PostgreSQL refuses subnormal floats (e.g. 5e-324) as "underflow"; no real coordinate is one.
    points = [tuple(0.0 if abs(v) < 1e-300 else v for v in p) for p in points]
    return lat, lon, radius, points


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(registries())
def test_index_search_equals_brute_force(database, registry):
    lat, lon, radius, points = registry
    with database.engine.begin() as conn:
        _reset(conn)
        ids = _load(conn, points)
        found = nearby_cameras(conn, lat, lon, radius)
    assert [c.id for c in found] == _brute_force(points, ids, lat, lon, radius)
    assert all(a.distance_m <= b.distance_m for a, b in zip(found, found[1:]))


@pytest.mark.parametrize("lat,lon", [(0.0, 180.0), (0.0, -180.0), (89.9995, 0.0), (-89.9995, 120.0), (65.0, 179.999)])
def test_edge_of_the_world_cases(database, lat, lon):
    radius = 300.0
    points = [destination(lat, lon, b, d) for b in range(0, 360, 15) for d in (0.0, 100.0, 299.0, 301.0, 1000.0)]
    with database.engine.begin() as conn:
        ids = _load(conn, points)
        found = nearby_cameras(conn, lat, lon, radius)
    expected = _brute_force(points, ids, lat, lon, radius)
    assert [c.id for c in found] == expected
    assert len(expected) >= 24 * 3  # the centre, 100 m and 299 m rings are inside (allowing no rounding loss)


def test_filters_live_only_modes_and_status(database):
    points = [destination(42.1487, -72.6079, 90, d) for d in (10, 20, 30, 40, 50, 60)]
    modes = [SharingMode.ALWAYS, SharingMode.ON_ALERT, SharingMode.NEVER, SharingMode.ALWAYS, SharingMode.NEVER,
             SharingMode.ON_ALERT]
    statuses = [CameraStatus.ACTIVE] * 3 + [CameraStatus.INACTIVE, CameraStatus.ACTIVE, CameraStatus.REMOVED]
    live, registered = Capability.LIVE, Capability.REGISTERED
    capabilities = [live, live, registered, live, registered, live]
    with database.engine.begin() as conn:
        ids = _load(conn, points, modes, statuses, capabilities)
        everything = nearby_cameras(conn, 42.1487, -72.6079, 100)
        live_only = nearby_cameras(conn, 42.1487, -72.6079, 100, NearbyFilter(live_only=True))
        always = nearby_cameras(conn, 42.1487, -72.6079, 100, NearbyFilter(sharing_modes=frozenset({SharingMode.ALWAYS})))
        with_inactive = nearby_cameras(conn, 42.1487, -72.6079, 100, NearbyFilter(
            statuses=frozenset({CameraStatus.ACTIVE, CameraStatus.INACTIVE})))
        limited = nearby_cameras(conn, 42.1487, -72.6079, 100, limit=2)
        scanned = scan_cameras(conn, 42.1487, -72.6079, 100)
    assert [c.id for c in everything] == [ids[0], ids[1], ids[2], ids[4]]  # removed and inactive left out
    assert [c.id for c in live_only] == [ids[0], ids[1]]  # ids[2] and ids[4] are registered-only
    assert [c.id for c in always] == [ids[0]]
    assert [c.id for c in with_inactive] == [ids[0], ids[1], ids[2], ids[3], ids[4]]
    assert [c.id for c in limited] == [ids[0], ids[1]]
    assert scanned == everything
    assert everything[0].bearing_deg == pytest.approx(90, abs=0.01)
    assert everything[0].distance_m == pytest.approx(10, abs=0.01)


def test_moving_a_camera_moves_it_in_the_index(database):
    with database.engine.begin() as conn:
        (cid,) = _load(conn, [(42.1487, -72.6079)])
        assert [c.id for c in nearby_cameras(conn, 42.1487, -72.6079, 50)] == [cid]
        conn.execute(text("UPDATE cameras SET lat = 42.2, lon = -72.5 WHERE id = :id"), {"id": cid})
        assert nearby_cameras(conn, 42.1487, -72.6079, 50) == []
        assert [c.id for c in nearby_cameras(conn, 42.2, -72.5, 50)] == [cid]
        conn.execute(text("DELETE FROM cameras WHERE id = :id"), {"id": cid})
        assert nearby_cameras(conn, 42.2, -72.5, 50) == []


def test_the_index_is_used(database):
    """The query plan reads the spatial index, not the whole table."""
    with database.engine.begin() as conn:
        _load(conn, [(42.1487 + i * 1e-4, -72.6079) for i in range(50)])
        if database.dialect == "sqlite":
            plan = conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT c.id FROM camera_rtree r JOIN cameras c ON c.id = r.id "
                "WHERE r.min_lat <= 42.2 AND r.max_lat >= 42.1 AND r.min_lon <= -72.5 AND r.max_lon >= -72.7"
            )).fetchall()
            assert "VIRTUAL TABLE INDEX" in " ".join(str(row[-1]) for row in plan)
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # a 50-row table would be scanned anyway
            plan = conn.execute(text(
                "EXPLAIN SELECT id FROM cameras WHERE point(lon, lat) <@ box(point(-72.7, 42.1), point(-72.5, 42.2))"
            )).scalars().all()
            assert "ix_cameras_point" in " ".join(plan)

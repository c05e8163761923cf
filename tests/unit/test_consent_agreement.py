""""Shown openable" and "allowed to open" cannot disagree: the map's state, the Open button, "open nearest live" and
the alert count come from consent_now, the camera-and-consent part of may_view (hypothesis, issue 13)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.access import GRANT_RULES, Purpose, Rule, consent_now, may_view
from console.domain.cameras import Camera, CameraStatus, Capability, NearbyCamera, SharingMode, Stream, StreamProtocol
from console.domain.grants import GrantSource, ShareGrant
from console.domain.incidents import Incident
from console.domain.sharing import SharingState, sharing_state
from console.domain.users import Permission, Role, User
from console.services.incident_view import NearbyAnswer, shown_cameras

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
CAMERA_RULES = {Rule.CAMERA_REGISTERED_ONLY, Rule.CAMERA_NOT_ACTIVE, Rule.CAMERA_NO_STREAM, Rule.SHARING_NEVER,
                *GRANT_RULES}
REASON = "suspect fled north on foot"


def make_camera(camera_id: int, site_id: int, capability, mode, status, streams: int) -> Camera:
    return Camera(id=camera_id, site_id=site_id, label=f"Camera {camera_id}", lat=42.1, lon=-72.6, address="1 Main St",
                  capability=capability, sharing_mode=mode, status=status,
                  streams=tuple(Stream(StreamProtocol.RTSP, f"rtsp://gw/{camera_id}/{i}", id=i) for i in range(streams)))


def as_found(camera: Camera, distance_m: float) -> NearbyCamera:
    """The camera as the nearby search returns it (console/store/spatial.py): no streams, only whether it has one."""
    return NearbyCamera(camera.id, camera.site_id, 1, camera.label, camera.lat, camera.lon, camera.address,
                        camera.capability, camera.sharing_mode, camera.status, None, None, distance_m, 0.0,
                        camera.has_stream)


minutes = st.integers(-120, 120)
grants = st.lists(st.builds(
    lambda gid, target, start, length, revoked: ShareGrant(
        gid, target[0], target[1], NOW + start * MIN, NOW + (start + length) * MIN, GrantSource.APP,
        None if revoked is None else NOW + revoked * MIN),
    st.integers(1, 10**6),
    st.sampled_from([(1, None), (2, None), (None, 1), (None, 2), (3, None)]),  # a camera, or every camera of a site
    minutes, st.integers(1, 120), st.one_of(st.none(), minutes)), max_size=4)
cameras = st.builds(make_camera, st.just(1), st.sampled_from([1, 2]), st.sampled_from(list(Capability)),
                    st.sampled_from(list(SharingMode)), st.sampled_from(list(CameraStatus)), st.integers(0, 2))
users = st.builds(
    lambda role, state: User(1, "dana", "Dana", role, NOW - timedelta(days=9),
                             locked_at=NOW - MIN if state == "locked" else None,
                             disabled_at=NOW - MIN if state == "disabled" else None),
    st.sampled_from(list(Role)), st.sampled_from(["active", "locked", "disabled"]))
incidents = st.builds(
    lambda closed: Incident(5, "CAD-2026-0042", "burglary", 2, "1 Main St", 42.1, -72.6, NOW - timedelta(hours=2),
                            None if closed is None else NOW + closed * MIN),
    st.one_of(st.none(), minutes.filter(bool)))


def permitted(user: User) -> bool:
    return user.is_active and user.may(Permission.LIVE_VIEW)


def is_open(incident: Incident) -> bool:
    return incident.closed_at is None or incident.closed_at > NOW


@settings(max_examples=1500, deadline=None)
@given(cameras, grants, users, incidents, st.floats(0, 2000))
def test_the_shown_state_and_may_view_agree(camera, grants, user, incident, distance):
    state = sharing_state(camera, grants, NOW)
    found = as_found(camera, distance)
    assert sharing_state(found, grants, NOW) is state  # the search's rows carry what the rule needs
    assert consent_now(found, grants, NOW) == consent_now(camera, grants, NOW)
    decision = may_view(camera, grants, user, Purpose(REASON, incident=incident), NOW)
    if state is SharingState.LIVE_NOW:
        assert decision.allowed is (permitted(user) and is_open(incident)), decision
    else:
        assert not decision.allowed
        assert CAMERA_RULES & {decision.rule, *decision.other_rules}, decision
        if permitted(user) and is_open(incident):
            assert decision.rule in CAMERA_RULES  # nothing else stood in the way: the camera or consent did
    assert (state is SharingState.REGISTERED) is (camera.capability is Capability.REGISTERED)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Capability)), st.sampled_from(list(SharingMode)),
                          st.sampled_from(list(CameraStatus)), st.integers(0, 2), st.floats(0, 900)),
                min_size=1, max_size=8), grants)
def test_open_nearest_live_picks_exactly_the_cameras_may_view_opens(specs, grants):
    built = [make_camera(n, 1 + n % 2, *spec[:4]) for n, spec in enumerate(specs, 1)]
    found = sorted((as_found(c, spec[4]) for c, spec in zip(built, specs)), key=lambda c: (c.distance_m, c.id))
    answer = NearbyAnswer(42.1, -72.6, 500.0, shown_cameras(found, grants, {}, 500.0, NOW))
    dispatcher = User(1, "dana", "Dana", Role.DISPATCHER, NOW - timedelta(days=9))
    by_id = {c.id: c for c in built}
    opens = [c.id for c in found if c.distance_m <= 500.0
             and may_view(by_id[c.id], grants, dispatcher, Purpose(REASON, "CAD-2026-0042"), NOW).allowed]
    assert answer.nearest_live(len(specs)) == opens
    live_now = [c.camera.id for c in answer.inside if c.state is SharingState.LIVE_NOW]
    assert live_now == opens  # what the list counts as live now and the alert count read
    assert answer.nearest_live(1) == opens[:1]


def test_a_live_camera_with_no_stream_is_not_shown_live_now():
    """The issue's case: it showed blue "Live now", was picked by "open nearest live", and was then refused."""
    camera = make_camera(1, 1, Capability.LIVE, SharingMode.ALWAYS, CameraStatus.ACTIVE, streams=0)
    assert sharing_state(camera, [], NOW) is SharingState.LIVE_NOT_NOW
    assert sharing_state(as_found(camera, 10.0), [], NOW) is SharingState.LIVE_NOT_NOW
    answer = NearbyAnswer(42.1, -72.6, 500.0, shown_cameras([as_found(camera, 10.0)], [], {}, 500.0, NOW))
    assert answer.nearest_live(4) == []
    assert consent_now(camera, [], NOW).rule == Rule.CAMERA_NO_STREAM

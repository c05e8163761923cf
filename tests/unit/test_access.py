"""may_view: the one access rule, checked against an independent statement of the issue's rules (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.access import GRANT_RULES, Purpose, Rule, may_view
from console.domain.cameras import Camera, CameraStatus, Capability, SharingMode, Stream, StreamProtocol
from console.domain.grants import GrantSource, ShareGrant
from console.domain.incidents import Incident
from console.domain.users import Permission, Role, User, role_allows

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def camera(capability=Capability.LIVE, mode=SharingMode.ALWAYS, status=CameraStatus.ACTIVE, streams=1, cid=7, site=3):
    return Camera(id=cid, site_id=site, label="Front door", lat=40.0, lon=-75.0, address="1 Main St",
                  capability=capability, sharing_mode=mode, status=status,
                  streams=tuple(Stream(StreamProtocol.RTSP, f"rtsp://cam/{i}", id=i + 1) for i in range(streams)))


def user(role=Role.DISPATCHER, locked=False, disabled=False):
    return User(id=1, username="dana", display_name="Dana", role=role, created_at=NOW - timedelta(days=1),
                locked_at=NOW if locked else None, disabled_at=NOW if disabled else None)


def grant(start=-10, end=30, revoked=None, cid=7, site=None, gid=1):
    return ShareGrant(id=gid, camera_id=cid, site_id=site, starts_at=NOW + start * MIN, expires_at=NOW + end * MIN,
                      source=GrantSource.APP, revoked_at=None if revoked is None else NOW + revoked * MIN)


def incident(closed=None):
    return Incident(id=5, cad_number="CAD-2026-0042", type="burglary", priority=2, address="1 Main St",
                    lat=40.0, lon=-75.0, opened_at=NOW - timedelta(hours=1),
                    closed_at=None if closed is None else NOW + closed * MIN)


GOOD = Purpose(reason="suspect fled north", cad_number="CAD-2026-0042")


def test_always_shared_camera_is_allowed_for_fifteen_minutes():
    decision = may_view(camera(), [], user(), GOOD, NOW)
    assert (decision.allowed, decision.rule, decision.expires_at) == (True, Rule.SHARING_ALWAYS, NOW + 15 * MIN)


def test_on_alert_view_ends_with_the_grant():
    decision = may_view(camera(mode=SharingMode.ON_ALERT), [grant(end=6)], user(), GOOD, NOW)
    assert (decision.allowed, decision.rule, decision.expires_at, decision.grant_id) == (
        True, Rule.OWNER_ALERT, NOW + 6 * MIN, 1)


def test_site_grant_covers_the_camera_and_the_longest_grant_wins():
    grants = [grant(end=4, gid=1), grant(end=12, cid=None, site=3, gid=2), grant(end=50, cid=99, gid=3)]
    decision = may_view(camera(mode=SharingMode.ON_ALERT), grants, user(), GOOD, NOW)
    assert (decision.expires_at, decision.grant_id) == (NOW + 12 * MIN, 2)


def test_view_ends_when_the_incident_closes():
    purpose = Purpose(reason="suspect fled north", incident=incident(closed=3))
    assert may_view(camera(), [], user(), purpose, NOW).expires_at == NOW + 3 * MIN


def test_session_length_is_configurable():
    assert may_view(camera(), [], user(), GOOD, NOW, max_session=timedelta(minutes=5)).expires_at == NOW + 5 * MIN
    with pytest.raises(ValueError):
        may_view(camera(), [], user(), GOOD, NOW, max_session=timedelta(0))


@pytest.mark.parametrize("kwargs, grants, rule, words", [
    ({"capability": Capability.REGISTERED}, [], Rule.CAMERA_REGISTERED_ONLY, "registered only"),
    ({"mode": SharingMode.NEVER}, [], Rule.SHARING_NEVER, "does not share"),
    ({"status": CameraStatus.INACTIVE}, [], Rule.CAMERA_NOT_ACTIVE, "inactive"),
    ({"streams": 0}, [], Rule.CAMERA_NO_STREAM, "no stream"),
    ({"mode": SharingMode.ON_ALERT}, [], Rule.NO_ALERT, "no alert now"),
    ({"mode": SharingMode.ON_ALERT}, [grant(start=-30, end=-1)], Rule.GRANT_EXPIRED, "ended at"),
    ({"mode": SharingMode.ON_ALERT}, [grant(revoked=-2)], Rule.GRANT_REVOKED, "cancelled"),
    ({"mode": SharingMode.ON_ALERT}, [grant(start=5)], Rule.GRANT_NOT_STARTED, "not started"),
    ({"mode": SharingMode.ON_ALERT}, [grant(cid=8)], Rule.NO_ALERT, "no alert now"),
])
def test_camera_and_consent_denials_name_their_rule(kwargs, grants, rule, words):
    decision = may_view(camera(**kwargs), grants, user(), GOOD, NOW)
    assert (decision.allowed, decision.rule, decision.expires_at) == (False, rule, None)
    assert words in decision.reason


@pytest.mark.parametrize("who, purpose, rule", [
    (user(role=Role.OUTREACH), GOOD, Rule.ROLE_NO_LIVE_VIEW),
    (user(role=Role.AUDITOR), GOOD, Rule.ROLE_NO_LIVE_VIEW),
    (user(locked=True), GOOD, Rule.ACCOUNT_INACTIVE),
    (user(), Purpose(reason="suspect fled north"), Rule.NO_INCIDENT),
    (user(), Purpose(reason="suspect fled north", cad_number="   "), Rule.NO_INCIDENT),
    (user(), Purpose(reason="  ", cad_number="CAD-1"), Rule.NO_REASON),
    (user(), Purpose(reason="suspect fled north", incident=incident(closed=0)), Rule.INCIDENT_CLOSED),
])
def test_user_and_purpose_denials(who, purpose, rule):
    decision = may_view(camera(), [], who, purpose, NOW)
    assert (decision.allowed, decision.rule) == (False, rule)


def test_a_denial_lists_every_other_failing_rule():
    decision = may_view(camera(capability=Capability.REGISTERED, mode=SharingMode.NEVER), [], user(Role.ADMIN),
                        Purpose(reason=""), NOW)
    assert decision.rule == Rule.ROLE_NO_LIVE_VIEW
    assert decision.other_rules == (Rule.CAMERA_REGISTERED_ONLY, Rule.SHARING_NEVER, Rule.NO_INCIDENT, Rule.NO_REASON)


# --- the property: may_view agrees with the rules as the issue states them --------------------------------

grants_st = st.lists(st.builds(
    grant, start=st.integers(-60, 30), end=st.integers(-30, 90),
    revoked=st.none() | st.integers(-60, 60), cid=st.sampled_from([7, 8, None]), site=st.sampled_from([3, 4, None]),
    gid=st.integers(1, 1000)), max_size=4)


def expected(cam, grants, who, purpose, now):
    """The issue's rule, written independently of console.domain.access."""
    live_ok = cam.capability is Capability.LIVE and cam.status is CameraStatus.ACTIVE and cam.streams
    in_force = [g for g in grants
                if (g.camera_id == cam.id or (g.camera_id is None and g.site_id == cam.site_id))
                and g.starts_at <= now < g.expires_at and (g.revoked_at is None or g.revoked_at > now)]
    mode_ok = cam.sharing_mode is SharingMode.ALWAYS or (cam.sharing_mode is SharingMode.ON_ALERT and in_force)
    user_ok = who.locked_at is None and who.disabled_at is None and role_allows(who.role, Permission.LIVE_VIEW)
    inc = purpose.incident
    purpose_ok = (bool((purpose.cad_number or "").strip()) or inc is not None) and len(purpose.reason.strip()) >= 5
    open_ok = inc is None or inc.closed_at is None or inc.closed_at > now
    return bool(live_ok and mode_ok and user_ok and purpose_ok and open_ok), in_force


@settings(max_examples=400, deadline=None)
@given(
    capability=st.sampled_from(Capability), mode=st.sampled_from(SharingMode), status=st.sampled_from(CameraStatus),
    streams=st.integers(0, 2), grants=grants_st, role=st.sampled_from(Role), locked=st.booleans(),
    disabled=st.booleans(), reason=st.text(max_size=12), cad=st.none() | st.sampled_from(["", "CAD-9", " "]),
    closed=st.none() | st.integers(-20, 40), with_incident=st.booleans(), max_minutes=st.integers(1, 120),
)
def test_may_view_matches_the_rule(capability, mode, status, streams, grants, role, locked, disabled, reason, cad,
                                   closed, with_incident, max_minutes):
    cam = camera(capability, mode, status, streams)
    who = user(role, locked, disabled)
    purpose = Purpose(reason=reason, cad_number=cad, incident=incident(closed) if with_incident else None)
    max_session = timedelta(minutes=max_minutes)
    decision = may_view(cam, grants, who, purpose, NOW, max_session)
    allowed, in_force = expected(cam, grants, who, purpose, NOW)
    assert decision.allowed is allowed
    if allowed:
        assert NOW < decision.expires_at <= NOW + max_session
        assert decision.rule in (Rule.SHARING_ALWAYS, Rule.OWNER_ALERT)
        if mode is SharingMode.ON_ALERT:
            chosen = next(g for g in in_force if g.id == decision.grant_id)
            assert decision.expires_at <= chosen.expires_at
            assert decision.expires_at == min([NOW + max_session, chosen.expires_at]
                                              + ([chosen.revoked_at] if chosen.revoked_at else [])
                                              + ([purpose.incident.closed_at] if with_incident and closed else []))
        if with_incident and purpose.incident.closed_at is not None:
            assert decision.expires_at <= purpose.incident.closed_at
    else:
        assert decision.expires_at is None and decision.reason
        assert decision.rule not in (Rule.SHARING_ALWAYS, Rule.OWNER_ALERT) and decision.rule not in decision.other_rules
        if mode is SharingMode.ON_ALERT and not in_force:
            assert set(GRANT_RULES) & ({decision.rule} | set(decision.other_rules))
        if not role_allows(role, Permission.LIVE_VIEW):
            assert Rule.ROLE_NO_LIVE_VIEW in {decision.rule, *decision.other_rules}

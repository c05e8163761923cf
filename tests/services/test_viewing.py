"""The view-start use case, fail closed: every bypass attempt opens no stream and leaves a denial event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from console.domain.access import Purpose, Rule
from console.domain.audit import Action, Outcome
from console.domain.users import Role
from console.errors import UserError
from console.services.viewing import StreamCredentials, ViewDenied
from console.store.audit import AuditUnavailable
from console.store.users import view_sessions
from tests.services.conftest import NOW, audit_rows, refuse_audit_writes

WHY = Purpose(reason="suspect fled towards Elm St", cad_number="CAD-2026-0042")


def sessions(database):
    with database.engine.connect() as conn:
        return conn.execute(select(view_sessions)).all()


def test_allowed_view_is_recorded_before_the_stream_is_handed_over(database, viewing, people, registry):
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    assert auth.url == "rtsp://10.0.0.5:554/main"  # no credentials in the URL
    assert (auth.credentials.username, auth.credentials.password) == ("viewer", "s3cret-Pass")
    assert "s3cret" not in repr(auth) and "viewer" not in repr(auth.credentials)
    assert auth.expires_at == NOW + timedelta(minutes=15)
    [row] = sessions(database)
    assert (row.id, row.camera_id, row.incident_id, row.cad_number) == (
        auth.session_id, registry["always"], registry["incident"], "CAD-2026-0042")
    [event] = audit_rows(database, Action.VIEW_START)
    assert event["camera_id"] == registry["always"] and event["incident_id"] == registry["incident"]
    assert event["details"]["session_id"] == auth.session_id
    assert event["details"]["stream_id"] == auth.stream.id
    assert event["details"]["reason"] == "suspect fled towards Elm St"
    assert "s3cret" not in str(audit_rows(database))


def test_on_alert_view_expires_with_the_owner_alert(viewing, people, registry):
    auth = viewing.start_view(people[Role.DETECTIVE], registry["on_alert"], WHY, NOW)
    assert auth.expires_at == NOW + timedelta(minutes=8)
    assert auth.decision.rule == Rule.OWNER_ALERT


def test_sub_stream_can_be_chosen(viewing, people, registry):
    from console.domain.cameras import StreamRole

    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW, StreamRole.SUB)
    assert auth.url.endswith("/sub") and not auth.credentials


@pytest.mark.parametrize("camera, role, purpose, rule", [
    ("registered", Role.DISPATCHER, WHY, Rule.CAMERA_REGISTERED_ONLY),
    ("never", Role.DISPATCHER, WHY, Rule.SHARING_NEVER),
    ("expired", Role.DISPATCHER, WHY, Rule.GRANT_EXPIRED),
    ("revoked", Role.DISPATCHER, WHY, Rule.GRANT_REVOKED),
    ("inactive", Role.DISPATCHER, WHY, Rule.CAMERA_NOT_ACTIVE),
    ("always", Role.DISPATCHER, Purpose(reason="suspect fled towards Elm St"), Rule.NO_INCIDENT),
    ("always", Role.DISPATCHER, Purpose(reason="", cad_number="CAD-2026-0042"), Rule.NO_REASON),
    ("always", Role.DISPATCHER, Purpose(reason="follow-up", cad_number="CAD-2026-0001"), Rule.INCIDENT_CLOSED),
    ("always", Role.OUTREACH, WHY, Rule.ROLE_NO_LIVE_VIEW),
    ("always", Role.ADMIN, WHY, Rule.ROLE_NO_LIVE_VIEW),
])
def test_bypass_attempts_open_nothing_and_leave_a_denial(database, viewing, people, registry, camera, role, purpose,
                                                         rule):
    with pytest.raises(ViewDenied) as denied:
        viewing.start_view(people[role], registry[camera], purpose, NOW)
    assert denied.value.decision.rule == rule and not denied.value.decision.allowed
    assert denied.value.decision.reason in str(denied.value)
    assert sessions(database) == []
    assert audit_rows(database, Action.VIEW_START) == []
    [event] = audit_rows(database, Action.VIEW_DENIED)
    assert (event["outcome"], event["camera_id"], event["details"]["rule"]) == (Outcome.DENIED, registry[camera], rule)


def test_a_stale_incident_object_cannot_keep_a_closed_incident_open(database, viewing, people, registry):
    from console.store import registry as repo

    with database.engine.connect() as conn:
        closed = repo.get_incident(conn, registry["closed_incident"])
    stale = closed.__class__(**{**closed.__dict__, "closed_at": None})
    with pytest.raises(ViewDenied) as denied:
        viewing.start_view(people[Role.DISPATCHER], registry["always"], Purpose("follow-up call", incident=stale), NOW)
    assert denied.value.decision.rule == Rule.INCIDENT_CLOSED


def test_audit_refusing_writes_means_no_authorization(database, viewing, people, registry):
    refuse_audit_writes(database)
    with pytest.raises(AuditUnavailable) as refused:
        viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    assert "audit" in str(refused.value) and "s3cret" not in str(refused.value)
    assert sessions(database) == []  # the session row went with the refused event


def test_audit_refusing_a_denial_still_denies_and_says_so(database, viewing, people, registry):
    refuse_audit_writes(database)
    with pytest.raises(ViewDenied) as denied:
        viewing.start_view(people[Role.DISPATCHER], registry["never"], WHY, NOW)
    assert denied.value.decision.rule == Rule.SHARING_NEVER
    assert "could not be recorded" in str(denied.value)
    assert sessions(database) == []


def test_end_view_records_the_duration_once(database, viewing, people, registry):
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    assert viewing.end_view(auth.session_id, "user_closed", NOW + timedelta(seconds=95)) == 95.0
    [event] = audit_rows(database, Action.VIEW_END)
    assert event["details"] == {"session_id": auth.session_id, "stream_id": auth.stream.id, "duration_s": 95.0,
                                "end_reason": "user_closed"}
    assert event["username"] == "dispatcher"
    [row] = sessions(database)
    assert (row.ended_at, row.end_reason) == (NOW + timedelta(seconds=95), "user_closed")
    with pytest.raises(UserError, match="already ended"):
        viewing.end_view(auth.session_id, "user_closed", NOW + timedelta(seconds=96))


def test_renewal_needs_a_new_reason_and_rechecks_consent(database, viewing, people, registry):
    user = people[Role.DISPATCHER]
    first = viewing.start_view(user, registry["always"], WHY, NOW)
    later = NOW + timedelta(minutes=14)
    second = viewing.renew_view(user, first.session_id, "still tracking the suspect", later)
    assert second.expires_at == later + timedelta(minutes=15) and second.session_id != first.session_id
    ended = {r.id: r.end_reason for r in sessions(database)}
    assert ended == {first.session_id: "renewed", second.session_id: None}
    with pytest.raises(UserError, match="new reason"):
        viewing.renew_view(user, second.session_id, "still tracking the suspect", later)
    on_alert = viewing.start_view(user, registry["on_alert"], WHY, NOW)
    with pytest.raises(ViewDenied) as denied:  # the owner's alert has ended by now
        viewing.renew_view(user, on_alert.session_id, "still tracking the suspect", NOW + timedelta(minutes=9))
    assert denied.value.decision.rule == Rule.GRANT_EXPIRED


def test_credentials_repr_hides_secrets():
    creds = StreamCredentials("viewer", "s3cret-Pass")
    assert "s3cret" not in repr(creds) and "viewer" not in str(creds) and f"{creds!r}" == "StreamCredentials(<hidden>)"


def test_a_reason_the_trail_must_not_keep_opens_nothing(database, viewing, people, registry):
    leaky = Purpose(reason="owner maria.lopez@example.org asked us to look", cad_number="CAD-2026-0042")
    with pytest.raises(UserError, match="e-mail"):
        viewing.start_view(people[Role.DISPATCHER], registry["always"], leaky, NOW)
    with pytest.raises(ViewDenied, match="could not be recorded"):
        viewing.start_view(people[Role.DISPATCHER], registry["never"], leaky, NOW)
    assert sessions(database) == []
    assert "example.org" not in str(audit_rows(database))


def test_a_stale_user_object_cannot_keep_a_lost_role_or_a_lock(database, viewing, accounts, people, registry):
    dispatcher = people[Role.DISPATCHER]  # as it was at login
    accounts.set_role("os:admin", "dispatcher", Role.OUTREACH, NOW)
    with pytest.raises(ViewDenied) as denied:
        viewing.start_view(dispatcher, registry["always"], WHY, NOW)
    assert denied.value.decision.rule == Rule.ROLE_NO_LIVE_VIEW
    detective = people[Role.DETECTIVE]
    accounts.lock("os:admin", "detective", NOW)
    with pytest.raises(ViewDenied) as denied:
        viewing.start_view(detective, registry["always"], WHY, NOW)
    assert denied.value.decision.rule == Rule.ACCOUNT_INACTIVE
    assert sessions(database) == []


def test_a_view_that_never_played_says_so_in_its_end_event(database, viewing, people, registry):
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    hostile = "The camera cannot be reached;\ncheck it.\x00 " + "x" * 5000
    viewing.end_view(auth.session_id, "no_picture", NOW + timedelta(seconds=4), frames_shown=0, problem=hostile)
    [event] = audit_rows(database, Action.VIEW_END)
    details = event["details"]
    assert details["frames_shown"] == 0 and details["end_reason"] == "no_picture"
    assert details["problem"].startswith("The camera cannot be reached; check it.")
    assert "\n" not in details["problem"] and len(details["problem"]) <= 300


@pytest.mark.parametrize("frames", [-1, 2.5, "0", True])
def test_a_bad_frame_count_ends_nothing(database, viewing, people, registry, frames):
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    with pytest.raises(UserError, match="frames shown must be a whole number"):
        viewing.end_view(auth.session_id, "no_picture", NOW + timedelta(seconds=4), frames_shown=frames)
    assert audit_rows(database, Action.VIEW_END) == []
    [row] = sessions(database)
    assert row.ended_at is None, "the session stays open: the end can be recorded again"


def test_a_view_closed_before_any_picture_is_not_recorded_as_a_view_watched(database, viewing, people, registry):
    """Issue 15 item 1: the user closes a tile that never showed a picture (or it expires): the end is a failed
    no-picture end, the session row says no_picture, and VIEW_START stays the one written before the handover."""
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    viewing.end_view(auth.session_id, "user_closed", NOW + timedelta(minutes=15), frames_shown=0,
                     problem="The camera cannot be reached.")
    [start] = audit_rows(database, Action.VIEW_START)
    [end] = audit_rows(database, Action.VIEW_END)
    assert start["outcome"] == Outcome.OK
    assert end["outcome"] == Outcome.FAILED
    assert end["details"]["end_reason"] == "no_picture" and end["details"]["closed_as"] == "user_closed"
    assert end["details"]["frames_shown"] == 0
    [row] = sessions(database)
    assert row.end_reason == "no_picture" and row.ended_at is not None


def test_a_view_that_played_ends_as_it_was_closed(database, viewing, people, registry):
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    viewing.end_view(auth.session_id, "user_closed", NOW + timedelta(minutes=1), frames_shown=1)
    [end] = audit_rows(database, Action.VIEW_END)
    assert end["outcome"] == Outcome.OK and end["details"]["end_reason"] == "user_closed"
    assert "closed_as" not in end["details"]


def test_two_ends_racing_write_one_view_end(database, viewing, people, registry, monkeypatch):
    """The second end read the row while it was still open (a CAD close and the tile at once): its transaction
    finds the row closed and writes nothing."""
    from console.store import views

    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    open_row = viewing._session(auth.session_id)
    viewing.end_view(auth.session_id, "incident_closed", NOW + timedelta(minutes=1), frames_shown=5)
    monkeypatch.setattr(views, "get_view_session", lambda conn, session_id: open_row)  # the stale read
    with pytest.raises(UserError, match="already ended"):
        viewing.end_view(auth.session_id, "user_closed", NOW + timedelta(minutes=2), frames_shown=5)
    [end] = audit_rows(database, Action.VIEW_END)
    assert end["details"]["end_reason"] == "incident_closed"
    [row] = sessions(database)
    assert row.end_reason == "incident_closed"

"""Owner alert incidents on both backends: a panic-button or app alert opens an "owner alert" incident at its
camera's site (audited as ALERT_INCIDENT, heard by every console), the incident closes when the alert is cancelled
or runs out, a dispatcher may close it (audited as that dispatcher) or acknowledge the alert, and the alert is the
purpose of a live view opened from it, allowed only while the alert is in force."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.domain.access import Purpose, Rule
from console.domain.audit import Action
from console.domain.changes import ChangeKind
from console.domain.grants import GrantSource
from console.domain.users import Role
from console.errors import UserError
from console.services.owner_alerts import INCIDENT_TYPE, SYSTEM_ACTOR
from console.services.viewing import ViewDenied
from console.store import registry as repo
from console.store.changes import changes_since
from tests.services.conftest import NOW, audit_rows

MIN = timedelta(minutes=1)


# `alerts` and `shop` (a site with two on-alert cameras, another with one): tests/services/conftest.py.


def incident_events(database) -> list[dict]:
    return audit_rows(database, Action.ALERT_INCIDENT)


def changed(database, kind: ChangeKind) -> list[int | None]:
    with database.engine.connect() as conn:
        return [c.record_id for c in changes_since(conn, 0) if c.kind is kind]


@pytest.mark.parametrize("source", [GrantSource.PANIC_BUTTON, GrantSource.APP])
def test_a_panic_or_app_alert_opens_an_incident_at_the_site(database, alerts, shop, source):
    grant = alerts.raise_alert("feed:portal", NOW, camera_id=shop["door"], minutes=20, source=source)
    (bar,) = alerts.alert_bars(NOW + MIN)
    incident = bar.incident
    assert (bar.grant_id, bar.camera_label, bar.site_name, bar.address) == (grant.id, "door", "Corner shop", "3 Main St")
    assert (incident.type, incident.priority, incident.address, incident.closed_at) == (INCIDENT_TYPE, 1, "3 Main St",
                                                                                        None)
    assert (incident.lat, incident.lon) == (39.96, -75.17) and incident.opened_at == NOW
    assert bar.in_force and bar.acknowledged_at is None and "Corner shop" in bar.reason
    (event,) = incident_events(database)
    assert event["details"]["event"] == "opened" and event["details"]["grant_id"] == grant.id
    assert event["incident_id"] == incident.id and event["username"] == "feed:portal"
    assert incident.id in changed(database, ChangeKind.INCIDENT)


@pytest.mark.parametrize("source", [GrantSource.STAFF, GrantSource.FEED])
def test_other_alerts_open_no_incident(database, alerts, shop, source):
    alerts.raise_alert("os:outreach", NOW, camera_id=shop["door"], minutes=20, source=source)
    assert alerts.alert_bars(NOW + MIN) == [] and incident_events(database) == []


def test_cancelling_the_alert_closes_its_incident_once(database, alerts, shop):
    grant = alerts.raise_alert("feed:portal", NOW, site_id=shop["site"], minutes=20, source=GrantSource.PANIC_BUTTON)
    incident_id = alerts.alert_bars(NOW)[0].incident.id
    alerts.end_alert("os:outreach", grant.id, NOW + 5 * MIN)
    with database.engine.connect() as conn:
        assert repo.get_incident(conn, incident_id).closed_at == NOW + 5 * MIN
    assert alerts.alert_bars(NOW + 6 * MIN) == []
    (bar,) = alerts.alert_bars(NOW + 6 * MIN, [grant.id])
    assert not bar.in_force
    closed = [e for e in incident_events(database) if e["details"]["event"] == "closed"]
    assert [(e["details"]["how"], e["username"]) for e in closed] == [("alert_cancelled", "os:outreach")]
    assert alerts.close_ended(NOW + 30 * MIN) == 0  # already closed: nothing recorded twice


def test_an_expired_alert_closes_its_incident_at_its_expiry(database, alerts, shop):
    alerts.raise_alert("feed:portal", NOW, camera_id=shop["till"], minutes=10, source=GrantSource.APP)
    incident_id = alerts.alert_bars(NOW)[0].incident.id
    assert alerts.close_ended(NOW + 9 * MIN) == 0
    assert alerts.close_ended(NOW + 25 * MIN) == 1
    assert alerts.close_ended(NOW + 26 * MIN) == 0
    with database.engine.connect() as conn:
        assert repo.get_incident(conn, incident_id).closed_at == NOW + 10 * MIN  # when the alert ran out
    (closed,) = [e for e in incident_events(database) if e["details"]["event"] == "closed"]
    assert closed["username"] == SYSTEM_ACTOR and closed["details"]["how"] == "alert_ended"


def test_a_dispatcher_closes_the_incident_audited_as_themselves(database, alerts, shop, people):
    grant = alerts.raise_alert("feed:portal", NOW, camera_id=shop["door"], minutes=20,
                               source=GrantSource.PANIC_BUTTON)
    incident_id = alerts.alert_bars(NOW)[0].incident.id
    dispatcher = people[Role.DISPATCHER]
    closed = alerts.close_incident_as(dispatcher, incident_id, NOW + 2 * MIN, note="false alarm, owner called")
    assert closed.closed_at == NOW + 2 * MIN
    event = incident_events(database)[-1]
    assert (event["username"], event["details"]["how"], event["details"]["note"]) == (
        dispatcher.username, "dispatcher", "false alarm, owner called")
    with pytest.raises(UserError, match="already closed"):
        alerts.close_incident_as(dispatcher, incident_id, NOW + 3 * MIN)
    assert alerts.alert_bars(NOW + 3 * MIN, [grant.id])[0].in_force is False  # the bar goes with the incident
    with database.engine.begin() as conn:
        other = repo.add_incident(conn, closed.__class__(None, "CAD-1", "burglary", 2, "1 Elm", 39.9, -75.1, NOW))
    with pytest.raises(UserError, match="not opened by an owner alert"):
        alerts.close_incident_as(dispatcher, other, NOW)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.OUTREACH, Role.ADMIN])
def test_roles_that_do_not_answer_alerts_cannot_close_or_acknowledge(database, alerts, shop, people, role):
    grant = alerts.raise_alert("feed:portal", NOW, camera_id=shop["door"], minutes=20, source=GrantSource.APP)
    incident_id = alerts.alert_bars(NOW)[0].incident.id
    with pytest.raises(UserError):
        alerts.close_incident_as(people[role], incident_id, NOW)
    with pytest.raises(UserError):
        alerts.acknowledge_as(people[role], grant.id, NOW)
    assert [e["details"]["event"] for e in incident_events(database)] == ["opened"]


@pytest.mark.parametrize("note", ["x" * 501, 12, None])
def test_a_bad_note_is_refused_and_nothing_changes(database, alerts, shop, people, note):
    alerts.raise_alert("feed:portal", NOW, camera_id=shop["door"], minutes=20, source=GrantSource.APP)
    incident_id = alerts.alert_bars(NOW)[0].incident.id
    with pytest.raises(UserError, match="500 characters"):
        alerts.close_incident_as(people[Role.DISPATCHER], incident_id, NOW, note=note)
    assert alerts.alert_bars(NOW)[0].incident.closed_at is None


def test_acknowledge_is_audited_once_and_kept(database, alerts, shop, people):
    grant = alerts.raise_alert("feed:portal", NOW, camera_id=shop["door"], minutes=20,
                               source=GrantSource.PANIC_BUTTON)
    dispatcher = people[Role.DISPATCHER]
    assert alerts.acknowledge_as(dispatcher, grant.id, NOW + MIN) is True
    assert alerts.acknowledge_as(dispatcher, grant.id, NOW + 2 * MIN) is False
    (bar,) = alerts.alert_bars(NOW + 3 * MIN)  # still in force, and known to be acknowledged (after a restart too)
    assert (bar.acknowledged_at, bar.acknowledged_by) == (NOW + MIN, dispatcher.username)
    assert [e["details"]["event"] for e in incident_events(database)] == ["opened", "acknowledged"]
    assert grant.id in changed(database, ChangeKind.GRANT)
    with pytest.raises(UserError, match="no owner alert"):
        alerts.acknowledge_as(dispatcher, 999_999, NOW)


def test_the_alert_is_the_purpose_and_allows_only_while_in_force(database, alerts, shop, people, viewing):
    dispatcher = people[Role.DISPATCHER]
    alerts.raise_alert("feed:portal", NOW, camera_id=shop["door"], minutes=10, source=GrantSource.PANIC_BUTTON)
    bar = alerts.alert_bars(NOW)[0]
    purpose = Purpose(reason=bar.reason, incident=bar.incident)
    opened = viewing.start_view(dispatcher, shop["door"], purpose, NOW + MIN)
    assert opened.decision.rule == Rule.OWNER_ALERT and opened.expires_at == NOW + 10 * MIN
    start = audit_rows(database, Action.VIEW_START)[-1]
    assert start["incident_id"] == bar.incident.id and start["details"]["reason"] == bar.reason
    # The same purpose for a camera the alert does not open: refused (the sharing rule, not the purpose).
    with pytest.raises(ViewDenied):
        viewing.start_view(dispatcher, shop["dock"], purpose, NOW + MIN)
    # After the alert ran out and its incident closed, the bar's purpose opens nothing.
    alerts.close_ended(NOW + 11 * MIN)
    stale = alerts.alert_bars(NOW + 11 * MIN, [bar.grant_id])[0]
    with pytest.raises(ViewDenied) as caught:
        viewing.start_view(dispatcher, shop["door"], Purpose(reason=stale.reason, incident=stale.incident),
                           NOW + 11 * MIN)
    assert "closed" in str(caught.value) or "alert" in str(caught.value)


def test_from_the_portal_an_alert_opens_one_incident_and_its_cancel_closes_it(database, audit, cipher):
    from console.services.registry_feed import FeedHttp, FeedOptions, RegistryFeed
    from tests.support.portal_server import PortalServer, alert, camera

    def iso(at):
        return at.isoformat().replace("+00:00", "Z")

    with PortalServer(token="t-ai") as portal:
        http = FeedHttp(portal.base_url, "t-ai", FeedOptions(attempts=1, read_timeout_s=5))
        clock = [NOW]
        feed = RegistryFeed(database, audit, cipher, http, workstation="rtic-ws-ai", clock=lambda: clock[0])
        portal.add(camera("P-1"), alert("A-1", "P-1", iso(NOW), iso(NOW + 30 * MIN)),
                   alert("A-OLD", "P-1", iso(NOW - 90 * MIN), iso(NOW - 60 * MIN)),
                   alert("A-GONE", "P-1", iso(NOW - 5 * MIN), iso(NOW + 30 * MIN), cancelled_at=iso(NOW - MIN)))
        assert feed.sync().error is None
        bars = feed.alerts.alert_bars(NOW)
        assert [b.source for b in bars] == [GrantSource.PANIC_BUTTON]  # the ended ones opened nothing
        portal.add(alert("A-1", "P-1", iso(NOW), iso(NOW + 30 * MIN)))  # re-sent unchanged: nothing new
        clock[0] = NOW + MIN
        assert feed.sync().error is None
        assert [e["details"]["event"] for e in incident_events(database)] == ["opened"]
        portal.add(alert("A-1", "P-1", iso(NOW), iso(NOW + 30 * MIN), cancelled_at=iso(NOW + 2 * MIN)))
        clock[0] = NOW + 3 * MIN
        assert feed.sync().error is None
        assert feed.alerts.alert_bars(NOW + 3 * MIN) == []
        assert [e["details"].get("how") for e in incident_events(database)] == [None, "alert_cancelled"]
        http.close()

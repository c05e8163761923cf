"""Owner alerts on both backends: an on-alert camera is viewable only while the owner's alert is in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from console.domain.access import Purpose, Rule
from console.domain.audit import Action
from console.domain.changes import ChangeKind
from console.domain.grants import GrantSource
from console.domain.users import Role
from console.errors import UserError
from console.services.owner_alerts import MAX_MINUTES
from console.store.audit import AuditUnavailable
from console.store.changes import changes_since
from console.store.models import ShareGrantRow
from tests.services.conftest import NOW, audit_rows, refuse_audit_writes

WHY = Purpose(reason="shots fired near the corner shop", cad_number="CAD-2026-0042")


# `alerts` and `shop` (a site with two on-alert cameras, another with one): tests/services/conftest.py.


def grant_count(database) -> int:
    with database.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ShareGrantRow.__table__)).scalar_one()


def grant_changes(database) -> list[int | None]:
    with database.engine.connect() as conn:
        return [c.record_id for c in changes_since(conn, 0) if c.kind is ChangeKind.GRANT]


def test_on_alert_camera_is_viewable_only_while_the_alert_is_in_force(alerts, viewing, people, shop):
    user = people[Role.DISPATCHER]
    before = viewing.decide(user, shop["door"], WHY, NOW)[2]
    assert not before.allowed and before.rule == Rule.NO_ALERT

    grant = alerts.raise_alert("os:outreach", NOW, camera_id=shop["door"], minutes=10, source=GrantSource.STAFF)
    assert (grant.starts_at, grant.expires_at) == (NOW, NOW + timedelta(minutes=10))

    during = viewing.decide(user, shop["door"], WHY, NOW + timedelta(minutes=1))[2]
    assert during.allowed and during.rule == Rule.OWNER_ALERT
    assert during.expires_at == grant.expires_at  # the alert ends before the 15-minute view limit
    assert during.grant_id == grant.id
    assert not viewing.decide(user, shop["till"], WHY, NOW + timedelta(minutes=1))[2].allowed  # another camera

    after = viewing.decide(user, shop["door"], WHY, NOW + timedelta(minutes=10))[2]
    assert not after.allowed and after.rule == Rule.GRANT_EXPIRED


def test_site_alert_opens_every_camera_of_that_site_only(alerts, viewing, people, shop):
    user = people[Role.DISPATCHER]
    alerts.raise_alert("os:outreach", NOW, site_id=shop["site"], minutes=30, source=GrantSource.PANIC_BUTTON)
    at = NOW + timedelta(minutes=5)
    assert viewing.decide(user, shop["door"], WHY, at)[2].allowed
    assert viewing.decide(user, shop["till"], WHY, at)[2].allowed
    assert viewing.decide(user, shop["dock"], WHY, at)[2].rule == Rule.NO_ALERT


def test_raise_and_end_are_audited_and_broadcast(database, alerts, viewing, people, shop):
    grant = alerts.raise_alert("os:outreach", NOW, camera_id=shop["door"], minutes=60)
    alerts.end_alert("os:supervisor", grant.id, NOW + timedelta(minutes=5))

    denied = viewing.decide(people[Role.DISPATCHER], shop["door"], WHY, NOW + timedelta(minutes=6))[2]
    assert not denied.allowed and denied.rule == Rule.GRANT_REVOKED
    raised, ended = audit_rows(database, Action.CONSENT_CHANGE)
    assert (raised["username"], raised["camera_id"], raised["details"]["new"]) == ("os:outreach", shop["door"], "raised")
    assert raised["details"]["grant_id"] == grant.id and raised["details"]["source"] == "staff"
    assert (ended["username"], ended["details"]["new"], ended["details"]["grant_id"]) == ("os:supervisor", "ended",
                                                                                         grant.id)
    assert grant_changes(database) == [grant.id, grant.id]
    assert "Maria" not in str(raised) + str(ended)

    with pytest.raises(UserError, match="already ended"):
        alerts.end_alert("os:supervisor", grant.id, NOW + timedelta(minutes=7))
    with pytest.raises(UserError, match="no alert 999"):
        alerts.end_alert("os:supervisor", 999, NOW)
    assert len(audit_rows(database, Action.CONSENT_CHANGE)) == 2


def test_active_alerts_lists_what_is_in_force_now(alerts, shop):
    door = alerts.raise_alert("os:a", NOW, camera_id=shop["door"], minutes=10, source=GrantSource.APP)
    site = alerts.raise_alert("os:a", NOW + timedelta(minutes=1), site_id=shop["other_site"], minutes=60)
    ended = alerts.raise_alert("os:a", NOW, camera_id=shop["till"], minutes=60)
    alerts.end_alert("os:a", ended.id, NOW + timedelta(minutes=2))

    listed = alerts.active_alerts(NOW + timedelta(minutes=3))
    assert [a.grant_id for a in listed] == [site.id, door.id]  # newest first; the ended one is gone
    newest, oldest = listed
    assert (newest.camera_id, newest.site_id, newest.site_name, newest.what) == (
        None, shop["other_site"], "Warehouse", "every camera at Warehouse")
    assert (oldest.camera_label, oldest.site_id, oldest.source, oldest.expires_at) == (
        "door", shop["site"], GrantSource.APP, NOW + timedelta(minutes=10))
    assert oldest.as_dict()["expires_at"] == (NOW + timedelta(minutes=10)).isoformat()
    assert [a.grant_id for a in alerts.active_alerts(NOW + timedelta(minutes=10))] == [site.id]
    assert alerts.active_alerts(NOW - timedelta(minutes=1)) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"camera_id": "door", "minutes": 0}, "1 to 720 minutes"),
    ({"camera_id": "door", "minutes": MAX_MINUTES + 1}, "at most 720 minutes"),
    ({"camera_id": "door", "site_id": "site"}, "exactly one"),
    ({}, "exactly one"),
    ({"camera_id": 999_999}, "no camera 999999"),
    ({"site_id": 999_999}, "no site 999999"),
])
def test_bad_alerts_are_refused_and_change_nothing(database, alerts, shop, kwargs, message):
    kwargs = {k: shop.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(UserError, match=message):
        alerts.raise_alert("os:a", NOW, **kwargs)
    assert grant_count(database) == 0 and audit_rows(database) == [] and grant_changes(database) == []


def test_no_alert_when_the_audit_cannot_record_it(database, alerts, viewing, people, shop):
    refuse_audit_writes(database)
    with pytest.raises(AuditUnavailable):
        alerts.raise_alert("os:a", NOW, camera_id=shop["door"])
    assert grant_count(database) == 0 and grant_changes(database) == []
    assert not viewing.decide(people[Role.DISPATCHER], shop["door"], WHY, NOW)[2].allowed


def test_only_registry_staff_enter_alerts_and_anyone_active_ends_them(database, alerts, accounts, people, shop):
    with pytest.raises(UserError, match="dispatcher role cannot enter an owner's alert"):
        alerts.raise_alert_as(people[Role.DISPATCHER], NOW, camera_id=shop["door"])
    assert grant_count(database) == 0
    grant = alerts.raise_alert_as(people[Role.OUTREACH], NOW, camera_id=shop["door"], minutes=15)
    [raised] = audit_rows(database, Action.CONSENT_CHANGE)
    assert raised["username"] == "outreach"

    accounts.lock("os:test", "dispatcher", NOW)
    with pytest.raises(UserError, match="account dispatcher is locked"):
        alerts.end_alert_as(people[Role.DISPATCHER], grant.id, NOW + timedelta(minutes=1))
    alerts.end_alert_as(people[Role.SUPERVISOR], grant.id, NOW + timedelta(minutes=1))
    assert audit_rows(database, Action.CONSENT_CHANGE)[-1]["username"] == "supervisor"

"""The registry feed client against a local portal (tests/support/portal_server.py), on both backends.

Incremental paging, 304, retries with backoff and Retry-After, resuming after a failure with nothing applied
twice, bad pages rejected with the cursor kept before them, alerts from the feed becoming grants, removals and
erasures, and re-delivered items changing nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from console.domain.access import Purpose, Rule
from console.domain.audit import Action, Outcome
from console.domain.changes import ChangeKind
from console.domain.users import Role
from console.services.registry_feed import FeedHttp, FeedOptions, RegistryFeed
from console.store import registry as repo
from console.store.alerts import camera_by_portal_id
from console.store.changes import changes_since
from console.store.models import CameraRow, OwnerRow, ShareGrantRow
from tests.services.conftest import NOW, audit_rows
from tests.support.portal_server import PortalServer, alert, camera, cursor_for

TOKEN = "feed-token-9f8e7d"
WHY = Purpose(reason="alarm at the corner shop", cad_number="CAD-2026-0042")


def iso(minutes: float) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def portal():
    with PortalServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def waits():
    return []


@pytest.fixture
def make_feed(database, audit, cipher, portal, waits):
    clients = []

    def make(page_size: int = 2, attempts: int = 3, token: str = TOKEN, **options) -> RegistryFeed:
        options = FeedOptions(page_size=page_size, attempts=attempts, backoff_s=0.01, max_backoff_s=0.05,
                              max_retry_after_s=5, connect_timeout_s=2, read_timeout_s=5, **options)
        http = FeedHttp(portal.base_url, token, options, sleep=waits.append)  # the clock seam: waits recorded
        clients.append(http)
        return RegistryFeed(database, audit, cipher, http, workstation="rtic-ws-3", clock=lambda: NOW)

    yield make
    for http in clients:
        http.close()


def count(database, table) -> int:
    with database.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table.__table__)).scalar_one()


def camera_rows(database):
    with database.engine.connect() as conn:
        return {r.portal_id: r for r in conn.execute(select(CameraRow.__table__))}


def change_kinds(database) -> list[ChangeKind]:
    with database.engine.connect() as conn:
        return [c.kind for c in changes_since(conn, 0)]


def test_incremental_sync_in_pages_then_304(database, portal, make_feed):
    portal.add(*(camera(f"P-{n}") for n in range(1, 6)))
    feed = make_feed(page_size=2)

    first = feed.sync()
    assert (first.pages, first.applied["camera"], first.error, first.cursor) == (3, 5, None, cursor_for(5))
    assert set(camera_rows(database)) == {f"P-{n}" for n in range(1, 6)}
    assert [r["cursor"] for r in portal.requests] == [None, cursor_for(2), cursor_for(4)]
    headers = portal.requests[0]["headers"]
    assert headers["Authorization"] == f"Bearer {TOKEN}" and "CommunityConnectConsole" in headers["User-Agent"]
    assert {r["limit"] for r in portal.requests} == {"2"}
    events = audit_rows(database, Action.REGISTRY_CHANGE)
    assert [e["details"]["items"] for e in events] == [2, 2, 1] and sum(e["details"]["added"] for e in events) == 5
    assert "example.org" not in json.dumps(events) and "Owner P-" not in json.dumps(events)
    assert change_kinds(database).count(ChangeKind.REGISTRY) == 3

    at_end = feed.sync()  # the end of the log: an empty page whose ETag is kept, nothing written
    assert (at_end.pages, at_end.applied["camera"], at_end.not_modified) == (1, 0, False)
    assert feed.position() == (cursor_for(5), '"5-5"')
    idle = feed.sync()
    assert (idle.pages, idle.not_modified, idle.cursor) == (0, True, cursor_for(5))
    assert portal.requests[-1]["headers"]["If-None-Match"] == '"5-5"' and portal.statuses[-1] == 304
    assert len(audit_rows(database, Action.REGISTRY_CHANGE)) == 3

    portal.add(camera("P-6"))
    news = feed.sync()
    assert (news.pages, news.applied["camera"], news.cursor) == (1, 1, cursor_for(6))
    assert len(camera_rows(database)) == 6


def test_retries_with_backoff_and_retry_after(database, portal, make_feed, waits):
    portal.add(camera("P-1"), camera("P-2"), camera("P-3"))
    portal.fail("status", 500, times=2)
    portal.fail("drop")
    portal.fail("status", 429, retry_after="2", at_cursor=cursor_for(2))
    portal.fail("drop_mid_body", at_cursor=cursor_for(2))
    summary = make_feed(page_size=2, attempts=4).sync()

    assert summary.error is None and summary.applied["camera"] == 3 and summary.cursor == cursor_for(3)
    assert portal.statuses == [500, 500, "dropped", 200, 429, "dropped mid-body", 200]
    backoff = waits[:3]
    assert all(0 < w <= 0.05 for w in backoff) and backoff[2] >= backoff[0]  # doubling (with jitter)
    assert waits[3] == 2.0  # Retry-After honoured exactly
    assert len(waits) == 5


def test_giving_up_keeps_what_was_synced(database, portal, make_feed, waits):
    portal.add(*(camera(f"P-{n}") for n in range(1, 6)))
    portal.fail("status", 503, at_cursor=cursor_for(2), times=3)
    summary = make_feed(page_size=2, attempts=3).sync()
    assert summary.pages == 1 and summary.cursor == cursor_for(2)
    assert "did not answer after 3 attempts (HTTP 503)" in summary.error and TOKEN not in summary.error
    assert set(camera_rows(database)) == {"P-1", "P-2"}

    portal.fail("status", 429, retry_after="600", times=1)
    busy = make_feed().sync()
    assert "asks to come back in 600 s" in busy.error and busy.cursor == cursor_for(2)


def test_resume_after_a_failure_mid_sync_applies_nothing_twice(database, portal, make_feed):
    portal.add(*(camera(f"P-{n}") for n in range(1, 7)))
    # Page 2 names an alert for a camera the portal has not sent: the whole page rolls back, P-3 included.
    portal.items.insert(3, alert("A-1", "P-99", iso(0), iso(30)))
    first = make_feed(page_size=2).sync()
    assert first.rejected == 1 and "camera 'P-99', which the registry does not have" in first.error
    assert first.cursor == cursor_for(2) and set(camera_rows(database)) == {"P-1", "P-2"}
    [failed] = [e for e in audit_rows(database, Action.REGISTRY_CHANGE) if e["outcome"] == Outcome.FAILED]
    assert failed["details"]["cursor"] == cursor_for(2)

    portal.items[3] = alert("A-1", "P-2", iso(0), iso(30))  # the portal corrects its page
    second = make_feed(page_size=2).sync()
    assert second.error is None and second.cursor == cursor_for(7)
    assert (second.applied["camera"], second.applied["alert"]) == (4, 1)
    rows = camera_rows(database)
    assert len(rows) == 6 and {r.version for r in rows.values()} == {1}
    assert count(database, ShareGrantRow) == 1


def test_bad_pages_are_rejected_and_the_cursor_stays_before_them(database, portal, make_feed):
    portal.add(camera("P-1"), camera("P-2"), camera("P-3", lat="north"), camera("P-4"))
    summary = make_feed(page_size=2).sync()
    assert summary.rejected == 1 and summary.cursor == cursor_for(2)
    assert "item 1 (camera 'P-3'): lat 'north' is not a number" in summary.error
    assert set(camera_rows(database)) == {"P-1", "P-2"}

    portal.items[2] = camera("P-3")
    portal.fail("malformed", at_cursor=cursor_for(2))
    malformed = make_feed(page_size=2).sync()
    assert "is not JSON" in malformed.error and malformed.cursor == cursor_for(2)
    assert make_feed(page_size=2).sync().cursor == cursor_for(4)
    assert len(camera_rows(database)) == 4


@pytest.mark.parametrize("item, message", [
    ({"type": "camera", "portal_id": "P-9", "owner_name": "X", "address": "1 A St", "lat": 42.1, "lon": -72.6,
      "colour": "red"}, "unknown field 'colour'"),
    ({"type": "webcam"}, "item 1 has type 'webcam'"),
    ({"type": "alert", "alert_id": "A-9", "camera_portal_id": "P-1", "starts_at": "2026-11-23T22:00:00",
      "expires_at": "2026-11-23T23:00:00Z"}, "has no time zone"),
    ({"type": "alert", "alert_id": "A-9", "camera_portal_id": "P-1", "starts_at": "2026-11-23T22:00:00Z",
      "expires_at": "2026-11-24T22:00:00Z"}, "at most 720 minutes"),
    ({"type": "camera_removed"}, "portal_id is missing"),
    ("camera", "item 1 is a JSON string"),
])
def test_bad_items_name_the_item_and_the_reason(database, portal, make_feed, item, message):
    portal.add(camera("P-1"), item)
    summary = make_feed(page_size=1).sync()
    assert summary.rejected == 1 and message in summary.error and summary.cursor == cursor_for(1)


def test_alert_from_the_feed_opens_the_camera_for_its_window_only(database, portal, make_feed, viewing, people):
    portal.add(camera("P-1"), camera("P-2", phone="413-555-7777", email="", address="5 Dock Rd"),
               alert("A-1", "P-1", iso(0), iso(10)))
    assert make_feed(page_size=10).sync().applied == {"camera": 2, "camera_removed": 0, "owner_deleted": 0,
                                                       "alert": 1}
    with database.engine.connect() as conn:
        door = camera_by_portal_id(conn, "P-1").id
        dock = camera_by_portal_id(conn, "P-2").id
        [grant] = repo.grants_for_cameras(conn, [door], NOW - timedelta(days=1))
    user = people[Role.DISPATCHER]
    assert viewing.decide(user, door, WHY, NOW - timedelta(minutes=1))[2].rule == Rule.GRANT_NOT_STARTED
    during = viewing.decide(user, door, WHY, NOW + timedelta(minutes=2))[2]
    assert during.allowed and during.grant_id == grant.id and during.expires_at == NOW + timedelta(minutes=10)
    assert viewing.decide(user, dock, WHY, NOW + timedelta(minutes=2))[2].rule == Rule.NO_ALERT
    assert viewing.decide(user, door, WHY, NOW + timedelta(minutes=10))[2].rule == Rule.GRANT_EXPIRED
    [raised] = audit_rows(database, Action.CONSENT_CHANGE)
    assert raised["details"]["portal_alert_id"] == "A-1" and raised["username"].startswith("feed:http://127.0.0.1")

    # Re-sent unchanged: nothing; re-sent with a cancellation: the same grant ends.
    portal.add(alert("A-1", "P-1", iso(0), iso(10)))
    again = make_feed(page_size=10).sync()
    assert (again.applied["alert"], again.unchanged) == (0, 1)
    portal.add(alert("A-1", "P-1", iso(0), iso(10), cancelled_at=iso(4)))
    assert make_feed(page_size=10).sync().applied["alert"] == 1
    assert count(database, ShareGrantRow) == 1
    assert viewing.decide(user, door, WHY, NOW + timedelta(minutes=5))[2].rule == Rule.GRANT_REVOKED
    assert change_kinds(database).count(ChangeKind.GRANT) == 2

    portal.add(alert("A-2", "P-2", iso(0), iso(30), scope="site", source="app"))
    make_feed(page_size=10).sync()
    assert viewing.decide(user, dock, WHY, NOW + timedelta(minutes=20))[2].allowed


def test_items_delivered_again_change_nothing(database, portal, make_feed):
    items = [camera("P-1"), camera("P-2"), alert("A-1", "P-1", iso(0), iso(10)), camera("P-1", sharing_mode="always"),
             {"type": "camera_removed", "portal_id": "P-2"}]
    portal.add(*items)
    feed = make_feed(page_size=2)
    assert feed.sync().error is None
    before = (audit_rows(database), change_kinds(database), camera_rows(database))
    assert before[2]["P-1"].sharing_mode == "always" and before[2]["P-2"].status == "removed"

    portal.add(*items[1:])  # the portal re-sends the latest state of each: nothing is written at all
    again = feed.sync()
    assert again.error is None and again.unchanged == 4 and not any(again.applied.values())
    assert (audit_rows(database), change_kinds(database), camera_rows(database)) == before


def test_reading_the_whole_log_again_ends_in_the_same_registry(database, portal, make_feed):
    portal.add(camera("P-1"), camera("P-2"), alert("A-1", "P-1", iso(0), iso(10)),
               camera("P-1", sharing_mode="always"), {"type": "camera_removed", "portal_id": "P-2"},
               camera("P-3", phone="413-555-0009"), {"type": "owner_deleted", "camera_portal_id": "P-3"})
    feed = make_feed(page_size=3)
    assert feed.sync().error is None

    def state():
        with database.engine.connect() as conn:
            cams = {r.portal_id: (r.status, r.sharing_mode, r.owner_id, r.label)
                    for r in conn.execute(select(CameraRow.__table__))}
            owners = [(r.id, r.contact_ciphertext, r.erased_at) for r in conn.execute(
                select(OwnerRow.__table__).order_by(OwnerRow.id))]
        return cams, owners, count(database, ShareGrantRow)

    before = state()
    feed.reset()
    again = feed.sync()
    assert again.error is None and again.pages == 3 and again.applied["alert"] == 0
    assert state() == before  # the older P-1 entry passes through, P-2 and P-3 stay removed, the owner erased


def test_removal_and_erasure_from_the_feed(database, portal, make_feed):
    # P-1 and P-2: one owner (the same name on the same phone) at two addresses; another name on that phone would be
    # another owner, whose cameras the erasure must not touch (issue 13).
    portal.add(camera("P-1", phone="413-555-0001"),
               camera("P-2", phone="413-555-0001", owner_name="Owner P-1", address="1 Same St"),
               camera("P-3"), {"type": "camera_removed", "portal_id": "P-3"},
               {"type": "owner_deleted", "camera_portal_id": "P-2"},
               {"type": "camera_removed", "portal_id": "P-unknown"})
    summary = make_feed(page_size=10).sync()
    assert summary.error is None and (summary.applied["camera_removed"], summary.applied["owner_deleted"]) == (1, 1)
    assert summary.unchanged == 1  # the camera the registry never had
    rows = camera_rows(database)
    assert {p: r.status for p, r in rows.items()} == {"P-1": "removed", "P-2": "removed", "P-3": "removed"}
    with database.engine.connect() as conn:
        owner = conn.execute(select(OwnerRow.__table__).where(OwnerRow.id == rows["P-1"].owner_id)).one()
    assert owner.erased_at is not None and owner.contact_ciphertext is None and owner.phone_digest is None


def test_a_refused_token_is_one_clear_line_and_no_retries(database, portal, make_feed):
    portal.add(camera("P-1"))
    summary = make_feed(token="wrong-token").sync()
    assert "refused the token (HTTP 401)" in summary.error and "wrong-token" not in summary.error
    assert portal.statuses == [401] and count(database, CameraRow) == 0


def test_two_consoles_syncing_at_once_apply_each_page_once(database, portal, make_feed):
    portal.add(camera("P-1"), camera("P-2"), alert("A-1", "P-1", iso(0), iso(10)))
    first, second = make_feed(page_size=10), make_feed(page_size=10)
    results = []
    portal.before_next_page = lambda: results.append(second.sync())  # the other console, while ours waits
    ours = first.sync()
    [theirs] = results
    assert theirs.error is None and theirs.applied["camera"] == 2 and theirs.applied["alert"] == 1
    assert "another console synced this feed meanwhile" in ours.error and ours.pages == 0
    assert count(database, CameraRow) == 2 and count(database, ShareGrantRow) == 1
    assert len([e for e in audit_rows(database, Action.REGISTRY_CHANGE) if e["outcome"] == Outcome.OK]) == 1
    assert first.sync().error is None  # and ours carries on from where the other one got to


def test_a_cursor_that_does_not_move_is_rejected(database, portal, make_feed):
    portal.add(camera("P-1"), camera("P-2"))
    assert make_feed(page_size=1).sync().cursor == cursor_for(2)
    portal.add(camera("P-3"))
    portal.stuck = True  # hands back the cursor it was asked for, with items: a client would loop forever
    summary = make_feed(page_size=1).sync()
    assert "would never move on" in summary.error and summary.rejected == 1 and summary.cursor == cursor_for(2)
    assert set(camera_rows(database)) == {"P-1", "P-2"}

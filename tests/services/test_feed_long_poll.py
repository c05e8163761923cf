"""The registry feed's long poll (protocol 1.1) against the portal double, and its parsing under hostile pages.

A portal whose pages carry `long_poll_max_s` is asked with `wait=S` (never more than it offered, never more than the
console's own ceiling); the double holds the request until an item arrives, so the runner, whose interval is an
hour here, still applies an owner's alert it publishes while the request is held. A portal without the offer is
read at the interval and never sent `wait`. A page whose offer breaks the protocol is rejected whole.
"""

from __future__ import annotations

import json
import queue
import threading
from datetime import datetime, timedelta, timezone

import pytest

from console.services.registry_feed import (
    MAX_PAGE_BYTES,
    FeedHttp,
    FeedOptions,
    FeedRunner,
    PageRejected,
    RegistryFeed,
    decode_page,
    long_poll_offer,
    retry_after,
)
from console.store.alerts import camera_by_portal_id, grant_by_external_id
from tests.support.portal_server import PortalServer, alert, camera, cursor_for

TOKEN = "feed-token-long-poll-7"
WAIT_S = 30.0  # only how long a broken test takes to fail, never a measured time
HOUR = 3600.0


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def page(**extra) -> bytes:
    return json.dumps({"items": [], "next_cursor": "c-1", "has_more": False, **extra}).encode()


# --- the offer, as untrusted input ------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(None, 0), (0, 0), (1, 1), (30, 30), (25.0, 25)])
def test_a_valid_offer_is_read(value, expected):
    assert decode_page(page(long_poll_max_s=value), None).long_poll_max_s == expected


def test_no_offer_is_no_long_poll():
    assert decode_page(page(), None).long_poll_max_s == 0
    assert long_poll_offer([]) == 0


@pytest.mark.parametrize("value", [-1, 31, 10 ** 400, 1.5, "10", "", True, False, [], {}, [10], {"s": 5}])
def test_a_bad_offer_rejects_the_page_with_a_sentence(value):
    with pytest.raises(PageRejected) as caught:
        decode_page(page(long_poll_max_s=value), "pos-000001")
    text = str(caught.value)
    assert "long_poll_max_s" in text and "pos-000001" in text and "Traceback" not in text and len(text) < 400


@pytest.mark.parametrize("raw", [b'{"items": [], "next_cursor": "c", "has_more": false, "long_poll_max_s": NaN}',
                                 b'{"items": [], "next_cursor": "c", "has_more": false, "long_poll_max_s": Infinity}',
                                 b'{"items": [], "next_cursor": "c", "has_more": false, "long_poll_max_s": -Infinity}'])
def test_not_a_number_is_refused(raw):
    with pytest.raises(PageRejected, match="long_poll_max_s"):
        decode_page(raw, None)


@pytest.mark.parametrize("raw, words", [
    (b"\xff\xfe{}", "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    (b"", "not JSON"),
    (b'{"items": [], "next_cursor": "c", "has_more": false, "long_poll_max_s": 5', "not JSON"),
    (b'"just a string"', "rejected"),
    (b'{"items": {}, "next_cursor": "c", "has_more": false, "long_poll_max_s": 5}', "rejected"),
])
def test_hostile_bodies_are_refused_with_a_sentence(raw, words):
    with pytest.raises(PageRejected) as caught:
        decode_page(raw, None)
    assert words in str(caught.value) and len(str(caught.value)) < 500


def test_an_oversized_body_is_refused_before_parsing():
    with pytest.raises(PageRejected, match="larger than"):
        decode_page(b" " * (MAX_PAGE_BYTES + 1), None)


@pytest.mark.parametrize("value, expected", [("0", 0.0), ("7", 7.0), (" 3 ", 3.0), (None, None), ("", None),
                                             ("soon", None), ("-5", None), ("1e9", None), ("\x00\xff", None),
                                             ("Wed, 02 Dec 2026 14:00:10 GMT", 10.0),
                                             ("Wed, 02 Dec 2026 13:00:00 GMT", 0.0), ("x" * 10_000, None)])
def test_retry_after_as_untrusted_input(value, expected):
    now = datetime(2026, 12, 2, 14, 0, 0, tzinfo=timezone.utc)
    assert retry_after(value, now) == expected


# --- against the portal double -----------------------------------------------------------------------------


def make_feed(database, audit, cipher, portal, **options) -> RegistryFeed:
    options = {"attempts": 2, "backoff_s": 0.01, "max_backoff_s": 0.02, "connect_timeout_s": 2, "read_timeout_s": 5,
               **options}
    return RegistryFeed(database, audit, cipher, FeedHttp(portal.base_url, TOKEN, FeedOptions(**options)),
                        workstation="rtic-ws-lp")


def test_wait_is_sent_only_after_the_offer_and_never_above_it(database, audit, cipher):
    with PortalServer(token=TOKEN, long_poll_max_s=2) as portal:
        portal.add(camera("P-1"))
        feed = make_feed(database, audit, cipher, portal, long_poll_s=25)
        first = feed.sync(wait=25)  # nothing known of the portal yet: no wait on the first request
        assert first.error is None and first.long_poll_max_s == 2 and feed.long_poll_max_s == 2
        assert portal.requests[0]["wait"] is None
        portal.add(camera("P-2"))
        feed.sync(wait=25)
        assert {r["wait"] for r in portal.requests[1:]} == {"2"}  # the portal's offer, not the console's 25
        feed.http.close()


def test_the_console_never_asks_more_than_its_own_ceiling(database, audit, cipher):
    with PortalServer(token=TOKEN, long_poll_max_s=30) as portal:
        portal.add(camera("P-1"))
        feed = make_feed(database, audit, cipher, portal, long_poll_s=1)
        feed.sync(wait=30)
        feed.sync(wait=30)
        assert portal.requests[-1]["wait"] == "1"
        feed.http.fetch(cursor_for(1), wait=10 ** 6)  # a caller's nonsense is capped as well
        assert portal.requests[-1]["wait"] == "1"
        feed.http.close()


def test_a_portal_without_the_offer_is_never_sent_wait(database, audit, cipher):
    with PortalServer(token=TOKEN) as portal:
        portal.add(camera("P-1"))
        feed = make_feed(database, audit, cipher, portal)
        runner = FeedRunner(feed, interval_s=HOUR)
        for _ in range(3):
            assert runner.run_once().error is None
        assert runner.mode == "interval" and {r["wait"] for r in portal.requests} == {None}
        feed.http.close()


def test_a_bad_offer_keeps_the_cursor_before_the_page(database, audit, cipher):
    with PortalServer(token=TOKEN) as portal:
        portal.add(camera("P-1"))
        portal.extra = {"long_poll_max_s": 3600}
        feed = make_feed(database, audit, cipher, portal)
        summary = feed.sync()
        assert summary.rejected == 1 and "long_poll_max_s" in summary.error and feed.position()[0] is None
        with database.engine.connect() as conn:
            assert camera_by_portal_id(conn, "P-1") is None  # nothing of the page was applied
        portal.extra = {}
        assert feed.sync().error is None and feed.position()[0] == cursor_for(1)
        feed.http.close()


def test_the_runner_long_polls_and_applies_an_alert_while_held(database, audit, cipher):
    now = datetime.now(timezone.utc)
    with PortalServer(token=TOKEN, long_poll_max_s=5) as portal:
        portal.add(camera("P-1"))
        summaries: queue.Queue = queue.Queue()
        runner = FeedRunner(make_feed(database, audit, cipher, portal), interval_s=HOUR, on_sync=summaries.put)
        runner.start()
        try:
            assert summaries.get(timeout=WAIT_S).applied["camera"] == 1
            assert portal.wait_until_held(WAIT_S), "the runner never waited at the portal"
            assert runner.mode == "long_poll"
            portal.add(alert("A-LP-1", "P-1", iso(now), iso(now + timedelta(minutes=30))))
            # The interval is an hour: only the held request can bring the alert in.
            while True:
                summary = summaries.get(timeout=WAIT_S)
                if summary.applied["alert"]:
                    break
            with database.engine.connect() as conn:
                assert grant_by_external_id(conn, "A-LP-1") is not None
            held = [r for r in portal.requests if r["wait"] == "5"]
            assert held, portal.requests
        finally:
            runner.stop()
        assert not runner.running


def test_stop_does_not_wait_for_a_held_long_poll(database, audit, cipher):
    with PortalServer(token=TOKEN, long_poll_max_s=30) as portal:
        portal.add(camera("P-1"))
        summaries: queue.Queue = queue.Queue()
        runner = FeedRunner(make_feed(database, audit, cipher, portal, long_poll_s=30), interval_s=HOUR,
                            on_sync=summaries.put)
        runner.start()
        summaries.get(timeout=WAIT_S)
        assert portal.wait_until_held(WAIT_S)
        thread = runner._thread
        done = threading.Event()
        threading.Thread(target=lambda: (runner.stop(), done.set()), daemon=True).start()
        # stop() returns while the portal still holds the request (it would hold it for 30 s).
        assert done.wait(WAIT_S) and portal.held == 1
        portal.add(camera("P-2"))  # the held request is answered now; the stopped runner applies nothing
        thread.join(WAIT_S)
        assert not thread.is_alive()
        with database.engine.connect() as conn:
            assert camera_by_portal_id(conn, "P-2") is None


def test_hold_ends_at_the_wait_with_an_empty_page(database, audit, cipher):
    with PortalServer(token=TOKEN, long_poll_max_s=1) as portal:
        portal.add(camera("P-1"))
        feed = make_feed(database, audit, cipher, portal)
        feed.sync(wait=1)
        summary = feed.sync(wait=1)  # held for up to 1 s, then the end of the log
        assert summary.error is None and not any(summary.applied.values())
        assert portal.statuses[-1] in (200, 304) and portal.requests[-1]["wait"] == "1"
        feed.http.close()

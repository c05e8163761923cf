"""The registry feed in the background (FeedRunner, runner_from_settings) against the local portal double: a page
the portal publishes is applied within the runner's interval, failures are logged and tried again, stop() ends
even a retry wait, and no setting means no runner."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from console.services.registry_feed import FeedHttp, FeedOptions, FeedRunner, RegistryFeed, runner_from_settings
from console.settings import Settings
from console.store.alerts import camera_by_portal_id
from tests.support.portal_server import PortalServer, camera

TOKEN = "feed-token-runner-51"
WAIT_S = 30.0  # generous: only how long a broken test takes to fail, never a measured time


@pytest.fixture
def portal():
    with PortalServer(token=TOKEN) as server:
        yield server


def known(database, portal_id: str) -> bool:
    with database.engine.connect() as conn:
        return camera_by_portal_id(conn, portal_id) is not None


def test_no_feed_url_no_runner(database, audit, cipher):
    assert runner_from_settings(database, audit, cipher, Settings()) is None


def test_the_runner_applies_what_the_portal_publishes_and_stops_cleanly(database, audit, cipher, portal):
    portal.add(camera("P-1"), camera("P-2"))
    settings = Settings({"feed_url": portal.base_url, "feed_interval_s": 5.0, "feed_token_env": "TEST_FEED_TOKEN"})
    summaries: queue.Queue = queue.Queue()
    runner = runner_from_settings(database, audit, cipher, settings, on_sync=summaries.put,
                                  environ={"TEST_FEED_TOKEN": TOKEN})
    assert runner is not None and runner.interval_s == 5.0
    runner.start()
    try:
        first = summaries.get(timeout=WAIT_S)  # the first sync runs at once
        assert first.error is None and first.applied["camera"] == 2
        assert known(database, "P-1") and known(database, "P-2")
        portal.add(camera("P-3"))
        second = summaries.get(timeout=WAIT_S)  # the next one within the interval
        assert second.error is None and second.applied["camera"] == 1 and known(database, "P-3")
        assert portal.requests[-1]["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert "registry-feed" in portal.requests[-1]["headers"]["User-Agent"]
    finally:
        runner.stop()
    assert not runner.running
    assert not any(t.name == "registry-feed" and t.is_alive() for t in threading.enumerate())


def make_runner(database, audit, cipher, portal, interval_s: float, on_sync, **options) -> FeedRunner:
    options = {"attempts": 2, "backoff_s": 0.01, "max_backoff_s": 0.02, "connect_timeout_s": 2,
               "read_timeout_s": 5, **options}
    http = FeedHttp(portal.base_url, TOKEN, FeedOptions(**options))
    return FeedRunner(RegistryFeed(database, audit, cipher, http, workstation="rtic-ws-9"), interval_s, on_sync)


def test_a_failed_sync_is_logged_and_tried_again(database, audit, cipher, portal, caplog):
    portal.add(camera("P-1"))
    portal.fail("status", 503, times=2)  # both attempts of the first sync
    summaries: queue.Queue = queue.Queue()
    runner = make_runner(database, audit, cipher, portal, 0.05, summaries.put)
    runner.start()
    try:
        failed = summaries.get(timeout=WAIT_S)
        assert failed.error and "did not answer" in failed.error
        later = summaries.get(timeout=WAIT_S)
        assert later.error is None and known(database, "P-1")
    finally:
        runner.stop()
    assert "did not answer" in caplog.text and TOKEN not in caplog.text


def test_an_unexpected_error_does_not_end_the_runner(database, audit, cipher, portal, monkeypatch):
    portal.add(camera("P-1"))
    summaries: queue.Queue = queue.Queue()
    runner = make_runner(database, audit, cipher, portal, 0.05, summaries.put)
    real_sync, calls = runner.feed.sync, []

    def broken_once(**how):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in one pass")
        return real_sync(**how)

    monkeypatch.setattr(runner.feed, "sync", broken_once)
    runner.start()
    try:
        assert "RuntimeError" in summaries.get(timeout=WAIT_S).error
        assert summaries.get(timeout=WAIT_S).error is None and known(database, "P-1")
    finally:
        runner.stop()


def test_stop_ends_a_retry_wait(database, audit, cipher, portal):
    portal.fail("status", 503, times=100)
    summaries: queue.Queue = queue.Queue()
    runner = make_runner(database, audit, cipher, portal, 60.0, summaries.put, attempts=5, backoff_s=120.0,
                         max_backoff_s=120.0)
    runner.start()
    for _ in range(1500):  # until the first request is in (the client then sleeps before its retry)
        if portal.requests:
            break
        time.sleep(0.02)
    runner.stop(timeout=WAIT_S)  # a client asleep for 60-120 s before its retry would outlast this
    assert not runner.running
    assert "stopped" in summaries.get(timeout=WAIT_S).error

"""Follow the shared registry's change feed so every console shows other consoles' changes within seconds.

PostgreSQL: a dedicated connection LISTENs on the change channel; a NOTIFY (sent when a writer commits) wakes the
follower at once, and it then reads every change after the last one it saw. SQLite: the follower polls the newest
change number (one index lookup) every `poll_interval` seconds. Either way the follower hands batches of changes,
in commit order, to `on_changes`, and reports whether the database answers through `on_state` — on its own
thread, never the caller's: a GUI forwards both to its own thread.
"""

from __future__ import annotations

import logging
from typing import Callable

from console.domain.changes import Change
from console.errors import first_line
from console.services.background import BackgroundLoop
from console.store import changes as store
from console.store.db import Database
from console.store.transactions import StoreError

log = logging.getLogger(__name__)

ChangesCallback = Callable[[list[Change]], None]
StateCallback = Callable[[bool, str], None]  # (online, why)


class ChangeFollower(BackgroundLoop):
    """A thread that follows the change feed from the newest change at start; `stop()` ends it."""

    def __init__(self, database: Database, on_changes: ChangesCallback | None = None,
                 on_state: StateCallback | None = None, poll_interval: float = 1.0, max_backoff: float = 30.0):
        """The callbacks may be set before `start()` by whoever shows the changes (console/gui/live_updates.py)."""
        self.database = database
        self.on_changes = on_changes or (lambda batch: None)
        self.on_state = on_state or (lambda online, why: None)
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.last_seq: int | None = None
        self.online: bool | None = None
        self.server = ""  # the server the feed is read from ("host:port"), set each time it comes online
        super().__init__()
        self._listener = None  # the psycopg connection LISTENing (PostgreSQL)

    thread_name = "change-follower"

    @property
    def how(self) -> str:
        """How changes arrive, in the words of the status bar."""
        if self.database.dialect == "postgresql":
            return "live (LISTEN/NOTIFY)"
        return f"polling every {self.poll_interval:g} s"

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        self._close_listener()

    # --- the loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.poll_interval
        while not self._stop.is_set():
            try:
                if self.online is not True:  # starting, or back after a lost connection (perhaps a failover)
                    self._reconnected()
                self._catch_up()
                self._set_state(True, "")
                backoff = self.poll_interval
                self._wait()
            except (StoreError, OSError, _driver_errors()) as exc:
                self._close_listener()
                self._set_state(False, first_line(exc))
                self._stop.wait(backoff)
                backoff = min(self.max_backoff, backoff * 2)
            except Exception:  # noqa: BLE001 - a bug in a callback must not end the feed for this console
                log.exception("change feed callback failed")
                self._stop.wait(self.poll_interval)

    def _reconnected(self) -> None:
        """Which server answers now (a multi-host URL: after a failover, the promoted standby), and whether its feed
        is behind the last change seen (changes the old primary had not yet sent its standby: asynchronous
        replication). Then the follower goes on from the new server's newest change instead of waiting forever."""
        self.server = self.database.server() if self.database.dialect == "postgresql" else ""
        if self.last_seq is None:
            return
        with self.database.reader.connect() as conn:
            newest = store.latest_seq(conn)
        if newest < self.last_seq:
            log.warning("the change feed on %s ends at change %d, before the last one seen (%d): changes were lost "
                        "in a failover; following from there", self.server, newest, self.last_seq)
            self.last_seq = newest

    def _catch_up(self) -> None:
        with self.database.reader.connect() as conn:
            if self.last_seq is None:
                self.last_seq = store.latest_seq(conn)
                return
            while True:
                batch = store.changes_since(conn, self.last_seq)
                if not batch:
                    return
                self.last_seq = batch[-1].seq
                self.on_changes(batch)

    def _wait(self) -> None:
        """Until a change may have committed (PostgreSQL: a NOTIFY; SQLite: a newer change number) or stop."""
        if self.database.dialect == "postgresql":
            listener = self._listen()
            # A short timeout: stop() is noticed quickly and a missed NOTIFY costs at most this long.
            for _notice in listener.notifies(timeout=self.poll_interval, stop_after=1):
                pass
            return
        while not self._stop.wait(self.poll_interval):
            with self.database.reader.connect() as conn:
                if store.latest_seq(conn) > (self.last_seq or 0):
                    return

    def _listen(self):
        if self._listener is None:
            self._listener = store.listen(self.database)
        return self._listener

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.close()
            except Exception:  # noqa: BLE001 - already broken; nothing more to do
                pass

    def _set_state(self, online: bool, why: str) -> None:
        if online != self.online:
            self.online = online
            self.on_state(online, why)


def _driver_errors() -> type[BaseException]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return OSError
    return psycopg.Error

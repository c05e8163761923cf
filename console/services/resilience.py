"""Keeping the audit trail whole when the database is away: an audit sink that falls back to the local journal, the
console's connectivity state (online or offline, since when, why), and a background flusher that writes the journal
back into the chain when the database answers again.

No Qt here: the GUI subscribes with `Connectivity.subscribe(callback)`; callbacks run on whichever thread noticed
the change (the flusher's, or the caller's of `append`), so a Qt listener must hop to the GUI thread itself.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from console.domain.audit import AuditEntry, AuditRecord
from console.errors import first_line
from console.services.background import BackgroundLoop
from console.store.audit import AuditLog, AuditUnavailable, connection_lost
from console.store.journal import AuditJournal, FlushResult, JournalEntry, with_journal_id
from console.store.transactions import StoreError, answers

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ConnectivityState:
    """What other code shows: online or not, since when, the last error, how many events wait in the journal."""

    online: bool
    since: datetime
    last_error: str = ""
    pending: int = 0

    def describe(self) -> str:
        if self.online:
            return "online" + (f" ({self.pending} journaled events still to write)" if self.pending else "")
        return f"offline since {self.since.astimezone():%H:%M}: {self.last_error}"


class Connectivity:
    """The observable online/offline state. `subscribe(callback)` returns a function that unsubscribes."""

    def __init__(self, clock: Callable[[], datetime] = _utcnow):
        self._clock = clock
        self._lock = threading.Lock()
        self._state = ConnectivityState(True, clock())
        self._listeners: list[Callable[[ConnectivityState], None]] = []

    @property
    def state(self) -> ConnectivityState:
        return self._state

    @property
    def online(self) -> bool:
        return self._state.online

    def subscribe(self, callback: Callable[[ConnectivityState], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)
        return unsubscribe

    def went_offline(self, error: str) -> None:
        self._set(False, error)

    def came_online(self, pending: int = 0) -> None:
        self._set(True, "", pending)

    def pending_changed(self, pending: int) -> None:
        """How many events wait in the local journal now (the status bar shows it)."""
        state = self.state
        self._set(state.online, state.last_error, pending)

    def _set(self, online: bool, error: str, pending: int | None = None) -> None:
        with self._lock:
            old = self._state
            since = old.since if old.online == online else self._clock()
            new = ConnectivityState(online, since, error if not online else "",
                                    old.pending if pending is None else pending)
            if new == old:
                return
            self._state = new
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(new)
            except Exception:  # a broken listener must not stop the audit path
                log.exception("connectivity listener failed")


@dataclass(frozen=True)
class Appended:
    """Where an event went: `record` when in the database, `journaled` when in the local journal."""

    record: AuditRecord | None = None
    journaled: JournalEntry | None = None

    @property
    def outcome(self) -> str:
        return "journaled" if self.journaled is not None else "stored"


class ResilientAudit(BackgroundLoop):
    """`append(entry)`: the database when it answers, else (connection lost only) the local journal.

    A store that refuses the event (a trigger, a full disk on the server) is not a lost connection: that still
    raises AuditUnavailable, as does bad input (UserError). While journaled events wait, new events are journaled
    behind them, so the chain receives everything in the order it happened.
    """

    def __init__(self, audit: AuditLog, journal: AuditJournal, connectivity: Connectivity | None = None,
                 clock: Callable[[], datetime] = _utcnow, ping_interval_s: float = 2.0, max_backoff_s: float = 30.0,
                 heartbeat_s: float = 15.0):
        self.audit = audit
        self.journal = journal
        self.connectivity = connectivity or Connectivity(clock)
        self.clock = clock
        self._lock = threading.RLock()  # one append or flush at a time, so the order is kept
        self._ping_interval = ping_interval_s
        self._max_backoff = max_backoff_s
        self._heartbeat = heartbeat_s
        super().__init__()
        self._pending_known = journal.pending_count()
        # A journal on disk is checked (and its findings reported) at the first contact, even with nothing pending:
        # an attacker's "flushed" marks or a deleted tail leave nothing pending.
        self._unchecked = journal.path.exists()

    # --- appending --------------------------------------------------------------------------------

    def append(self, entry: AuditEntry) -> Appended:
        with self._lock:
            if self.connectivity.online and (self._pending_known or self._unchecked):
                self._try_flush()  # older journaled events go first
            entry, _ = with_journal_id(entry)
            occurred_at = self.clock()
            if self.connectivity.online and not self._pending_known:
                try:
                    return Appended(record=self.audit.append(entry, occurred_at=occurred_at))
                except AuditUnavailable as exc:
                    if not exc.connection_lost:
                        raise
                    self._offline(str(exc))
            return Appended(journaled=self.journal_only(entry, occurred_at))

    def journal_only(self, entry: AuditEntry, occurred_at: datetime | None = None) -> JournalEntry:
        """Write straight to the journal (raises JournalUnavailable when even that fails)."""
        with self._lock:
            item = self.journal.record(entry, occurred_at or self.clock())
            self._pending_known += 1
            self.connectivity.pending_changed(self._pending_known)
            self._wake.set()
            return item

    # --- flushing ---------------------------------------------------------------------------------

    def flush(self) -> FlushResult | None:
        """Write the journal into the database now; None when the database is still away."""
        with self._lock:
            return self._try_flush()

    def _try_flush(self) -> FlushResult | None:
        try:
            result = self.journal.flush(self.audit)
        except AuditUnavailable as exc:
            if exc.connection_lost:
                self._pending_known = self.journal.pending_count()
                self._offline(str(exc))
                return None
            raise
        self._pending_known = result.pending
        self._unchecked = False
        self.connectivity.came_online(result.pending)
        if result.tampered:
            log.warning("audit journal failed its check: %s", "; ".join(f.what for f in result.tampered))
        if result.appended or result.already_stored:
            log.info("audit journal flushed: %d appended, %d already stored", result.appended, result.already_stored)
        return result

    def report_offline(self, error: str) -> None:
        """Another part of the console found the database away: say so, and let the flusher look for it."""
        self._offline(error)

    def _offline(self, error: str) -> None:
        self.connectivity.went_offline(error)
        self._wake.set()

    def ping(self) -> bool:
        """Whether the database answers now (a cheap SELECT 1)."""
        try:
            answers(self.audit.database)
            return True
        except StoreError as exc:
            if connection_lost(exc):
                self._offline(f"the database does not answer: {first_line(exc)}")
            return False

    # --- the background thread --------------------------------------------------------------------

    # start() runs the flusher: while offline (or events wait), ping with backoff; flush once the database answers.
    thread_name = "audit-journal-flusher"

    def _run(self) -> None:
        delay = self._ping_interval
        while not self._stop.is_set():
            idle = self.connectivity.online and not self._pending_known and not self._unchecked
            self._wake.wait(self._heartbeat if idle else delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            if self.connectivity.online and not self._pending_known and not self._unchecked:
                self.ping()  # a heartbeat, so the console says it is offline before anyone tries to write
                delay = self._ping_interval
                continue
            try:
                ok = self.ping() and self.flush() is not None
            except Exception:  # never let the flusher die: say why and try again later
                log.exception("flushing the audit journal failed")
                ok = False
            delay = self._ping_interval if ok else min(delay * 2, self._max_backoff)

"""Slow work off the GUI thread: a QThreadPool runnable whose result comes back to Qt through a signal.

`Tasks.run(channel, fn, ...)` starts `fn` on the pool; only the newest request on a channel is delivered, so a
late answer for a superseded incident or camera never overwrites the current one.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from console.errors import UserError

log = logging.getLogger(__name__)


class _Relay(QObject):
    sig_finished = Signal(str, int, object)
    """(channel, ticket, (result, error message or None)), from the worker to the GUI thread.

    One tuple, never a bare None: PySide6 mis-counts references to None passed through a queued `object`
    argument, and Python then aborts at exit ("none_dealloc")."""


class _Job(QRunnable):
    def __init__(self, relay: _Relay, channel: str, ticket: int, fn: Callable[[], Any]):
        super().__init__()
        self.relay, self.channel, self.ticket, self.fn = relay, channel, ticket, fn

    def run(self) -> None:
        try:
            result, error = self.fn(), None
        except UserError as exc:
            result, error = None, str(exc)
        except Exception:  # never a traceback to the user: log it, say something actionable
            log.exception("background task %s failed", self.channel)
            result, error = None, "something went wrong in the background; the details are in the console's log file"
        self.relay.sig_finished.emit(self.channel, self.ticket, (result, error))


class Tasks(QObject):
    """One per window: starts jobs, delivers the newest result per channel to its callbacks."""

    sig_busy_changed = Signal(bool)
    """True while any job runs (the status bar shows it)."""

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None):
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._relay = _Relay()
        self._relay.sig_finished.connect(self._finished)
        self._tickets = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._callbacks: dict[int, tuple[Callable, Callable | None]] = {}
        self._closed = False

    def run(self, channel: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
            on_error: Callable[[str], None] | None = None) -> int:
        ticket = next(self._tickets)
        self._latest[channel] = ticket
        self._callbacks[ticket] = (on_done, on_error)
        self.sig_busy_changed.emit(True)
        self.pool.start(_Job(self._relay, channel, ticket, fn))
        return ticket

    def pending(self) -> int:
        return len(self._callbacks)

    def close(self) -> None:
        """Ignore every late result (the window is closing); wait for running jobs so none outlives it."""
        self._closed = True
        self.pool.waitForDone(10_000)

    def _finished(self, channel: str, ticket: int, outcome: tuple[Any, str | None]) -> None:
        result, error = outcome
        on_done, on_error = self._callbacks.pop(ticket, (None, None))
        if not self._callbacks:
            self.sig_busy_changed.emit(False)
        if self._closed or on_done is None or self._latest.get(channel) != ticket:
            return  # superseded: a newer request on this channel is under way or done
        if error is None:
            on_done(result)
        elif on_error is not None:
            on_error(error)

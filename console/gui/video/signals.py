"""A guard for PySide6 6.12.0 on Python 3.11, which drops references to None and True it never took.

Measured here: every void method (update(), setPen(), QTimer.stop(), QEventLoop.exec()...) takes one reference
from None, and every Signal.emit() one from True. Python 3.12+ makes those objects immortal so nothing happens
there; on 3.11 a video wall (hundreds of such calls a second) aborts within minutes with "none_dealloc" or
"bool_dealloc". `install()` measures the bug and, only when present, gives None, True and False a reference
count no program can exhaust (what 3.12 does for all of them). `emit()` makes sure it has run.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QTimer, Signal

_state: dict[str, bool] = {}
_RESERVE = 1 << 40


class _Probe(QObject):
    sig_probe = Signal()
    """Emitted only by the self-test."""


def _steals(obj, action, n: int = 50) -> bool:
    before = sys.getrefcount(obj)
    for _ in range(n):
        action()
    return before - sys.getrefcount(obj) >= n


def install() -> bool:
    """Detect the PySide6 reference bug and neutralise it; True when it was present. Safe to call often."""
    if "present" not in _state:
        present = False
        if sys.version_info < (3, 12) and sys.implementation.name == "cpython":
            timer, probe = QTimer(), _Probe()
            present = _steals(None, timer.stop) or _steals(True, probe.sig_probe.emit)
            if present:
                for obj in (None, True, False):
                    # ob_refcnt is the first field of every CPython object.
                    ctypes.c_ssize_t.from_address(id(obj)).value += _RESERVE
        _state["present"] = present
    return _state["present"]


def emit(signal, *args):
    install()
    return signal.emit(*args)


install()

"""A guard for PySide6 6.12.0 on Python 3.11: its calls return None and True without taking a reference.

Measured here: every call of a void Qt method (processEvents, QTimer.start, runJavaScript ...) takes one reference
from None, and every Signal.emit() one from True. Python 3.12+ makes these objects immortal, so nothing happens
there; on 3.11 a long shift (or a test run) ends with "Fatal Python error: none_dealloc". The guard gives None,
True and False a reference count so large (2**40) that no session can use it up, which is what Python 3.12
does for immortal objects. It acts only when the fault is measured, so a fixed PySide6 makes it a no-op.
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40
_state = {"checked": False, "applied": False}


def _faulty() -> bool:
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        sig_probe = Signal()
        """Emitted only by this check."""

    probe = Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(16):
        probe.setObjectName("probe")  # a void method: returns None
    kept = [probe.sig_probe.emit() for _ in range(16)]  # keep the results so only lost references show
    none_lost = sys.getrefcount(None) < none_before
    true_lost = sys.getrefcount(True) - kept.count(True) < true_before
    return none_lost or true_lost


def guard_singletons() -> bool:
    """Apply the guard once per process when needed; True when it was applied."""
    if not _state["checked"]:
        _state["checked"] = True
        if sys.version_info < (3, 12) and sys.implementation.name == "cpython" and _faulty():
            for obj in (None, True, False):
                ctypes.c_ssize_t.from_address(id(obj)).value += _HEADROOM
            _state["applied"] = True
    return _state["applied"]

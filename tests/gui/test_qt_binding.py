"""The Qt binding keeps Python's reference counts: PySide6 6.12.0 on Python 3.11 did not (see pyproject.toml).

A binding that loses a reference to None on every void call, or to True on every emit, aborts the interpreter
("Fatal Python error: none_dealloc") within minutes of a dispatcher's shift. This fails before that can ship.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Source(QObject):
    sig_tick = Signal(int)
    """A tick, for counting references."""


def test_void_calls_and_emits_keep_none_and_true_alive(qapp):
    source = _Source()
    source.sig_tick.connect(lambda n: None)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    results = []
    for n in range(2000):
        results.append(source.setObjectName("probe"))  # returns None
        results.append(source.sig_tick.emit(n))  # returns True
        qapp.processEvents()
    none_kept = sys.getrefcount(None) - results.count(None)
    true_kept = sys.getrefcount(True) - results.count(True)
    assert none_kept >= none_before - 50, f"None lost {none_before - none_kept} references over 2000 void calls"
    assert true_kept >= true_before - 50, f"True lost {true_before - true_kept} references over 2000 emits"

"""The PySide6 reference guard: thousands of emits and void calls leave Python alive and None/True intact."""

import sys

from PySide6.QtCore import QObject, QTimer, Signal

from console.gui.video.signals import emit, install


class _Source(QObject):
    sig_value = Signal(int)
    """Test signal."""


def test_thousands_of_emits_and_void_calls_are_survivable(qtbot):
    install()
    source, got, timer = _Source(), [], QTimer()
    source.sig_value.connect(got.append)
    for i in range(20000):
        emit(source.sig_value, i)
        timer.stop()
    assert len(got) == 20000
    # Either the bug is absent, or the guard gave None/True far more references than any program takes.
    assert not install() or (sys.getrefcount(None) > 1 << 39 and sys.getrefcount(True) > 1 << 39)

"""The guard against PySide6's lost references to None and True keeps a long session from aborting."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication
    # More void calls and emits than None and True have references in a fresh interpreter.
    calls = sys.getrefcount(None) + sys.getrefcount(True) + 1000
    if sys.argv[1] == "guarded":
        from console.gui.refcount_guard import guard_singletons
        guard_singletons()
    app = QApplication([])

    class Source(QObject):
        sig_tick = Signal(int)
        \"\"\"A tick.\"\"\"

    source = Source()
    source.sig_tick.connect(lambda n: None)
    for n in range(calls):
        app.processEvents()
        source.sig_tick.emit(n)
    print("survived", flush=True)
""")


def run_session(mode: str, tmp_path):
    script = tmp_path / "session.py"
    script.write_text(SCRIPT)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}  # this checkout, not an installed copy
    result = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, timeout=120,
                            cwd=str(root), env=env)
    return result


def test_without_the_guard_pyside_aborts_python(tmp_path):
    from console.gui.refcount_guard import _faulty

    if sys.version_info >= (3, 12) or not _faulty():
        pytest.skip("this PySide6/Python pair keeps its references: the guard has nothing to do")
    result = run_session("unguarded", tmp_path)
    assert result.returncode != 0 and "dealloc" in result.stderr


def test_with_the_guard_a_long_session_survives(tmp_path):
    result = run_session("guarded", tmp_path)
    assert result.returncode == 0, result.stderr[-500:]
    assert "survived" in result.stdout

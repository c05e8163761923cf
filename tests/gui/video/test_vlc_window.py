"""libVLC draws a real HLS stream into a Qt native window (set_xwindow) under Xvfb, in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.backends import require

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
pytestmark = pytest.mark.gui


@pytest.fixture
def xvfb_display():
    require("vlc")
    require("xvfb")
    require("ffmpeg")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        display = os.read(read_end, 16).decode().strip()  # Xvfb writes it once it accepts clients
        assert display and server.poll() is None, "Xvfb did not start"
        yield f":{display}"
    finally:
        server.kill()
        server.wait()
        os.close(read_end)  # only now: Xvfb dies of SIGPIPE if it finds the pipe closed


def test_libvlc_draws_into_a_native_window(tmp_path, xvfb_display):
    from tests.support.hls_stream import HlsStream

    stream = HlsStream(tmp_path).start()
    try:
        env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", PYTHONPATH=ROOT)
        run = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "support", "vlc_window_stream.py"),
                              stream.url], env=env, capture_output=True, text=True, timeout=90)
    finally:
        stream.stop()
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["state"] == "live" and result["frames"] >= 25 and result["codec"] == "h264"
    assert result["colours"] > 20  # the window shows the test pattern, not a black rectangle

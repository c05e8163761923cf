"""Start and stop the webrtcbin WHEP endpoint (tests/support/webrtcbin_whep_server.py) as a /usr/bin/python3 child."""

from __future__ import annotations

import os
import select
import subprocess
import time
import urllib.request

from tests.support.rtsp_stream import SYSTEM_PYTHON, _die_with_parent

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "webrtcbin_whep_server.py")


def webrtcbin_missing() -> str | None:
    check = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('Gst', '1.0'); "
                            "gi.require_version('GstWebRTC', '1.0'); from gi.repository import Gst, GstWebRTC; "
                            "Gst.init(None); assert Gst.ElementFactory.find('webrtcbin'); "
                            "assert Gst.ElementFactory.find('nicesrc')"], capture_output=True)
    return None if check.returncode == 0 else ("GStreamer's webrtcbin is not installed (gstreamer1.0-plugins-bad, "
                                               "gstreamer1.0-nice, gir1.2-gst-plugins-bad-1.0)")


class WebrtcbinWhep:
    def __init__(self):
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> "WebrtcbinWhep":
        self.proc = subprocess.Popen([SYSTEM_PYTHON, SERVER, "--port", "0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, preexec_fn=_die_with_parent)
        deadline, line = time.monotonic() + timeout, ""
        while time.monotonic() < deadline and not line.startswith("READY"):
            if select.select([self.proc.stdout], [], [], 0.1)[0]:
                line = self.proc.stdout.readline()
                if not line and self.proc.poll() is not None:
                    break
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError("the webrtcbin WHEP endpoint did not start")
        self.port = int(line.split()[1])
        return self

    def url(self, codec: str = "h264") -> str:
        return f"http://127.0.0.1:{self.port}/whep/{codec}"

    def open_sessions(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/sessions", timeout=5) as resp:
            return int(resp.read())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

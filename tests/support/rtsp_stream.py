"""Start and stop the GStreamer RTSP test server (tests/support/rtsp_server.py) as a /usr/bin/python3 subprocess."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from urllib.parse import quote

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # GStreamer's GI bindings exist only for Debian's Python


def gstreamer_missing() -> str | None:
    """Why the RTSP test server cannot run here, or None."""
    if not os.path.exists(SYSTEM_PYTHON):
        return "Debian's /usr/bin/python3 is missing"
    check = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True)
    return None if check.returncode == 0 else "GStreamer's RTSP server bindings are not installed"


def _die_with_parent() -> None:
    """Linux: the server is killed when the test process dies, even by a crash that skips teardown."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class RtspServer:
    def __init__(self, *args: str, user: str | None = None, password: str | None = None):
        self.args = list(args)
        self.user, self.password = user, password
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> "RtspServer":
        cmd = [SYSTEM_PYTHON, SERVER, "--port", str(self.port), *self.args]
        if self.user:
            cmd += ["--user", self.user, "--password", self.password or ""]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and not line.startswith("READY"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                line = self.proc.stdout.readline()
                if not line and self.proc.poll() is not None:
                    break
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError("the GStreamer RTSP test server did not start")
        self.port = int(line.split()[1])
        while time.monotonic() < deadline:  # and it accepts connections
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("the GStreamer RTSP test server does not accept connections")

    def url(self, path: str = "cam", user: str | None = None, password: str | None = None) -> str:
        userinfo = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user else ""
        return f"rtsp://{userinfo}127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def restart(self) -> "RtspServer":
        """Start again on the same port (the players' reconnect test)."""
        self.stop()
        return self.start()


class SilentServer:
    """A TCP server that accepts connections and never says a word (the 'camera hangs' case)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)  # the kernel completes the handshakes from the backlog; nobody reads
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class AttachedViewer:
    """A plain PyAV client watching a camera mount: tells when a key frame goes out (`key_frame` is set on each).

    A test that clears `key_frame`, waits for it and then starts a player joins right after a key frame, so the
    player meets the whole interval before the next one: its wait is the long one by construction, not by luck.
    """

    def __init__(self, url: str):
        import threading

        self.url = url
        self.started = threading.Event()
        self.key_frame = threading.Event()
        self.key_frames = 0  # seen so far
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="attached-viewer", daemon=True)

    def start(self, timeout: float = 20.0) -> "AttachedViewer":
        self._thread.start()
        if not self.started.wait(timeout):
            self.stop()
            raise RuntimeError("the attached viewer got no packet from the camera mount")
        return self

    def _run(self) -> None:
        import av

        container = av.open(self.url, options={"rtsp_transport": "tcp", "analyzeduration": "1", "probesize": "32",
                                               "timeout": "5000000"}, timeout=(5, 5))
        last_key_pts = None
        try:
            for packet in container.demux(container.streams.video[0]):
                self.started.set()
                if packet.is_keyframe:
                    if packet.pts != last_key_pts:  # one key frame can come as two packets (same timestamp)
                        self.key_frames += 1
                        last_key_pts = packet.pts
                    self.key_frame.set()
                if self._stop.is_set():
                    return
        finally:
            container.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

"""MJPEG over HTTP (multipart/x-mixed-replace), as cameras' CGI streams send it.

`FfmpegMjpegServer`: ffmpeg's own HTTP server (`-f mpjpeg -listen 1`), a server this project did not write; it
serves one client per start. `CgiMjpegServer`: a camera CGI that takes its credentials in the query string
(`/videostream.cgi?user=..&pwd=..`, as Foscam-style cameras do) and answers 401 to wrong ones; its pictures are
JPEGs ffmpeg made.
"""

from __future__ import annotations

import glob
import http.server
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        # ffmpeg -listen binds when it starts writing; a connection now would be its one client, so look instead
        with open("/proc/net/tcp") as f:
            if any(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A" for line in f.readlines()[1:]):
                return
        time.sleep(0.02)
    raise RuntimeError("ffmpeg's MJPEG HTTP server did not start listening")


class FfmpegMjpegServer:
    def __init__(self, fps: int = 10, size: str = "320x240"):
        self.fps, self.size = fps, size
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def start(self, timeout: float = 15.0) -> "FfmpegMjpegServer":
        from tests.support.rtsp_stream import _die_with_parent

        self.port = _free_port()
        self.proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
             "-i", f"testsrc=size={self.size}:rate={self.fps}", "-f", "mpjpeg", "-q:v", "5",
             "-content_type", "multipart/x-mixed-replace;boundary=ffmpeg", "-listen", "1", self.url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        try:
            _wait_listening(self.port, self.proc, timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


class CgiMjpegServer:
    """GET /videostream.cgi?<user_name>=..&<password_name>=..: multipart JPEG at `fps`, or 401."""

    def __init__(self, folder, user: str, password: str, user_name: str = "user", password_name: str = "pwd",
                 fps: int = 10):
        self.folder, self.user, self.password = str(folder), user, password
        self.user_name, self.password_name, self.fps = user_name, password_name, fps
        self.requests: list[str] = []  # paths as received (what the player sent)
        self._server = None

    def _frames(self) -> list[bytes]:
        pattern = os.path.join(self.folder, "frame%02d.jpg")
        if not glob.glob(os.path.join(self.folder, "frame*.jpg")):
            subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            "testsrc=size=320x240:rate=10", "-frames:v", "10", "-q:v", "5", pattern], check=True)
        return [Path(p).read_bytes() for p in sorted(glob.glob(os.path.join(self.folder, "frame*.jpg")))]

    def url(self, user: str | None = None, password: str | None = None) -> str:
        from urllib.parse import quote

        return (f"http://127.0.0.1:{self._server.server_address[1]}/videostream.cgi?resolution=32"
                f"&{self.user_name}={quote(user if user is not None else self.user, safe='')}"
                f"&{self.password_name}={quote(password if password is not None else self.password, safe='')}")

    def start(self) -> "CgiMjpegServer":
        frames, outer = self._frames(), self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                query = parse_qs(urlsplit(self.path).query)
                if (query.get(outer.user_name) != [outer.user]
                        or query.get(outer.password_name) != [outer.password]):
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=camframe")
                self.end_headers()
                period, nxt, i = 1.0 / outer.fps, time.monotonic(), 0
                try:
                    while not outer._stopping.is_set():
                        jpeg = frames[i % len(frames)]
                        self.wfile.write(b"--camframe\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                        self.wfile.flush()
                        i += 1
                        nxt += period
                        time.sleep(max(0.0, nxt - time.monotonic()))
                except OSError:
                    return

        self._stopping = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="cgi-mjpeg", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""A real live HLS stream for the libVLC tests: ffmpeg writes segments of a test pattern, http.server serves them."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
import time


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


class HlsStream:
    """`HlsStream(folder).start()` -> `.url` is a live .m3u8 on 127.0.0.1; `.stop()` ends ffmpeg and the server."""

    def __init__(self, folder, size: str = "320x240", fps: int = 25):
        self.folder, self.size, self.fps = str(folder), size, fps
        self.ffmpeg: subprocess.Popen | None = None
        self.httpd: http.server.ThreadingHTTPServer | None = None
        self.url = ""

    def start(self, timeout: float = 20.0) -> "HlsStream":
        playlist = os.path.join(self.folder, "live.m3u8")
        self.ffmpeg = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
             "-i", f"testsrc2=size={self.size}:rate={self.fps}", "-c:v", "libx264", "-preset", "ultrafast",
             "-tune", "zerolatency", "-g", str(self.fps // 2), "-f", "hls", "-hls_time", "1", "-hls_list_size", "10",
             "-hls_flags", "delete_segments", playlist],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        handler = functools.partial(_QuietHandler, directory=self.folder)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, name="hls-http", daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/live.m3u8"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # ready once the playlist lists a few segments
            try:
                with open(playlist, encoding="utf-8") as f:
                    if f.read().count("#EXTINF") >= 3:
                        return self
            except OSError:
                pass
            if self.ffmpeg.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("ffmpeg did not start writing the HLS test stream")

    def stop(self) -> None:
        if self.ffmpeg is not None and self.ffmpeg.poll() is None:
            self.ffmpeg.terminate()
            try:
                self.ffmpeg.wait(5)
            except subprocess.TimeoutExpired:
                self.ffmpeg.kill()
                self.ffmpeg.wait()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

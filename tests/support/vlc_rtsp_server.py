"""VLC's own RTSP server (libVLC's stream_out_rtp, through python-vlc) for tests: a server this project did not write.

It refuses RTP over TCP (`461 Unsupported transport`) and its SDP has no `a=framerate`, as many cameras' do not.
`VlcRtspServer(folder).start()` makes an H.264 clip with ffmpeg, serves it on a loop at rtsp://127.0.0.1:PORT/cam
from a child process (python-vlc in this venv), and returns once the port accepts connections.
Standalone: `python vlc_rtsp_server.py PORT CLIP [REPEATS]` prints READY and serves until killed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time


def make_clip(folder: str, seconds: int = 4, fps: int = 25, gop: int = 25) -> str:
    """An H.264 test clip (320x240, a key frame every `gop` frames); made once per folder."""
    path = os.path.join(folder, f"clip-{fps}-{gop}-{seconds}.mp4")
    if not os.path.exists(path):
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
                        "-i", f"testsrc2=size=320x240:rate={fps}", "-t", str(seconds), "-c:v", "libx264",
                        "-preset", "ultrafast", "-g", str(gop), "-pix_fmt", "yuv420p", path], check=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VlcRtspServer:
    def __init__(self, folder, repeats: int = 999):
        self.folder, self.repeats = str(folder), repeats
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self, timeout: float = 20.0) -> "VlcRtspServer":
        from tests.support.rtsp_stream import _die_with_parent

        clip = make_clip(self.folder)
        self.port = _free_port()
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(self.port), clip,
                                      str(self.repeats)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("VLC's RTSP server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


def main() -> None:
    import threading

    import vlc

    port, clip = int(sys.argv[1]), sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 999
    instance = vlc.Instance("--vout=dummy", "--aout=dummy", "--no-audio", "--quiet")
    media = instance.media_new(clip)
    media.add_option(f":sout=#rtp{{sdp=rtsp://127.0.0.1:{port}/cam}}")
    media.add_option(":sout-keep")
    media.add_option(f":input-repeat={repeats}")
    player = instance.media_player_new()
    player.set_media(media)
    player.play()
    print("READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()

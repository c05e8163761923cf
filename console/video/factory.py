"""Which player can play which stream here: the factory knows what is installed (as Anki sound.py, Picard ui/player)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable

from console.domain.cameras import StreamProtocol
from console.video.player import ErrorKind, Player, StreamError
from console.video.source import StreamSource

log = logging.getLogger(__name__)

BACKENDS = ("vlc", "ffmpeg", "webrtc")


def backend_unavailable(name: str) -> str | None:
    """Why backend `name` cannot run on this machine, or None when it can."""
    try:
        if name == "vlc":
            from console.video.vlc_backend import vlc_unavailable

            return vlc_unavailable()
        if name == "ffmpeg":
            import av  # noqa: F401
        elif name == "webrtc":
            import aiohttp  # noqa: F401
            import aiortc  # noqa: F401
        else:
            return f"there is no backend called {name!r}"
    except ImportError as exc:
        return f"{exc.name} is not installed"
    return None


def available_backends() -> list[str]:
    return [name for name in BACKENDS if backend_unavailable(name) is None]


def choose_backend(source: StreamSource, preference: str = "auto",
                   overrides: dict[StreamProtocol, str] | None = None) -> str:
    """The backend for `source`: `preference` when not "auto", else a settings override, else the best installed.

    Raises StreamError when nothing installed can play it.
    """
    kind = source.kind
    wanted = preference if preference != "auto" else (overrides or {}).get(kind, "auto")
    if wanted != "auto":
        reason = backend_unavailable(wanted)
        if reason:
            raise StreamError(ErrorKind.UNSUPPORTED, f"The {wanted} player cannot run here: {reason}.")
        return wanted
    if kind is StreamProtocol.WHEP:
        candidates = ["webrtc"]
    elif kind in (StreamProtocol.RTSP, StreamProtocol.RTSPS):
        from console.video.vlc_backend import vlc_has_rtsp

        # libVLC only where it really has an RTSP client (official builds); FFmpeg everywhere else.
        candidates = ["vlc", "ffmpeg"] if backend_unavailable("vlc") is None and vlc_has_rtsp() else ["ffmpeg"]
    else:
        candidates = ["vlc", "ffmpeg"]  # HLS, HTTP (MJPEG, TS), RTP, files
    for name in candidates:
        if backend_unavailable(name) is None:
            return name
    raise StreamError(ErrorKind.UNSUPPORTED, "No installed player can open this kind of stream.")


class PlayerFactory:
    """Builds players; owns the asyncio loop thread the WebRTC players share. Close it when the app quits."""

    def __init__(self, overrides: dict[StreamProtocol, str] | None = None,
                 first_frame_timeout: float | None = None, ca_file: str | None = None,
                 resolve: Callable[[StreamSource], StreamSource] | None = None, hw_decode: str = "auto"):
        self.overrides = dict(overrides or {})
        self.hw_decode = hw_decode  # the setting hw_decode: the FFmpeg players' hardware decoding (auto, off)
        self.ca_file = ca_file or None  # the setting rtsps_ca_file: for every TLS stream without its own
        # Where a source is really played from: the demo gateway's hook (console/services/demo_gateway.py) sends
        # the demo registry's *.demo.invalid streams to loopback and hands every other source back unchanged.
        self.resolve = resolve
        # The setting first_frame_timeout_s: every player it builds waits this long for a first key frame.
        self.first_frame_timeout = first_frame_timeout
        self._loop = None

    def create(self, source: StreamSource, backend: str = "auto", **kwargs) -> Player:
        if self.resolve is not None:
            source = self.resolve(source)
        name = choose_backend(source, backend, self.overrides)
        if self.ca_file and not source.ca_file:
            source = dataclasses.replace(source, ca_file=self.ca_file)
        if self.first_frame_timeout is not None:
            kwargs.setdefault("first_frame_timeout", self.first_frame_timeout)
        if name == "ffmpeg":
            from console.video.ffmpeg import FFmpegPlayer

            kwargs.pop("window_handle", None)  # FFmpeg frames are painted by the tile, not drawn into a window
            kwargs.setdefault("hw_decode", self.hw_decode)
            return FFmpegPlayer(source, **kwargs)
        if name == "webrtc":
            from console.video.aioloop import AsyncLoopThread
            from console.video.webrtc import WebRTCPlayer

            if self._loop is None or not self._loop.running:
                self._loop = AsyncLoopThread("webrtc-players")
            kwargs.pop("window_handle", None)
            return WebRTCPlayer(source, loop=self._loop, **kwargs)
        from console.video.vlc_backend import VlcPlayer

        return VlcPlayer(source, **kwargs)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None


def create_player(source: StreamSource, backend: str = "auto", **kwargs) -> Player:
    """A one-off player (a WebRTC one runs its own loop thread); long-lived apps use one PlayerFactory."""
    name = choose_backend(source, backend)
    if name == "webrtc":
        from console.video.webrtc import WebRTCPlayer

        kwargs.pop("window_handle", None)
        return WebRTCPlayer(source, **kwargs)
    return PlayerFactory().create(source, name, **kwargs)

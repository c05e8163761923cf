"""libVLC player (python-vlc): HLS, HTTP, RTP, files, and RTSP where the installed libVLC has its RTSP client.

It draws into a native window handle when given one, otherwise it hands RGB frames over through libVLC's
video callbacks (headless probes and offscreen walls). libVLC's stop() can block for seconds, so every call
into libVLC happens on the player's own thread.
"""

from __future__ import annotations

import base64
import ctypes
import glob
import logging
import os
import struct
import sys
import time
import urllib.error
import urllib.request

from console.domain.cameras import has_query_credentials
from console.video.player import (STALL_MESSAGE, ErrorKind, PlayerState, StreamError, StreamInfo, ThreadedPlayer,
                                  fit_size, without_reconnecting)
from console.video.tls import check_certificate, needs_tls_check

log = logging.getLogger(__name__)

try:
    import vlc
except (ImportError, OSError) as exc:  # python-vlc missing, or present without libVLC
    vlc = None
    _IMPORT_ERROR = str(exc)
else:
    _IMPORT_ERROR = None

NO_RTSP = ("The installed libVLC has no RTSP client (Debian and Ubuntu build it without live555); "
           "use the FFmpeg backend for RTSP.")
_FORMAT_CB = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p,
                              ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint),
                              ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint))
_CLEANUP_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def vlc_unavailable() -> str | None:
    """Why libVLC cannot be used here, or None when it can."""
    if vlc is None:
        return f"libVLC is not installed ({_IMPORT_ERROR})"
    return None


def _plugin_dirs() -> list[str]:
    dirs = [os.environ.get("VLC_PLUGIN_PATH"), getattr(vlc, "plugin_path", None)]
    if sys.platform.startswith("linux"):
        # The plugins live next to the libvlccore that is actually loaded; /proc tells us which one.
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
                for line in maps:
                    if "libvlccore" in line:
                        dirs.append(os.path.join(os.path.dirname(line.split()[-1]), "vlc", "plugins"))
                        break
        except OSError:
            pass
    return [d for d in dirs if d and os.path.isdir(d)]


_rtsp_support: dict[str, bool] = {}


def vlc_has_rtsp() -> bool:
    """True when the installed libVLC can open rtsp:// (its live555 access plugin is present)."""
    if "rtsp" not in _rtsp_support:
        found = False
        if vlc is not None:
            vlc.Instance(["--quiet"]).release()  # loads libvlccore so its folder shows in /proc/self/maps
            for folder in _plugin_dirs():
                if glob.glob(os.path.join(folder, "**", "*live555*"), recursive=True):
                    found = True
                    break
        _rtsp_support["rtsp"] = found
    return _rtsp_support["rtsp"]


def _precheck_http(url: str, timeout: float, username: str | None = None, password: str | None = None) -> None:
    """libVLC gives no reason when it fails; an HTTP request first turns 401/404/refused into one.

    The credentials go in an Authorization header: urllib does not take them from a URL (it would try to reach a
    host called "user:password@host")."""
    headers = {}
    if username:
        token = base64.b64encode(f"{username}:{password or ''}".encode("utf-8")).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET", headers=headers),
                                    timeout=timeout) as resp:
            resp.read(1)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response and its socket
        if exc.code in (401, 403):
            raise StreamError(ErrorKind.UNAUTHORIZED) from None
        if exc.code == 404:
            raise StreamError(ErrorKind.NOT_FOUND) from None
        raise StreamError(ErrorKind.FAILED, f"The camera answered with HTTP status {exc.code}; try again later.") from None
    except (TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise StreamError(ErrorKind.TIMED_OUT) from None
        raise StreamError(ErrorKind.UNREACHABLE) from None


class VlcPlayer(ThreadedPlayer):
    backend = "vlc"

    def __init__(self, source, *, window_handle: int | None = None, **kwargs):
        super().__init__(source, **kwargs)
        self.window_handle = window_handle
        self._last_frame_at = 0.0
        self._buffer = None
        self._size = (0, 0, 0)  # width, height, pitch
        self._callbacks = ()

    def _run(self) -> None:
        self._set_state(PlayerState.CONNECTING)
        if vlc is None:
            self._set_state(PlayerState.ERROR, StreamError(ErrorKind.UNSUPPORTED, vlc_unavailable() + "."))
            return
        url = self.source.url
        if url.lower().startswith(("rtsp://", "rtsps://")) and not vlc_has_rtsp():
            self._set_state(PlayerState.ERROR, StreamError(ErrorKind.UNSUPPORTED, NO_RTSP))
            return
        args = ["--quiet", "--no-audio", "--no-xlib", "--network-caching=300", "--live-caching=300"]
        if self.window_handle is None and self.on_frame is None:
            args.append("--vout=dummy")
        instance = vlc.Instance(args)
        attempt = 0
        try:
            while not self._stopping.is_set():
                frames_before = self.stats.frames
                error = self._play_once(instance)
                if error is None or self._stopping.is_set():
                    break
                if error.final or not self.reconnect:
                    self._set_state(PlayerState.ERROR, error if self.reconnect else without_reconnecting(error))
                    return
                if self.stats.frames > frames_before:
                    attempt = 0
                self.stats.reconnects += 1
                self._set_state(PlayerState.RECONNECTING, error)
                if not self._backoff_wait(attempt):
                    break
                attempt += 1
        finally:
            instance.release()
        self._set_state(PlayerState.ENDED)

    def _play_once(self, instance) -> StreamError | None:
        """Play until stopped (None), the stream ends (None for files), or it fails (the error)."""
        url = self.source.url
        if needs_tls_check(url):
            try:
                check_certificate(url, self.source.ca_file, self.source.pin_sha256, self.connect_timeout)
            except StreamError as exc:
                return exc
        in_query = has_query_credentials(url)  # a camera that takes them in the query (?user=&pwd=)
        if in_query:
            url = self.source.url_with_credentials()
        if url.lower().startswith(("http://", "https://")):
            try:  # the query's credentials are already in `url`; otherwise they go in a header
                _precheck_http(url, self.connect_timeout, *((None, None) if in_query else
                                                            (self.source.username, self.source.password)))
            except StreamError as exc:
                return exc
            url = self.source.url_with_credentials()
        media = instance.media_new(url)
        if self.source.username and url.lower().startswith("rtsp"):
            media.add_option(f":rtsp-user={self.source.username}")
            media.add_option(f":rtsp-pwd={self.source.password or ''}")
            if self.source.transport == "tcp":
                media.add_option(":rtsp-tcp")
        player = instance.media_player_new()
        player.set_media(media)
        if self.window_handle is not None:
            self._embed(player)
        elif self.on_frame is not None:
            self._install_callbacks(player)
        began = self._last_frame_at = time.monotonic()
        decoded_before = 0
        session_start = self.stats.frames  # the stall timer counts from this session's first picture
        player.play()
        try:
            while not self._stopping.wait(0.1):
                state = player.get_state()
                if state == vlc.State.Error:
                    return StreamError(ErrorKind.FAILED, "libVLC could not play the stream; check the address, "
                                                         "or try the FFmpeg backend.")
                if state == vlc.State.Ended:
                    live = url.lower().startswith(("rtsp", "rtp", "udp")) or url.lower().endswith(".m3u8")
                    return StreamError(ErrorKind.UNREACHABLE, "The camera ended the stream; reconnecting.") \
                        if live else None
                stats = vlc.MediaStats()
                media.get_stats(stats)
                self.stats.lost = stats.lost_pictures
                if self.on_frame is None and stats.decoded_video > decoded_before:
                    decoded_before = stats.decoded_video  # drawing into a window: count from libVLC's stats
                    self._frame_drawn(player, media, stats.decoded_video)
                quiet = time.monotonic() - self._last_frame_at
                if self.stats.frames > session_start and quiet > self.stall_after:
                    self._set_stalled()
                    return StreamError(ErrorKind.TIMED_OUT, STALL_MESSAGE)
                if (self.stats.frames == session_start
                        and time.monotonic() - began > self.connect_timeout + self.first_frame_timeout):
                    return StreamError(ErrorKind.TIMED_OUT)
            return None
        finally:
            player.stop()  # may block for seconds: that is why this runs on the player thread
            player.release()
            media.release()

    def _frame_drawn(self, player, media, count) -> None:
        self._last_frame_at = time.monotonic()
        if not self.stats.info.width:
            self._read_info(player, media)
        if self.stats.frames == 0 and self._started_at is not None:
            self.stats.first_frame_ms = (time.monotonic() - self._started_at) * 1000.0
        self.stats.frames = count
        if self.state is not PlayerState.LIVE:
            self._set_state(PlayerState.LIVE)

    def _read_info(self, player, media) -> None:
        # python-vlc declares the track union as three pointers, so only the fields before it are safe to read.
        codec = None
        for track in media.tracks_get() or ():
            if track.type == vlc.TrackType.video:
                codec = struct.pack("<I", track.codec).decode("ascii", "replace").strip().lower()
                break
        width, height = player.video_get_size(0) or (0, 0)
        fps = player.get_fps() or None
        self.stats.info = StreamInfo(codec=codec, width=width or None, height=height or None, fps=fps)

    def _embed(self, player) -> None:
        if sys.platform.startswith("win"):
            player.set_hwnd(self.window_handle)
        elif sys.platform == "darwin":
            player.set_nsobject(self.window_handle)
        else:
            player.set_xwindow(self.window_handle)

    def _install_callbacks(self, player) -> None:
        import numpy as np

        def setup(_opaque, chroma, width, height, pitches, lines):
            w, h = width[0], height[0]
            if self.output_size and (w > self.output_size[0] or h > self.output_size[1]):
                w, h = fit_size(w, h, self.output_size)  # libVLC scales for us
            ctypes.memmove(chroma, b"RV32", 4)
            width[0], height[0], pitches[0], lines[0] = w, h, w * 4, h
            self._buffer = np.zeros(h * w * 4, np.uint8)
            self._size = (w, h, w * 4)
            return 1

        def lock(_opaque, planes):
            planes[0] = self._buffer.ctypes.data
            return None

        def display(_opaque, _picture):
            w, h, _pitch = self._size
            bgra = self._buffer.reshape(h, w, 4)
            self._last_frame_at = time.monotonic()
            if not self.stats.info.width:
                self._read_info(player, player.get_media())
            if self._count_frame():
                self._hand_over(np.ascontiguousarray(bgra[:, :, 2::-1]))

        self._callbacks = (_FORMAT_CB(setup), _CLEANUP_CB(lambda _o: None),
                           vlc.CallbackDecorators.VideoLockCb(lock),
                           vlc.CallbackDecorators.VideoUnlockCb(lambda *_: None),
                           vlc.CallbackDecorators.VideoDisplayCb(display))
        fmt, cleanup, lock_cb, unlock_cb, display_cb = self._callbacks
        set_format = vlc.dll.libvlc_video_set_format_callbacks
        set_format.argtypes = [ctypes.c_void_p, _FORMAT_CB, _CLEANUP_CB]
        set_format.restype = None
        set_format(player._as_parameter_, fmt, cleanup)
        player.video_set_callbacks(lock_cb, unlock_cb, display_cb, None)

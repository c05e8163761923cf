"""One demo camera's live feed: ONE renderer and ONE H.264 encoder per camera, whose packets go to every WHEP
viewer and to the camera's HLS playlist alike. A viewer who joins a running feed gets a key frame at once.

The feed starts on its first viewer and stops after `idle_stop_s` without any, so only watched cameras encode.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Callable

import av

from console.demo.scene import FPS, HEIGHT, WIDTH, StreetScene

log = logging.getLogger(__name__)

GOP = FPS  # a key frame every second: HLS segments of one second (shorter ones made libVLC start later)
HLS_SEGMENT_S = 1
HLS_LIST = 4
PREROLL_S = 2.0
IDLE_STOP_S = 30.0

PacketSink = Callable[[bytes, int, bool], None]  # (annex-B bytes, pts in 1/FPS, key frame)


class CameraFeed:
    """Renders, encodes and hands out one camera's pictures, on a thread of its own while anyone watches."""

    def __init__(self, key: str, label: str, hls_root: str, idle_stop_s: float = IDLE_STOP_S):
        self.key, self.label = key, label
        self.idle_stop_s = idle_stop_s
        self.hls_dir = os.path.join(hls_root, key.replace("/", "_"))
        self.time_base = Fraction(1, FPS)
        self._sinks: set = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wanted_at = time.monotonic()
        self._key_wanted = threading.Event()
        self.segments_ready = threading.Event()
        self.frames = 0

    # -- who watches
    def subscribe(self, sink: PacketSink) -> None:
        with self._lock:
            self._sinks.add(sink)
        self.want(key_frame=True)

    def unsubscribe(self, sink: PacketSink) -> None:
        with self._lock:
            self._sinks.discard(sink)
        self._wanted_at = time.monotonic()

    def want(self, key_frame: bool = False) -> None:
        """Someone is watching (a WHEP viewer, an HLS request): keep running, start if stopped."""
        self._wanted_at = time.monotonic()
        if key_frame:
            self._key_wanted.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self.segments_ready.clear()
                self._thread = threading.Thread(target=self._run, name=f"demo-feed-{self.key}", daemon=True)
                self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # -- the feed's thread
    def _encoder(self):
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        ctx.time_base, ctx.framerate = self.time_base, Fraction(FPS, 1)
        ctx.bit_rate = 600_000
        ctx.sample_aspect_ratio = Fraction(1, 1)  # said outright: a player guessing it stretches the picture
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(GOP), "keyint_min": str(GOP),
                       "sc_threshold": "0", "bf": "0", "profile": "baseline"}
        ctx.open()
        return ctx

    def _hls(self):
        shutil.rmtree(self.hls_dir, ignore_errors=True)
        os.makedirs(self.hls_dir, exist_ok=True)
        out = av.open(os.path.join(self.hls_dir, "index.m3u8"), "w", format="hls", options={
            "hls_time": str(HLS_SEGMENT_S), "hls_list_size": str(HLS_LIST),
            "hls_flags": "delete_segments+omit_endlist+temp_file",
            "hls_segment_filename": os.path.join(self.hls_dir, "seg%05d.ts")})
        stream = out.add_mux_stream("h264", width=WIDTH, height=HEIGHT, time_base=self.time_base)
        return out, stream

    def _run(self) -> None:
        scene = StreetScene(self.label)
        encoder = self._encoder()
        hls, hls_stream = self._hls()
        # Pre-roll: the first PREROLL_S of pictures are drawn at once, stamped with the times they stand for, so a
        # cold camera's playlist holds the segments libVLC waits for before it starts (as a camera that has been
        # running does); WHEP viewers get pictures from the live edge on.
        started = time.monotonic() - PREROLL_S
        wall_start = datetime.now(timezone.utc) - timedelta(seconds=PREROLL_S)
        live_from = int(PREROLL_S * FPS)
        index = 0
        try:
            while not self._stop.is_set():
                if not self._sinks and time.monotonic() - self._wanted_at > self.idle_stop_s:
                    break
                due = started + index / FPS
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                picture = scene.frame(index, wall_start + timedelta(seconds=index / FPS))
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
                frame.pts = index
                if index == live_from or (index > live_from and self._key_wanted.is_set()):
                    self._key_wanted.clear()
                    frame.pict_type = av.video.frame.PictureType.I
                for packet in encoder.encode(frame):
                    self._hand_out(packet, hls, hls_stream, to_viewers=index >= live_from)
                index += 1
                self.frames = index
        except Exception:  # noqa: BLE001 - a demo feed that breaks must not take the gateway with it
            log.exception("demo feed %s stopped", self.key)
        finally:
            try:
                hls.close()
            except Exception:  # noqa: BLE001
                log.debug("closing the HLS writer of %s failed", self.key)
            log.info("demo feed %s stopped after %d frames", self.key, index)

    def _hand_out(self, packet, hls, hls_stream, to_viewers: bool = True) -> None:
        data, pts, key = bytes(packet), int(packet.pts), bool(packet.is_keyframe)
        with self._lock:
            sinks = list(self._sinks) if to_viewers else []
        for sink in sinks:
            sink(data, pts, key)
        copy = av.Packet(data)
        copy.pts = copy.dts = pts
        copy.time_base = self.time_base
        copy.is_keyframe = key
        copy.stream = hls_stream
        hls.mux(copy)
        if key and pts >= PREROLL_S * FPS and not self.segments_ready.is_set():
            self.segments_ready.set()  # the pre-roll's segments are complete once the live edge's key frame begins


def hls_root() -> str:
    return tempfile.mkdtemp(prefix="rtic-demo-hls-")

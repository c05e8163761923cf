"""The last seconds of a live view, as the camera sent them: a rolling buffer of received packets, written to MP4
without re-encoding (PyAV remux), so a bulletin's clip is exactly what the console received.

The player hands every demuxed video packet to `ClipBuffer.add` (its thread); `write_mp4` may be called from any
other thread. The buffer holds at most `seconds` (plus the key-frame interval it needs to start on a key frame) and
at most `max_bytes`; a clip always starts on a key frame, so it plays from its first picture.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import av

log = logging.getLogger(__name__)

MAX_PROBE_BYTES = 64 * 1_000_000


@dataclass(frozen=True)
class _Packet:
    data: bytes
    pts: int | None
    dts: int | None
    key: bool


@dataclass(frozen=True)
class _Format:
    codec: str
    width: int
    height: int
    extradata: bytes | None
    time_base: Fraction


class ClipBuffer:
    def __init__(self, seconds: float, max_bytes: int = 40_000_000):
        self.seconds = float(seconds)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._packets: deque[_Packet] = deque()
        self._bytes = 0
        self._format: _Format | None = None

    def start_session(self, stream) -> None:
        """A new connection (a PyAV input video stream): packets of an earlier session cannot be joined to it."""
        ctx = stream.codec_context
        fmt = _Format(ctx.name, ctx.width or 0, ctx.height or 0, bytes(ctx.extradata) if ctx.extradata else None,
                      Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000))
        with self._lock:
            self._format = fmt
            self._packets.clear()
            self._bytes = 0

    def add(self, packet) -> None:
        """One demuxed packet of the current session (the player's thread)."""
        if packet.size == 0 or self._format is None:
            return
        item = _Packet(bytes(packet), packet.pts, packet.dts, bool(packet.is_keyframe))
        with self._lock:
            if not self._packets and not item.key:
                return  # nothing plays before the first key frame
            self._packets.append(item)
            self._bytes += len(item.data)
            self._trim()

    def _trim(self) -> None:
        """Drop whole key-frame groups from the front while what stays still covers `seconds`."""
        tb = self._format.time_base
        while True:
            newest = self._stamp(self._packets[-1])
            second_key = next((i for i, p in enumerate(self._packets) if i and p.key), None)
            if second_key is None:
                if self._bytes > self.max_bytes:  # one endless group: start again at the next key frame
                    self._packets.clear()
                    self._bytes = 0
                return
            later = self._stamp(self._packets[second_key])
            if newest is None or later is None:
                return
            too_big = self._bytes > self.max_bytes
            if float((newest - later) * tb) < self.seconds and not too_big:
                return
            for _ in range(second_key):
                self._bytes -= len(self._packets.popleft().data)

    @staticmethod
    def _stamp(p: _Packet) -> int | None:
        return p.dts if p.dts is not None else p.pts

    @property
    def buffered_s(self) -> float:
        with self._lock:
            if len(self._packets) < 2 or self._format is None:
                return 0.0
            first, last = self._stamp(self._packets[0]), self._stamp(self._packets[-1])
            if first is None or last is None:
                return 0.0
            return float((last - first) * self._format.time_base)

    def write_mp4(self, seconds: float | None = None) -> bytes | None:
        """The last `seconds` (at most the buffer's) as MP4 bytes, starting on a key frame; None with nothing yet."""
        want = min(self.seconds, seconds if seconds is not None else self.seconds)
        with self._lock:
            fmt, packets = self._format, list(self._packets)
        if fmt is None or not packets:
            return None
        newest = self._stamp(packets[-1]) or 0
        start = 0
        for i, p in enumerate(packets):  # the first key frame no more than `want` before the newest packet
            stamp = self._stamp(p)
            if p.key and stamp is not None and float((newest - stamp) * fmt.time_base) <= want:
                start = i
                break
        else:
            return None
        return _remux(fmt, packets[start:])


def _remux(fmt: _Format, packets: list[_Packet]) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream(fmt.codec)
        stream.width, stream.height = fmt.width, fmt.height
        if fmt.extradata:
            stream.codec_context.extradata = fmt.extradata
        stream.time_base = fmt.time_base
        first = next((p.dts if p.dts is not None else p.pts for p in packets if (p.dts or p.pts) is not None), 0)
        last_dts = None
        for p in packets:
            packet = av.Packet(p.data)
            dts = (p.dts if p.dts is not None else p.pts)
            pts = p.pts if p.pts is not None else dts
            if dts is None:
                continue
            dts, pts = dts - first, pts - first
            if last_dts is not None and dts <= last_dts:
                continue  # a repeated or out-of-order stamp: the muxer would refuse it
            last_dts = dts
            packet.dts, packet.pts = dts, max(pts, dts)
            packet.is_keyframe = p.key
            packet.time_base = fmt.time_base
            packet.stream = stream
            container.mux(packet)
    return out.getvalue()


def mp4_duration_s(data: bytes) -> float | None:
    """How long the MP4 `data` plays (its video stream), or None when it cannot be read as a video at all."""
    if len(data) > MAX_PROBE_BYTES:
        return None
    try:
        with av.open(io.BytesIO(data), "r", format="mp4", options={"probesize": "5000000"}) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000
            last = None
            for packet in container.demux(stream):  # no duration written: read the stamps
                if packet.pts is not None:
                    last = packet.pts
            return float(last * stream.time_base) if last is not None else None
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as exc:
        log.info("clip refused: %s", exc.__class__.__name__)
        return None

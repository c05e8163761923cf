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
        self._parameter_sets = b""  # in-band SPS/PPS (VPS) seen last, when the stream carries no extradata

    def start_session(self, stream) -> None:
        """A new connection (a PyAV input video stream): packets of an earlier session cannot be joined to it."""
        ctx = stream.codec_context
        fmt = _Format(ctx.name, ctx.width or 0, ctx.height or 0, bytes(ctx.extradata) if ctx.extradata else None,
                      Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000))
        with self._lock:
            self._format = fmt
            self._parameter_sets = b""
            self._packets.clear()
            self._bytes = 0

    def add(self, packet) -> None:
        """One demuxed packet of the current session (the player's thread)."""
        if packet.size == 0 or self._format is None:
            return
        item = _Packet(bytes(packet), packet.pts, packet.dts, bool(packet.is_keyframe))
        if item.key and not self._format.extradata:
            self._remember_parameter_sets(item.data)
        with self._lock:
            if not self._packets and not item.key:
                return  # nothing plays before the first key frame
            self._packets.append(item)
            self._bytes += len(item.data)
            self._trim()

    def _remember_parameter_sets(self, data: bytes) -> None:
        """A stream whose parameter sets come only in-band (no SDP sprop-parameter-sets, no extradata): keep the
        latest ones, so a clip cut after the first key frame still says how to decode it. Packets stay as received."""
        kinds = {"h264": ((7, 8), lambda b: b & 0x1F), "hevc": ((32, 33, 34), lambda b: (b >> 1) & 0x3F)}
        if self._format.codec not in kinds or not data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
            return
        wanted, kind_of = kinds[self._format.codec]
        found = {}
        for unit in data.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01"):
            if unit and kind_of(unit[0]) in wanted:
                found[kind_of(unit[0])] = unit.rstrip(b"\x00")
        if set(found) >= set(wanted[:2]):
            self._parameter_sets = b"".join(b"\x00\x00\x00\x01" + found[k] for k in sorted(found))

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

    def latest_picture(self):
        """The newest picture at the stream's resolution (RGB numpy array) or None: see `latest_picture`."""
        return latest_picture(self)

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
            if fmt is not None and not fmt.extradata and self._parameter_sets:  # in-band only
                fmt = _Format(fmt.codec, fmt.width, fmt.height, self._parameter_sets, fmt.time_base)
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


_START = b"\x00\x00\x00\x01"
_PARAMETER_SETS = {"h264": (7, 8), "hevc": (32, 33, 34)}


def _nal_kind(codec: str, unit: bytes) -> int:
    return unit[0] & 0x1F if codec == "h264" else (unit[0] >> 1) & 0x3F


def _units(data: bytes, length_size: int) -> list[bytes]:
    """The NAL units of a packet in Annex B form (start codes) or MP4 form (`length_size`-byte lengths)."""
    if length_size == 0:
        parts = data.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01")
        return [p.rstrip(b"\x00") for p in parts if p]
    units, i = [], 0
    while i + length_size <= len(data):
        n = int.from_bytes(data[i:i + length_size], "big")
        units.append(data[i + length_size:i + length_size + n])
        i += length_size + n
    return [u for u in units if u]


def _avcc(extradata: bytes) -> tuple[int, list[bytes]]:
    """(NAL length size, [SPS..., PPS...]) of an H.264 avcC record; (0, []) when it is not one."""
    try:
        length_size, units, i = (extradata[4] & 3) + 1, [], 6
        for count_mask in (0x1F, 0xFF):
            count = extradata[i - 1] & count_mask if count_mask == 0x1F else extradata[i]
            i += 0 if count_mask == 0x1F else 1
            for _ in range(count):
                n = int.from_bytes(extradata[i:i + 2], "big")
                units.append(extradata[i + 2:i + 2 + n])
                i += 2 + n
        return length_size, units
    except IndexError:
        return 0, []


def _annexb_packets(fmt: _Format, packets: list[_Packet]) -> list[tuple[_Packet, bytes]] | None:
    """Each packet as Annex B bytes (NAL units re-framed, not changed), the first one carrying the parameter sets."""
    if fmt.codec not in _PARAMETER_SETS:
        return None
    length_size, parameter_sets = 0, []
    extradata = fmt.extradata or b""
    if extradata[:1] == b"\x01" and fmt.codec == "h264":
        length_size, parameter_sets = _avcc(extradata)
    elif extradata[:1] == b"\x01":
        return None  # hvcC from an MP4 source: live cameras send Annex B
    elif extradata:
        parameter_sets = _units(extradata, 0)
    out = []
    for index, p in enumerate(packets):
        units = _units(p.data, length_size)
        if index == 0 and not any(_nal_kind(fmt.codec, u) in _PARAMETER_SETS[fmt.codec] for u in units):
            units = parameter_sets + units
        out.append((p, b"".join(_START + u for u in units)))
    return out


def latest_picture(buffer: "ClipBuffer"):
    """The newest picture the buffer holds at the stream's full resolution (an RGB numpy array), decoded from the
    last key frame on; None with nothing buffered. Slow-ish (up to one key-frame interval of decoding): a worker's."""
    with buffer._lock:
        fmt, packets = buffer._format, list(buffer._packets)
        if fmt is not None and not fmt.extradata and buffer._parameter_sets:
            fmt = _Format(fmt.codec, fmt.width, fmt.height, buffer._parameter_sets, fmt.time_base)
    if fmt is None or not packets:
        return None
    last_key = max((i for i, p in enumerate(packets) if p.key), default=None)
    if last_key is None:
        return None
    framed = _annexb_packets(fmt, packets[last_key:])
    if not framed:
        return None
    decoder = av.CodecContext.create(fmt.codec, "r")
    newest = None
    try:
        for _, data in framed:
            for frame in decoder.decode(av.Packet(data)):
                newest = frame
        for frame in decoder.decode(None):
            newest = frame
    except av.error.FFmpegError as exc:
        log.info("no full-resolution picture: %s", exc.__class__.__name__)
    return newest.to_ndarray(format="rgb24") if newest is not None else None


def _remux(fmt: _Format, packets: list[_Packet]) -> bytes | None:
    """MP4 of the packets as received: the NAL units are only re-framed (Annex B in, MP4 lengths out by the muxer),
    never decoded; the first packet carries the parameter sets so the clip plays from its first picture."""
    framed = _annexb_packets(fmt, packets)
    if framed is None:
        log.info("no clip: the %s stream cannot be written as a clip", fmt.codec)
        return None
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_mux_stream(fmt.codec, width=fmt.width, height=fmt.height)
        stream.time_base = fmt.time_base
        first = next((p.dts if p.dts is not None else p.pts for p in packets
                      if (p.dts if p.dts is not None else p.pts) is not None), 0)
        last_dts = None
        for p, data in framed:
            dts = p.dts if p.dts is not None else p.pts
            pts = p.pts if p.pts is not None else dts
            if dts is None:
                continue
            dts, pts = dts - first, pts - first
            if last_dts is not None and dts <= last_dts:
                continue  # a repeated or out-of-order stamp: the muxer would refuse it
            last_dts = dts
            packet = av.Packet(data)
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

"""The rolling clip buffer: the last seconds of a live RTSP view (real GStreamer server, the PyAV player) written to
MP4 without re-encoding (the same H.264 NAL units come out as went in), starting on a key frame; hostile MP4s."""

from __future__ import annotations

import io

import av
import pytest

from console.video.clip_buffer import ClipBuffer, mp4_duration_s
from console.video.ffmpeg import FFmpegPlayer
from console.video.source import StreamSource
from tests.services.test_bulletins import mp4
from tests.support.stream_waits import Recorder, wait_until


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an H.264 packet, in Annex B (start codes) or MP4 (4-byte lengths) form."""
    if data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        parts = data.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01")
        return [p.rstrip(b"\x00") for p in parts if p]
    units, i = [], 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i:i + 4], "big")
        units.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return units


def demux(data: bytes):
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        packets = [(bytes(p), p.is_keyframe) for p in container.demux(stream) if p.size]
    with av.open(io.BytesIO(data)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    return packets, frames


def test_remux_keeps_the_packets_and_starts_on_a_key_frame(tmp_path):
    clip = mp4(6.0, tmp_path)  # 6 s at 10 fps, a key frame every second, written whole by a ClipBuffer
    packets, frames = demux(clip)
    assert packets[0][1] and len(packets) == 60 and frames >= 59  # the muxer's edit list may hide one B-frame
    buffer = ClipBuffer(2.5)
    with av.open(io.BytesIO(clip)) as source:
        buffer.start_session(source.streams.video[0])
        fed = []
        for p in source.demux(source.streams.video[0]):
            if p.size:
                fed.append(bytes(p))
                buffer.add(p)
    out = buffer.write_mp4()
    kept, decoded = demux(out)
    assert kept[0][1], "a clip starts on a key frame"
    assert 1.8 <= mp4_duration_s(out) <= 2.6  # from the key frame 2 s before the newest packet
    assert decoded >= len(kept) - 1
    tail = [u for data in fed[-len(kept):] for u in nal_units(data)]
    assert [u for data, _ in kept for u in nal_units(data)] == tail  # the same bytes: nothing re-encoded
    assert buffer.write_mp4(seconds=1.0) != out and mp4_duration_s(buffer.write_mp4(seconds=1.0)) <= 1.1


def test_nothing_buffered_before_a_key_frame_or_a_session():
    buffer = ClipBuffer(5)
    assert buffer.write_mp4() is None and buffer.buffered_s == 0.0 and buffer.latest_picture() is None


def test_the_buffer_stays_within_its_byte_limit(tmp_path):
    clip = mp4(6.0, tmp_path)
    buffer = ClipBuffer(60, max_bytes=3000)
    with av.open(io.BytesIO(clip)) as source:
        buffer.start_session(source.streams.video[0])
        for p in source.demux(source.streams.video[0]):
            buffer.add(p)
            assert buffer._bytes <= 3000 or sum(1 for q in buffer._packets if q.key) == 1


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200, b"garbage" * 1000,
                                  b"\x00\x00\x00\x18ftypisom" + b"\xff" * 10_000])
def test_hostile_mp4s_have_no_duration(data):
    assert mp4_duration_s(data) is None


def test_a_truncated_clip_is_refused_or_shorter(tmp_path):
    clip = mp4(3.0, tmp_path)
    found = mp4_duration_s(clip[: len(clip) // 3])
    assert found is None or found <= 3.1


def test_live_rtsp_view_gives_a_clip(rtsp_server):
    rec = Recorder()
    player = FFmpegPlayer(StreamSource.from_url(rtsp_server.url("cam"), transport="tcp"), connect_timeout=3.0,
                          **rec.kw())
    player.clip_buffer = buffer = ClipBuffer(2.0)
    player.start()
    try:
        assert wait_until(lambda: buffer.buffered_s >= 2.0, 30), "no 2 s of packets arrived"
        clip = buffer.write_mp4()
    finally:
        player.stop()
        assert player.join(10)
    packets, frames = demux(clip)
    assert packets[0][1] and frames >= 10
    assert 0.5 <= mp4_duration_s(clip) <= 2.1
    picture = buffer.latest_picture()  # the stream's own resolution, not the tile's
    assert picture is not None and picture.shape[2] == 3
    assert (picture.shape[1], picture.shape[0]) == (player.stats.info.width, player.stats.info.height)

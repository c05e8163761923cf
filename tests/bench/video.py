"""Video benchmark on loopback, one JSON line per figure: open-to-first-paint, glass-to-glass, wall load, memory.

Run: `.venv/bin/python tests/bench/video.py [--quick]`. Real servers: GStreamer RTSP (/usr/bin/python3) and the
aiortc WHEP server, each in its own process; real VideoTile widgets offscreen. Not a test: figures, not verdicts.
The figures the tests tell by events only are measured here: how long a hanging camera holds the GUI thread in
open_view/close_view, how soon a frozen stream is reported stalled, how long a never-answering server takes to
time out; joining a running camera (shared encoder) at 1 s and 4 s key-frame intervals beside a plain PyAV
client; decode CPU per stream (H.264 and H.265, main and sub sizes; software, and hardware where a device works).
--quick: two runs, short loads, one small wall (installer/dev.sh bench --quick); --decode-only: that last one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from console.gui.video.tile import VideoTile  # noqa: E402
from console.gui.video.wall import VideoWall  # noqa: E402
from console.video.factory import PlayerFactory  # noqa: E402
from console.video.source import StreamSource  # noqa: E402
from console.video.view import LiveView  # noqa: E402
from tests.support.rtsp_stream import RtspServer, _die_with_parent  # noqa: E402
from tests.support.stream_stamp import stamp_age_ms  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")


def emit(figure: str, value, unit: str, **extra) -> None:
    print(json.dumps({"figure": figure, "value": value, "unit": unit, **extra}), flush=True)


def qwait(ms: int) -> None:
    """Run the Qt event loop for `ms`; QEventLoop.exec releases the GIL (QTest.qWait does not), as app.exec does."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def spin_until(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        qwait(10)
    return bool(cond())


def view(url: str, camera_id: int = 1, token: str | None = None) -> LiveView:
    return LiveView(camera_id=camera_id, camera_label=f"Bench {camera_id}", main=StreamSource(url, token=token),
                    expires_at=datetime.now(timezone.utc) + timedelta(hours=1), session_id=camera_id)


def cpu_seconds(pid: int | None = None) -> float:
    with open(f"/proc/{pid or 'self'}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class WhepProcess:
    def __init__(self, size: str):
        script = os.path.join(ROOT, "tests", "support", "whep_stream_server.py")
        self.proc = subprocess.Popen([sys.executable, script, "--size", size], stdout=subprocess.PIPE, text=True,
                                     preexec_fn=_die_with_parent)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError("the WHEP bench server did not start")
        self.port = int(line.split()[1])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/whep/{name}"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def open_to_first_paint(factory, url: str, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        tile = VideoTile(factory)
        tile.resize(640, 480)
        tile.show()
        began = time.monotonic()
        tile.open_view(view(url, i))
        if spin_until(lambda: tile.painted > 0, 10):
            times.append((time.monotonic() - began) * 1000)
        tile.close_view()
        tile.wait_stopped(10)
        tile.deleteLater()
        qwait(50)
    return times


def glass_to_glass(factory, url: str, seconds: float) -> list[int]:
    tile = VideoTile(factory)
    tile.resize(640, 480)
    tile.show()
    ages: list[int] = []

    def on_painted(_index):
        if tile._array is not None:
            age = stamp_age_ms(tile._array, int(time.time() * 1000))
            if age < 10_000:  # a misread barcode (damaged frame) is not a latency
                ages.append(age)

    tile.sig_painted.connect(on_painted)
    tile.open_view(view(url))
    spin_until(lambda: tile.painted > 0, 10)
    qwait(int(seconds * 1000))
    tile.close_view()
    tile.wait_stopped(10)
    tile.deleteLater()
    return ages


def wall_load(factory, url: str, grid: int, seconds: float, server_pid: int) -> dict:
    wall = VideoWall(factory)
    wall.resize(1280, 720)
    wall.set_grid(grid)
    wall.show()
    tiles = wall.visible_tiles()
    for i, tile in enumerate(tiles):
        wall.show_view(tile, view(url, i + 1))
    spin_until(lambda: all(t.painted > 0 for t in tiles), 20)
    frames0 = [t.player.stats.frames for t in tiles]
    painted0 = sum(t.painted for t in tiles)
    lost0 = [t.player.stats.lost for t in tiles]
    cpu0, srv0, t0 = cpu_seconds(), cpu_seconds(server_pid), time.monotonic()
    qwait(int(seconds * 1000))
    elapsed = time.monotonic() - t0
    cpu, srv = cpu_seconds() - cpu0, cpu_seconds(server_pid) - srv0
    frames = sum(t.player.stats.frames for t in tiles) - sum(frames0)
    lost = sum(t.player.stats.lost for t in tiles) - sum(lost0)
    expected = 25 * elapsed * len(tiles)
    result = {"tiles": len(tiles), "console_cpu_pct": round(100 * cpu / elapsed, 1),
              "server_cpu_pct": round(100 * srv / elapsed, 1), "frames": frames,
              "lost_pct": round(100 * max(lost, expected - frames) / expected, 2),
              "decoded_fps_per_tile": round(frames / elapsed / len(tiles), 1),
              "painted_fps_per_tile": round((sum(t.painted for t in tiles) - painted0) / elapsed / len(tiles), 1),
              "conversions_skipped": sum(t.player.skipped for t in tiles),
              "stale_dropped": sum(t._bridge.dropped for t in tiles), "load_avg_1m": round(os.getloadavg()[0], 2),
              "states": sorted({t.state for t in tiles}), "errors": sorted({t.message for t in tiles if t.message})}
    wall.shutdown(15)
    wall.deleteLater()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs and shorter loads")
    ap.add_argument("--walls-only", action="store_true", help="only the 9 x 720p and 16 x 360p wall loads")
    ap.add_argument("--decode-only", action="store_true", help="only decode CPU per stream")
    ap.add_argument("--join-only", action="store_true", help="only joining a running camera")
    args = ap.parse_args()
    runs, secs = (2, 2.0) if args.quick else (10, 15.0)
    app = QApplication.instance() or QApplication([])
    factory = PlayerFactory()
    if args.decode_only or args.join_only:
        if args.join_only:
            joining_a_running_camera(runs)
        if args.decode_only:
            decode_cost(secs if args.quick else 8.0, args.quick)
        factory.close()
        return
    if not args.walls_only:
        latency_and_memory(factory, runs)
        hanging_and_frozen(factory)
        joining_a_running_camera(runs)
        decode_cost(secs if args.quick else 8.0, args.quick)
    walls(factory, secs, [("640x360", 2)] if args.quick else [("1280x720", 3), ("640x360", 4)])
    factory.close()
    app.processEvents()


def latency_and_memory(factory, runs: int) -> None:
    rtsp = RtspServer("--size", "640x480").start()
    whep = WhepProcess("640x480")
    try:
        # Latency first, while the servers carry nothing else.
        ages = glass_to_glass(factory, rtsp.url("stamp"), 5)
        emit("rtsp_glass_to_glass_p50", statistics.median(ages), "ms", samples=len(ages), target=250)
        ages = glass_to_glass(factory, whep.url("stamp-h264"), 5)
        emit("whep_glass_to_glass_p50", statistics.median(ages), "ms", samples=len(ages), target=150)
        t = open_to_first_paint(factory, rtsp.url("cam"), runs)
        emit("rtsp_open_to_first_paint_p50", round(statistics.median(t), 1), "ms", runs=len(t), target=400)
        t = open_to_first_paint(factory, whep.url("h264"), runs)
        emit("whep_open_to_first_paint_p50", round(statistics.median(t), 1), "ms", runs=len(t), target=300)
        emit("servers_cpu_after_opens", {"rtsp": round(cpu_seconds(rtsp.proc.pid), 1),
                                         "whep": round(cpu_seconds(whep.proc.pid), 1)}, "s")
        four = VideoWall(factory)
        four.resize(1280, 720)
        four.show()
        for i, tile in enumerate(four.visible_tiles()):
            four.show_view(tile, view(rtsp.url("cam"), i + 1))
        spin_until(lambda: all(t.painted > 0 for t in four.visible_tiles()), 20)
        qwait(3000)
        emit("console_rss_4_live_tiles", round(rss_mb(), 1), "MB")
        four.shutdown(15)
        four.deleteLater()
    finally:
        whep.stop()
        rtsp.stop()


def _plain_pyav_first_frame_ms(url: str) -> float:
    """A plain PyAV client with the same low-latency options: open to its first decoded picture."""
    import av

    began = time.monotonic()
    container = av.open(url, options={"rtsp_transport": "tcp", "analyzeduration": "1", "probesize": "32",
                                      "timeout": "5000000"}, timeout=(5, 15))
    try:
        for _frame in container.decode(video=0):
            return (time.monotonic() - began) * 1000.0
    finally:
        container.close()
    return float("nan")


def joining_a_running_camera(runs: int) -> None:
    """Time to first frame joining a camera whose encoder already runs (no re-key for a new viewer), at 1 s and 4 s
    key-frame intervals (and 10 s without --quick), beside a plain PyAV client in the same run. Joins land at random points of the interval:
    floor_ms is half the interval; the connection (~0.1 s on loopback) comes on top."""
    import random

    from console.video.ffmpeg import FFmpegPlayer
    from tests.support.stream_waits import wait_until

    for gop in (1.0, 4.0) if runs <= 2 else (1.0, 4.0, 10.0):
        server = RtspServer("--camera-keys", "--gop-seconds", str(gop)).start()
        console_ms, plain_ms, states = [], [], set()
        try:
            for _ in range(runs):
                time.sleep(random.uniform(0, gop))  # a random point of the interval, for both clients
                plain_ms.append(_plain_pyav_first_frame_ms(server.url("cam")))
                time.sleep(random.uniform(0, gop))
                player = FFmpegPlayer(StreamSource(server.url("cam")), stall_after=1.0, reconnect=False,
                                      on_state=lambda state, _e: states.add(state.value))
                player.start()
                wait_until(lambda: player.stats.frames or player.state.value == "error", gop + 15)
                if player.stats.first_frame_ms is not None:
                    console_ms.append(player.stats.first_frame_ms)
                player.stop()
                player.join(10)
        finally:
            server.stop()
        emit(f"join_running_camera_{gop:g}s_keyframes_first_frame_p50",
             round(statistics.median(console_ms), 1) if console_ms else None, "ms", runs=len(console_ms),
             plain_pyav_p50=round(statistics.median(plain_ms), 1), floor_ms=gop * 500,
             states=sorted(states), stall_after_s=1.0)


def _hw_decoders() -> dict:
    """The hardware decoding device types this FFmpeg build offers, the devices this machine has, and for each
    device type the player would try here whether FFmpeg could create it (and why not)."""
    import glob

    from console.video.ffmpeg import hw_device_problem, hw_devices_to_try

    try:
        from av.codec.hwaccel import hwdevices_available

        built = list(hwdevices_available())
    except ImportError:
        built = []
    tried = {device: hw_device_problem(device) or "works" for device in hw_devices_to_try()}
    return {"in_ffmpeg_build": built, "render_nodes": glob.glob("/dev/dri/renderD*"),
            "nvidia": os.path.exists("/dev/nvidia0"), "tried": tried,
            "working": [device for device, why in tried.items() if why == "works"]}


def decode_cost(secs: float, quick: bool) -> None:
    """CPU seconds this process spends per stream-second decoding one stream (software decoding), main and sub
    streams, H.264 and H.265, in software and, where a device works here, on the hardware: decode only (a hidden or busy tile), and decode plus the RGB conversion to a
    640x360 tile; a busy scene (noise, at a camera's usual bit rate) and, without --quick, a plain one. The encoder
    runs in the server's process and is not counted. On 2 shared cores the server may not keep up at 1080p:
    fps_received says what was decoded, cpu_ms_per_frame holds anyway."""
    from console.video.ffmpeg import FFmpegPlayer
    from tests.support.stream_waits import wait_until

    hw = _hw_decoders()
    emit("hw_decoding", hw, "devices",
         note=("software and hardware decoding measured below" if hw["working"] else
               f"no hardware device worked (tried {', '.join(hw['tried']) or 'none'}): software decoding only"))
    decoders = ["off"] + (["auto"] if hw["working"] else [])  # the player's hw_decode setting
    sizes = [("640x360", "sub"), ("1280x720", "main")] if quick else [
        ("640x360", "sub"), ("1280x720", "main"), ("1920x1080", "main")]
    scenes = ("busy",) if quick else ("busy", "plain")
    for codec, (size, role), scene in ((c, s, p) for c in ("h264", "h265") for s in sizes for p in scenes):
        kbps = {"640x360": 512, "1280x720": 2048, "1920x1080": 4096}[size]  # cameras' usual bit rates
        # busy: noise keeps the encoder at the bit rate, as a street scene does; plain: a ball on black
        server = RtspServer("--codec", codec, "--size", size, "--kbps", str(kbps),
                            "--pattern", "snow" if scene == "busy" else "ball").start()
        try:
            for convert, hw_decode in ((c, d) for c in (False, True) for d in decoders):
                player = FFmpegPlayer(StreamSource(server.url("cam")), reconnect=False, hw_decode=hw_decode,
                                      output_size=(640, 360) if convert else None,
                                      frame_wanted=(lambda: True) if convert else (lambda: False))
                player.start()
                if not wait_until(lambda: player.stats.frames >= 5 or player.state.value == "error", 20):
                    player.stop()
                    player.join(10)
                    continue
                cpu0, frames0, t0 = cpu_seconds(), player.stats.frames, time.monotonic()
                time.sleep(secs)
                cpu1, frames1, t1 = cpu_seconds(), player.stats.frames, time.monotonic()
                player.stop()
                player.join(10)
                frames = frames1 - frames0
                decoder = player.stats.info.decoder or "software"
                emit(f"decode_cpu_{codec}_{size.split('x')[1]}p_{role}_{scene}{'_to_tile' if convert else ''}"
                     f"{'' if decoder == 'software' else '_hw_' + decoder}",
                     round((cpu1 - cpu0) / (t1 - t0), 3), "cpu_s_per_stream_s", decoder=decoder,
                     decoder_note=player.stats.info.decoder_note,
                     fps_received=round(frames / (t1 - t0), 1),
                     cpu_ms_per_frame=round(1000 * (cpu1 - cpu0) / frames, 2) if frames else None,
                     streams_per_core=round((t1 - t0) / (cpu1 - cpu0), 1) if cpu1 > cpu0 else None)
        finally:
            server.stop()


def hanging_and_frozen(factory) -> None:
    """The figures behind the tests that wait on events: GUI time with a hanging camera, stall and timeout delays."""
    import signal

    from console.video.ffmpeg import FFmpegPlayer
    from console.video.player import PlayerState
    from tests.support.rtsp_stream import SilentServer
    from tests.support.stream_waits import Recorder, wait_until

    silent = SilentServer()
    try:
        tile = VideoTile(factory)
        tile.resize(640, 480)
        tile.show()
        began = time.monotonic()
        tile.open_view(view(f"rtsp://127.0.0.1:{silent.port}/cam", 90))
        opened = time.monotonic() - began
        began = time.monotonic()
        tile.close_view()
        closed = time.monotonic() - began
        emit("hanging_camera_open_view_gui_ms", round(1000 * opened, 1), "ms", target="< 1000")
        emit("hanging_camera_close_view_gui_ms", round(1000 * closed, 1), "ms", target="< 1000")
        tile.wait_stopped(30)
        tile.deleteLater()
        rec = Recorder()
        began = time.monotonic()
        player = FFmpegPlayer(StreamSource(f"rtsp://127.0.0.1:{silent.port}/cam"), **rec.kw(), reconnect=False,
                              connect_timeout=1.5)
        player.start()
        wait_until(lambda: player.state is PlayerState.ERROR, 60)
        emit("never_answering_server_error_s", round(time.monotonic() - began, 2), "s", connect_timeout_s=1.5,
             target="< 6")
        player.stop()
        player.join(30)
    finally:
        silent.close()
    server = RtspServer().start()
    rec = Recorder()
    player = FFmpegPlayer(StreamSource(server.url("cam")), **rec.kw(), stall_after=3.0)
    player.start()
    try:
        wait_until(lambda: player.stats.frames >= 5, 20)
        os.kill(server.proc.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        wait_until(lambda: rec.seen(PlayerState.STALLED), 60)
        stalled = rec.when(PlayerState.STALLED)
        emit("frozen_stream_stalled_after_s", round(stalled - frozen_at, 2) if stalled else None, "s",
             stall_after_s=3.0, target="<= 3.6")
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
        player.stop()
        player.join(30)
        server.stop()


def walls(factory, secs: float, layouts) -> None:
    for size, grid in layouts:
        server = RtspServer("--size", size, "--shared", "--kbps", "2000" if grid == 3 else "800").start()
        try:
            load = wall_load(factory, server.url("cam"), grid, secs, server.proc.pid)
            emit(f"wall_{grid * grid}x{size.split('x')[1]}p_lost", load.pop("lost_pct"), "%", target=1.0, **load)
        finally:
            server.stop()


if __name__ == "__main__":
    main()

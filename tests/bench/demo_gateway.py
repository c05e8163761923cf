"""Demo gateway benchmark on loopback, one JSON line per figure: first frame over WHEP and over HLS (cold: the
camera's feed not running yet; warm: another viewer already watches it), and the CPU one camera's feed costs.

Run: `.venv/bin/python tests/bench/demo_gateway.py [--quick]`. The real gateway (console/demo) and the console's
real players (aiortc WHEP, libVLC HLS) in one process, no Qt. Not a test: figures, not verdicts.
--quick: two runs each, a short CPU window.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

from console.demo.cameras import DemoCamera  # noqa: E402
from console.demo.gateway import DemoGateway  # noqa: E402
from console.domain.cameras import StreamProtocol  # noqa: E402
from console.video.factory import PlayerFactory  # noqa: E402
from console.video.source import StreamSource  # noqa: E402


def emit(figure: str, value, unit: str, **extra) -> None:
    print(json.dumps({"figure": figure, "value": value, "unit": unit, **extra}), flush=True)


def first_frame_ms(factory: PlayerFactory, source: StreamSource, timeout: float = 30.0) -> float | None:
    got = threading.Event()
    player = factory.create(source, on_frame=lambda frame: got.set(), reconnect=False)
    player.start()
    try:
        got.wait(timeout)
        return player.stats.first_frame_ms
    finally:
        player.stop()
        player.join(10)


def summary(values: list) -> dict:
    found = [v for v in values if v is not None]
    return {"median": round(statistics.median(found), 1) if found else None,
            "min": round(min(found), 1) if found else None, "max": round(max(found), 1) if found else None,
            "runs": len(values), "failed": len(values) - len(found)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs, cpu_window_s, cpu_cameras = (2, 3.0, 2) if args.quick else (7, 15.0, 4)
    cameras = [DemoCamera.of(f"gw-{n}/cam1", f"Bench camera {n}", "viewer", f"pw-{n}") for n in range(1, 2 * runs + 8)]
    gateway = DemoGateway(cameras, idle_stop_s=60.0).start()
    factory = PlayerFactory()
    spare = iter(cameras)

    def source(camera: DemoCamera, protocol: str) -> StreamSource:
        return StreamSource(gateway.url_for(camera.key, protocol), username=camera.username, password=camera.password,
                            protocol=StreamProtocol.WHEP if protocol == "whep" else StreamProtocol.HLS)

    try:
        for protocol, backend in (("whep", "webrtc"), ("hls", "vlc")):
            cold = [first_frame_ms(factory, source(next(spare), protocol)) for _ in range(runs)]
            emit(f"{protocol}_first_frame_cold", summary(cold), "ms", backend=backend,
                 note="the camera's feed starts with the request")
            warm_camera = next(spare)
            keeper = factory.create(source(warm_camera, protocol), reconnect=False, on_frame=lambda f: None)
            keeper.start()  # another viewer keeps the feed running (and its HLS playlist filled)
            time.sleep(3.0)
            warm = [first_frame_ms(factory, source(warm_camera, protocol)) for _ in range(runs)]
            keeper.stop()
            keeper.join(10)
            emit(f"{protocol}_first_frame_warm", summary(warm), "ms", backend=backend,
                 note="the camera's feed already running for another viewer")
        for feed in gateway.feeds.values():
            feed.stop()
        busy = [gateway._feed(next(spare)) for _ in range(cpu_cameras)]
        for feed in busy:
            feed.want()
        time.sleep(1.5)  # past the encoders' start
        cpu0, wall0 = time.process_time(), time.monotonic()
        while time.monotonic() - wall0 < cpu_window_s:
            for feed in busy:
                feed.want()  # as HLS requests keep it: the feed renders, encodes and writes its playlist
            time.sleep(0.5)
        share = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100.0
        emit("cpu_per_camera", round(share / cpu_cameras, 1), "% of one core", cameras=cpu_cameras,
             window_s=cpu_window_s, note="render 640x360 at 10 fps, one H.264 encode, HLS write; no viewer")
    finally:
        factory.close()
        gateway.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: streets without a tile server (setting streets_geojson) at city size. Not a test: one JSON line per figure.

Run: .venv/bin/python tests/bench/streets.py [--cameras 100000] [--quick]
Figures:
  streets_load_s    read and check the GeoJSON file (off the GUI thread in the console)
  streets_push_s    the lines into the live page through runJavaScript, drawn once (setStreets returns after drawing)
  streets_redraw_s  one redraw of the canvas at street zoom (what each pan or zoom costs), median of several
Runs offscreen (QT_QPA_PLATFORM=offscreen) unless a display is set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def emit(figure: str, **fields) -> None:
    print(json.dumps({"figure": figure, **fields, "python": platform.python_version(), "cpus": os.cpu_count()}),
          flush=True)


def wait_for(app, box: dict, key: str, seconds: float = 60.0):
    end = time.monotonic() + seconds
    while key not in box:
        if time.monotonic() > end:
            raise SystemExit(f"the page never answered {key}")
        app.processEvents()
        time.sleep(0.001)
    return box.pop(key)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=100_000, help="demo town size (100,000: about 65,000 segments)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--unjoined", action="store_true",
                        help="every segment a line of its own (as a layer whose names do not join would be)")
    args = parser.parse_args()
    cameras = 2500 if args.quick else args.cameras
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from console.app import qt_application
    from console.gui.map.streets import load_streets
    from console.gui.map.view import DEFAULT_CENTER, MapView
    from console.paths import resources_dir
    from console.services.demo_town import Town, streets_geojson, write_demo_streets

    segments = len(streets_geojson(Town(cameras, 1))["features"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "streets.geojson"
        write_demo_streets(path, cameras=cameras)
        started = time.perf_counter()
        lines, _skipped = load_streets(path)
        if args.unjoined:
            from console.gui.map.streets import streets_from_geojson

            document = json.loads(path.read_text())
            for n, feature in enumerate(document["features"]):
                feature["properties"] = {"name": f"Street {n}"}
            lines, _skipped = streets_from_geojson(document)
        emit("streets_load_s", seconds=round(time.perf_counter() - started, 3), segments=segments,
             joined_lines=len(lines), file_mb=round(path.stat().st_size / 1e6, 1))

    app = qt_application()
    view = MapView(resources_dir(), center=DEFAULT_CENTER)
    view.resize(1600, 950)
    view.show()
    while not view.ready:
        app.processEvents()
        time.sleep(0.002)
    box: dict = {}
    started = time.perf_counter()
    view.set_streets(lines, lambda count: box.setdefault("pushed", count))
    count = wait_for(app, box, "pushed")
    emit("streets_push_s", seconds=round(time.perf_counter() - started, 3), lines=count, segments=segments)
    runs = []
    for _ in range(3 if args.quick else 10):
        started = time.perf_counter()
        view.run_js("rtic.setTheme('dark'); JSON.parse(rtic.streetsState()).labels.length",
                    lambda labels: box.setdefault("drawn", labels))
        wait_for(app, box, "drawn")
        runs.append(time.perf_counter() - started)
    emit("streets_redraw_s", median=round(statistics.median(runs), 4), runs=[round(r, 4) for r in runs],
         note="a theme repaint redraws the whole canvas, as a pan or zoom does")
    from PySide6.QtCore import QCoreApplication, QEvent

    view.close_page()  # the page before its profile (QtWebEngine crashes at exit otherwise)
    view.deleteLater()
    for _ in range(20):
        app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        time.sleep(0.01)


if __name__ == "__main__":
    main()

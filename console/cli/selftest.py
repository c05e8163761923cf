"""`rtic-console self-test`: check this installation end to end (Qt, a demo registry, the map, video) for support staff."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from console import __version__
from console.cli.args import integer, number


def register(subparsers, common) -> None:
    parser = subparsers.add_parser(
        "self-test", parents=[common],
        help="check this installation: settings, Qt and QtWebEngine, a temporary demo registry, the window with "
             "its map, video decoding; exit status 0 when all pass")
    parser.add_argument("--json", action="store_true", help="after the lines, print a one-line JSON summary")
    parser.add_argument("--offscreen", action="store_true",
                        help="draw nothing on the screen (the default where there is no display)")
    parser.add_argument("--cameras", type=_cameras, default=200, metavar="N",
                        help="cameras in the temporary demo registry (default 200)")
    parser.add_argument("--clip", type=Path, metavar="FILE", help="video file to play (default: the shipped clip)")
    parser.add_argument("--timeout", type=_seconds, default=60.0, metavar="S",
                        help="give each check this long (default 60 s)")
    parser.set_defaults(func=_self_test)


_cameras = integer("cameras", 1, 100_000)
_seconds = number("timeout", 1, 600)


def _self_test(args) -> int:
    from console.app import run_self_test

    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    started = time.monotonic()

    window_s: list[float] = []

    def line(check) -> None:
        print(f"{check.name:<9} {'ok' if check.ok else 'FAILED'}  {check.detail} ({check.seconds:.2f} s)", flush=True)
        age = _process_age()
        if check.name == "map" and check.ok and age is not None:
            window_s.append(round(age, 2))

    results = run_self_test(args.clip, cameras=args.cameras, timeout=args.timeout, report=line)
    ok = all(check.ok for check in results)
    seconds = round(time.monotonic() - started, 2)
    started_in = f"; the window with its map was ready {window_s[0]:.1f} s after the program started" if window_s else ""
    print(f"self-test {'passed' if ok else 'FAILED'} in {seconds:.1f} s{started_in}", flush=True)
    if args.json:
        print(json.dumps({"ok": ok, "version": __version__, "seconds": seconds,
                          "window_ready_s": window_s[0] if window_s else None,
                          "checks": [vars(check) for check in results]}))
    return 0 if ok else 1


def _process_age() -> float | None:
    """Seconds since this process started (Linux: from /proc), or None where that cannot be read."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
        return up - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None

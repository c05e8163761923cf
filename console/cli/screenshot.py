"""`rtic-console screenshot OUT.png`: the real console window on the current database, saved as an image."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from console.cli.args import number


def register(subparsers, common) -> None:
    parser = subparsers.add_parser(
        "screenshot", parents=[common],
        help="render the console window (offscreen where there is no display) and save it as an image")
    parser.add_argument("out", type=Path, metavar="OUT.png", help="image file to write (.png or .jpg)")
    parser.add_argument("--incident", nargs=2, type=number("coordinate", -180, 180), metavar=("LAT", "LON"),
                        help="incident location (default: the most urgent open incident)")
    parser.add_argument("--radius", type=_radius, metavar="M", help="search radius in metres (default: settings)")
    parser.add_argument("--theme", choices=("dark", "light"), help="colour theme (default: settings)")
    parser.add_argument("--size", type=_size, default=(1600, 950), metavar="WxH",
                        help="window size in pixels (default 1600x950)")
    parser.set_defaults(func=_screenshot)


_radius = number("radius", 10, 100_000)


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{3,5})[xX](\d{3,5})", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT, for example 1600x950")
    width, height = int(match.group(1)), int(match.group(2))
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
        raise argparse.ArgumentTypeError(f"size {text} is out of range: 320x240 to 7680x4320")
    return width, height


def _screenshot(args) -> int:
    from console.app import render_screenshot
    from console.domain.geo import validate_point
    from console.errors import UserError

    incident = tuple(args.incident) if args.incident else None
    if incident is not None:
        try:
            validate_point(*incident)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    render_screenshot(args.out, args.db, incident=incident, radius=args.radius, theme=args.theme, size=args.size)
    print(json.dumps({"screenshot": str(args.out)}))
    return 0

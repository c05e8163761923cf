"""`rtic-console geocode "ADDRESS" [--json]`: ask the configured geocoder, as the console would, to test a workstation.

Prints each candidate with its score, coordinates and whether it is inside the service area (setting
`service_area`). Exit status 0 when something was found, 1 when nothing was, 2 on an error (one line on stderr).
"""

from __future__ import annotations

import json
import sys

from console.cli.args import integer
from console.errors import UserError
from console.geo.service_area import load_service_area
from console.settings import load_settings

MAX_RESULTS = 50


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("geocode", parents=[common],
                                   help="look an address up with the configured geocoder (settings geocoder_kind, "
                                        "geocoder_url)")
    parser.add_argument("address", metavar="ADDRESS")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of lines of text")
    parser.add_argument("--limit", metavar="N", type=integer("--limit", 1, MAX_RESULTS), default=5,
                        help=f"at most this many candidates, 1..{MAX_RESULTS} (default: %(default)s)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from console.geo.geocoder import geocoder_from_settings  # requests: loaded only for this command

    settings = load_settings()
    area = load_service_area(settings.service_area)
    geocoder = geocoder_from_settings(settings, service_area=area)  # no cache: the point is to ask the service
    if geocoder is None:
        raise UserError("no geocoder is configured: set geocoder_kind and geocoder_url "
                        "(`rtic-console config set geocoder_url URL`)")
    found = geocoder.lookup(args.address, limit=args.limit)
    if args.json:
        print(json.dumps({
            "geocoder": {"kind": geocoder.kind, "host": geocoder.host},
            "service_area": area.name if area else None,
            "candidates": [{"label": c.label, "lat": c.lat, "lon": c.lon, "score": c.score, "inside": c.inside}
                           for c in found]}, ensure_ascii=False))
    elif not found:
        print(f"no place found for {args.address!r} by the {geocoder.kind} geocoder at {geocoder.host}",
              file=sys.stderr)
    else:
        for c in found:
            score = "  -  " if c.score is None else f"{c.score:.2f}"
            where = "" if c.inside is None else ("  inside the service area" if c.inside
                                                  else "  OUTSIDE the service area")
            print(f"{score}  {c.lat:.6f}, {c.lon:.6f}  {c.label}{where}")
    return 0 if found else 1

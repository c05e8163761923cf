"""`rtic-console cameras near LAT LON --radius M`: the registered cameras nearest a point, for scripts and support.

A search near a point is what the window records as `search_near`: it signs in (`--user NAME`, any active
account) and is audited as that user, with the operating-system account beside it, before anything is printed.
"""

from __future__ import annotations

import json

from console.cli import signin
from console.cli.args import integer, number
from console.domain.audit import Action, AuditEntry
from console.domain.cameras import CameraStatus, SharingMode
from console.domain.geo import compass_point
from console.services.registry import MAX_RADIUS_M, RegistryService
from console.store.db import open_database
from console.store.spatial import NearbyFilter


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("cameras", parents=[common], help="find registered cameras")
    actions = parser.add_subparsers(dest="cameras_action", metavar="ACTION", required=True)
    near = actions.add_parser("near", parents=[common], help="cameras within a radius of a point, nearest first")
    near.add_argument("lat", type=number("latitude", -90, 90), help="latitude in decimal degrees (-90..90)")
    near.add_argument("lon", type=number("longitude", -180, 180), help="longitude in decimal degrees (-180..180)")
    near.add_argument("--radius", type=number("radius", 0, MAX_RADIUS_M), required=True, metavar="METRES", help="search radius in metres")
    near.add_argument("--live-only", action="store_true", help="only live-capable cameras")
    near.add_argument("--mode", action="append", choices=[m.value for m in SharingMode], metavar="MODE",
                      help="only this sharing mode (never, on_alert, always); repeatable")
    near.add_argument("--include-inactive", action="store_true", help="also cameras marked inactive")
    near.add_argument("--limit", type=integer("--limit", 1, 100_000), metavar="N", help="at most N cameras")
    signin.add_user_option(near)
    near.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    near.set_defaults(func=_near)


def _near(args) -> int:
    statuses = {CameraStatus.ACTIVE} | ({CameraStatus.INACTIVE} if args.include_inactive else set())
    where = NearbyFilter(
        live_only=args.live_only,
        sharing_modes=frozenset(SharingMode(m) for m in args.mode) if args.mode else None,
        statuses=frozenset(statuses),
    )
    from console.services.registry import check_search

    check_search(args.lat, args.lon, args.radius)  # before touching the database
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "cameras near")
        found = RegistryService(database).nearby(args.lat, args.lon, args.radius, where, args.limit)
        signed.audit.append(AuditEntry(Action.SEARCH_NEAR, signed.name, signed.workstation, details={
            "lat": round(args.lat, 6), "lon": round(args.lon, 6), "radius_m": args.radius, "found": len(found)}))
    if args.json:
        print(json.dumps([_as_json(c) for c in found], indent=None))
        return 0
    if not found:
        print(f"No cameras within {args.radius:g} m of {args.lat:.6f}, {args.lon:.6f}.")
        return 0
    print(f"{len(found)} camera(s) within {args.radius:g} m, nearest first:")
    print(f"{'ID':>8}  {'DIST':>7}  {'DIR':<3}  {'CAPABILITY':<10}  {'SHARING':<8}  {'LABEL':<14}  ADDRESS")
    for c in found:
        print(f"{c.id:>8}  {c.distance_m:>6.0f}m  {compass_point(c.bearing_deg):<3}  {c.capability.value:<10}  "
              f"{c.sharing_mode.value:<8}  {c.label[:14]:<14}  {c.address}")
    return 0


def _as_json(c) -> dict:
    fov = c.field_of_view
    return {
        "id": c.id,
        "label": c.label,
        "lat": c.lat,
        "lon": c.lon,
        "distance_m": round(c.distance_m, 2),
        "bearing_deg": round(c.bearing_deg, 1),
        "capability": c.capability.value,
        "sharing_mode": c.sharing_mode.value,
        "status": c.status.value,
        "address": c.address,
        "site_id": c.site_id,
        "owner_id": c.owner_id,
        "field_of_view": None if fov is None else {"bearing_deg": fov.bearing_deg, "angle_deg": fov.angle_deg,
                                                   "range_m": fov.range_m},
        "consent_at": c.consent_at.isoformat() if c.consent_at else None,
    }

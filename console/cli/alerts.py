"""`rtic-console alerts raise|list|end`: owner alerts entered by staff on the owner's call, and those in force.

Raising or ending an alert is a consent change recorded under the operating-system account that ran the command.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from console.domain.grants import GrantSource
from console.services.accounts import operator_name
from console.services.owner_alerts import (
    DEFAULT_MINUTES,
    MAX_MINUTES,
    OwnerAlertService,
)
from console.store.audit import AuditLog
from console.store.db import open_database


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("alerts", parents=[common], help="owner alerts (live access for a while)")
    actions = parser.add_subparsers(dest="alerts_action", metavar="ACTION", required=True)

    raise_ = actions.add_parser("raise", parents=[common],
                                help="open live access to a camera or a whole site, on the owner's word")
    target = raise_.add_mutually_exclusive_group(required=True)
    target.add_argument("--camera", type=int, metavar="ID", help="the camera's registry id")
    target.add_argument("--site", type=int, metavar="ID", help="the site's registry id (every camera there)")
    raise_.add_argument("--minutes", type=int, default=DEFAULT_MINUTES, metavar="N",
                        help=f"how long the alert lasts (default {DEFAULT_MINUTES}, at most {MAX_MINUTES})")
    raise_.add_argument("--source", default=GrantSource.STAFF.value, choices=[s.value for s in GrantSource],
                        help="how the owner raised it (default: staff, on the owner's call)")
    raise_.set_defaults(func=_raise)

    listing = actions.add_parser("list", parents=[common], help="alerts in force now")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    listing.set_defaults(func=_list)

    end = actions.add_parser("end", parents=[common], help="end an alert early")
    end.add_argument("grant_id", type=int, metavar="ID", help="the alert's id (`alerts list`)")
    end.set_defaults(func=_end)


def _raise(args) -> int:
    now = datetime.now(timezone.utc)
    with open_database(args.db) as database:
        grant = OwnerAlertService(database, AuditLog(database)).raise_alert(
            operator_name(), now, camera_id=args.camera, site_id=args.site, minutes=args.minutes,
            source=GrantSource(args.source))
    what = f"camera {args.camera}" if args.camera is not None else f"every camera at site {args.site}"
    print(f"Alert {grant.id}: {what} may be watched live until {_hm(grant.expires_at)}.")
    return 0


def _list(args) -> int:
    now = datetime.now(timezone.utc)
    with open_database(args.db) as database:
        found = OwnerAlertService(database, AuditLog(database)).active_alerts(now)
    if args.json:
        print(json.dumps([a.as_dict() for a in found]))
        return 0
    if not found:
        print("No owner alerts in force.")
        return 0
    print(f"{'ID':>6}  {'SOURCE':<12}  {'STARTED':<16}  {'EXPIRES':<16}  WHAT")
    for a in found:
        print(f"{a.grant_id:>6}  {a.source.value:<12}  {_hm(a.starts_at):<16}  {_hm(a.expires_at):<16}  "
              f"{a.what} ({a.address})")
    return 0


def _end(args) -> int:
    now = datetime.now(timezone.utc)
    with open_database(args.db) as database:
        OwnerAlertService(database, AuditLog(database)).end_alert(operator_name(), args.grant_id, now)
    print(f"Alert {args.grant_id} ended at {_hm(now)}.")
    return 0


def _hm(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")

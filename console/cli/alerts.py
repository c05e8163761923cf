"""`rtic-console alerts raise|list|end|close-incident`: owner alerts entered by staff on the owner's call, those in
force, and the "owner alert" incident a panic-button or app alert opened (closed by a dispatcher, audited).

Each signs in (`--user NAME`). Raising an alert is a consent change for roles that edit the registry (outreach,
administrators), exactly as in the window; any signed-in account may list alerts or end one (that only takes
access away). Staff enter what an owner said on the phone, the app or the panic button: only the portal's feed
itself may record a `feed` alert. Each change is recorded under the console user, the OS account beside it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from console.cli import signin
from console.cli.args import identifier, integer
from console.domain.grants import GrantSource
from console.domain.users import Permission
from console.errors import UserError
from console.services.owner_alerts import (
    DEFAULT_MINUTES,
    MAX_MINUTES,
    OwnerAlertService,
)
from console.store.db import open_database

FEED_REFUSED = ("an alert entered by staff cannot claim --source feed: only the portal's registry feed records "
                "those (give staff, app or panic_button: how the owner told you)")


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("alerts", parents=[common], help="owner alerts (live access for a while)")
    actions = parser.add_subparsers(dest="alerts_action", metavar="ACTION", required=True)

    raise_ = actions.add_parser("raise", parents=[common],
                                help="open live access to a camera or a whole site, on the owner's word")
    target = raise_.add_mutually_exclusive_group(required=True)
    target.add_argument("--camera", type=identifier("--camera"), metavar="ID", help="the camera's registry id")
    target.add_argument("--site", type=identifier("--site"), metavar="ID", help="the site's registry id (every camera there)")
    raise_.add_argument("--minutes", type=integer("--minutes", 1, MAX_MINUTES), default=DEFAULT_MINUTES, metavar="N",
                        help=f"how long the alert lasts (default {DEFAULT_MINUTES}, at most {MAX_MINUTES})")
    raise_.add_argument("--source", default=GrantSource.STAFF.value, choices=[s.value for s in GrantSource],
                        help="how the owner raised it (default: staff, on the owner's call; never feed)")
    signin.add_user_option(raise_)
    raise_.set_defaults(func=_raise)

    listing = actions.add_parser("list", parents=[common], help="alerts in force now")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    signin.add_user_option(listing)
    listing.set_defaults(func=_list)

    end = actions.add_parser("end", parents=[common], help="end an alert early")
    end.add_argument("grant_id", type=identifier("the alert's ID"), metavar="ID", help="the alert's id (`alerts list`)")
    signin.add_user_option(end)
    end.set_defaults(func=_end)

    close = actions.add_parser("close-incident", parents=[common],
                               help="close the incident a panic-button or app alert opened (the alert itself stays)")
    close.add_argument("incident_id", type=identifier("the incident's ID"), metavar="ID", help="the incident's id")
    close.add_argument("--note", default="", metavar="TEXT", help="why (at most 500 characters), kept in the audit")
    signin.add_user_option(close)
    close.set_defaults(func=_close_incident)


def _raise(args) -> int:
    if GrantSource(args.source) is GrantSource.FEED:
        raise UserError(FEED_REFUSED)
    now = datetime.now(timezone.utc)
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "alerts raise", Permission.REGISTRY_EDIT)
        grant = OwnerAlertService(database, signed.audit, signed.workstation).raise_alert_as(
            signed.user, now, camera_id=args.camera, site_id=args.site, minutes=args.minutes,
            source=GrantSource(args.source))
    what = f"camera {args.camera}" if args.camera is not None else f"every camera at site {args.site}"
    print(f"Alert {grant.id}: {what} may be watched live until {_hm(grant.expires_at)}.")
    return 0


def _list(args) -> int:
    now = datetime.now(timezone.utc)
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "alerts list")
        found = OwnerAlertService(database, signed.audit, signed.workstation).active_alerts(now)
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
        signed = signin.sign_in(args, database, "alerts end")
        OwnerAlertService(database, signed.audit, signed.workstation).end_alert_as(signed.user, args.grant_id, now)
    print(f"Alert {args.grant_id} ended at {_hm(now)}.")
    return 0


def _close_incident(args) -> int:
    now = datetime.now(timezone.utc)
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "alerts close-incident", Permission.LIVE_VIEW)
        OwnerAlertService(database, signed.audit, signed.workstation).close_incident_as(
            signed.user, args.incident_id, now, note=args.note)
    print(f"Incident {args.incident_id} closed at {_hm(now)}.")
    return 0


def _hm(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")

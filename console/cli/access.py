"""`rtic-console access explain`: why a user may or may not open a camera live, and the rule behind it.

What support staff run when someone asks "why can't I open this camera?". It opens no stream; it records an
ACCESS_EXPLAIN audit event naming who asked (the operating-system account) and about whom.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from console.domain.access import DEFAULT_MAX_SESSION, Purpose
from console.errors import UserError
from console.services.accounts import operator_name
from console.services.viewing import ViewingService
from console.store.audit import AuditLog
from console.store.db import open_database


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("access", help="explain live-view decisions", parents=[common])
    actions = parser.add_subparsers(dest="access_action", metavar="ACTION", required=True)
    explain = actions.add_parser(
        "explain", parents=[common],
        help="say whether a user may open a camera live now (or at --at), and which rule decides",
    )
    explain.add_argument("camera_id", metavar="CAMERA_ID", type=int, help="the camera's registry id")
    explain.add_argument("--user", required=True, metavar="NAME", help="the console user asking to watch")
    explain.add_argument("--incident", metavar="CAD_NUMBER", help="the incident the view would be for")
    explain.add_argument("--reason", metavar="TEXT", default="", help="the reason the user would give")
    explain.add_argument("--at", metavar="ISO_TIME", help="decide at this time (default: now; no zone means UTC)")
    explain.add_argument("--max-session", metavar="MINUTES", type=int, default=int(DEFAULT_MAX_SESSION.total_seconds() // 60),
                         help="longest view before a new reason is needed (default: %(default)s)")
    explain.add_argument("--json", action="store_true", help="print one JSON object")
    explain.set_defaults(func=_explain)


def parse_time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UserError(f"--at {text!r} is not a time: write it like 2026-11-23T22:05:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _explain(args) -> int:
    now = parse_time(args.at)
    if args.max_session <= 0:
        raise UserError(f"--max-session {args.max_session} is not valid: give a number of minutes above 0")
    with open_database(args.db) as database:
        service = ViewingService(database, AuditLog(database), max_session=timedelta(minutes=args.max_session))
        decision = service.explain(operator_name(), args.user, args.camera_id,
                                   Purpose(reason=args.reason or "", cad_number=args.incident), now)
    if args.json:
        print(json.dumps({"camera_id": args.camera_id, "user": args.user, "at": now.isoformat(),
                          **decision.as_dict()}))
        return 0
    if decision.allowed:
        print(f"ALLOWED until {decision.expires_at:%Y-%m-%d %H:%M:%S} UTC (rule: {decision.rule})")
        print(f"  {decision.reason}")
    else:
        print(f"DENIED (rule: {decision.rule})")
        print(f"  {decision.reason}")
        if decision.other_rules:
            print(f"  also failing: {', '.join(decision.other_rules)}")
    return 0

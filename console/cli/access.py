"""`rtic-console access explain`: why a user may or may not open a camera live, and the rule behind it.

What support staff run when someone asks "why can't I open this camera?". It opens no stream; it signs in
(`--user NAME`) and records an ACCESS_EXPLAIN audit event naming who asked (the console account, with the
operating-system account beside it) and about whom. Anyone may ask about their own access; asking about another
user's (`--for NAME`) needs the audit view permission (supervisors, auditors, administrators).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from console.cli import signin
from console.cli.args import identifier, integer
from console.domain.access import DEFAULT_MAX_SESSION, Purpose
from console.domain.users import Permission
from console.errors import UserError
from console.services.viewing import ViewingService
from console.store.db import open_database
from console.store.registry import find_incident


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("access", help="explain live-view decisions", parents=[common])
    actions = parser.add_subparsers(dest="access_action", metavar="ACTION", required=True)
    explain = actions.add_parser(
        "explain", parents=[common],
        help="say whether a user may open a camera live now (or at --at), and which rule decides",
    )
    explain.add_argument("camera_id", metavar="CAMERA_ID", type=identifier("CAMERA_ID"), help="the camera's registry id")
    signin.add_user_option(explain)
    explain.add_argument("--for", dest="subject", metavar="NAME",
                         help="the console user asking to watch (default: the signed-in user; another user's access "
                              "needs the audit view permission)")
    explain.add_argument("--incident", metavar="CAD_NUMBER", help="the incident the view would be for")
    explain.add_argument("--reason", metavar="TEXT", default="", help="the reason the user would give")
    explain.add_argument("--at", metavar="ISO_TIME", help="decide at this time (default: now; no zone means UTC)")
    explain.add_argument("--max-session", metavar="MINUTES", type=integer("--max-session", 1, 24 * 60),
                         default=int(DEFAULT_MAX_SESSION.total_seconds() // 60),
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
    with open_database(args.db) as database:
        about_other = bool(args.subject) and args.subject.strip() != (args.signin_user or "").strip()
        signed = signin.sign_in(args, database, "access explain", Permission.AUDIT_VIEW if about_other else None)
        subject = args.subject.strip() if about_other else signed.name
        cad = (args.incident or "").strip()
        if cad:
            with database.engine.connect() as conn:
                if find_incident(conn, cad) is None:
                    raise UserError(f"there is no incident with CAD number {cad[:40]!r} in the registry: check the "
                                    "number (`rtic-console cad import` brings an incident in from CAD)")
        service = ViewingService(database, signed.audit, workstation=signed.workstation,
                                 max_session=timedelta(minutes=args.max_session))
        decision = service.explain(signed.name, subject, args.camera_id,
                                   Purpose(reason=args.reason or "", cad_number=cad or None), now)
    if args.json:
        print(json.dumps({"camera_id": args.camera_id, "user": subject, "at": now.isoformat(),
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

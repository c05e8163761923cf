"""`rtic-console audit verify|export|report|list|restrict|keygen|checkpoint`: check the hash chain, export for auditors,
publish monthly figures; keygen and checkpoint (signed proof of the chain's head) are in cli/audit_checkpoints.py.

`verify` exits 0 when the chain is intact and 1 (naming the first broken event) when it is not, or when it does not
match a checkpoint signed by the auditor's key (`--pubkey`), or a guard of the trail is missing.
`verify` and `export` are themselves audited. `list` and `report` sign in (`--user NAME`) with the audit view
permission (supervisors, auditors, administrators), `export` with audit export (auditors), as in the window; their
events name the console user with the operating-system account beside it. `--by NAME` picks one user's events.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from console.cli import audit_checkpoints
from console.cli import signin
from console.cli.args import identifier, integer
from console.domain.audit import AuditFilter
from console.domain.users import Permission
from console.errors import UserError
from console.services.audit_reports import EXPORT_FORMATS, AuditService
from console.store.audit import AuditLog, restrict_privileges
from console.store.db import open_database

_ANCHOR = re.compile(r"^(\d+):([0-9a-fA-F]{64})$")
MAX_LIST = 1_000_000  # `audit export` is for more


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("audit", parents=[common], help="audit trail: verify, export, report, list")
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)

    verify = actions.add_parser("verify", parents=[common], help="check that no audit event was changed or removed")
    verify.add_argument("--anchor", metavar="SEQ:HASH",
                        help="an event's sequence number and hash from an earlier check or export, to also catch "
                             "events cut off the end or a rewritten chain")
    verify.add_argument("--json", action="store_true", help="print the result as one JSON object")
    audit_checkpoints.add_verify_options(verify)
    verify.set_defaults(func=_verify)

    export = actions.add_parser("export", parents=[common], help="write matching events and the chain check to a file")
    _filters(export)
    export.add_argument("--format", choices=EXPORT_FORMATS, default="csv", help="csv (default) or pdf")
    export.add_argument("--output", "-o", metavar="FILE", help="file to write (default: audit-export-<time>.<format>)")
    signin.add_user_option(export)
    export.set_defaults(func=_export)

    report = actions.add_parser("report", parents=[common], help="the monthly transparency report (no personal data)")
    report.add_argument("--month", metavar="YYYY-MM", help="the month (UTC)")
    report.add_argument("--year", metavar="YYYY", type=integer("--year", 2000, 2100),
                        help="the public year report with charts (--format pdf, html, csv or json; --output FILE)")
    report.add_argument("--format", choices=("text", "json", "csv", "pdf", "html"), default="text",
                        help="text (default), json or csv; the year report also pdf and html")
    report.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    signin.add_user_option(report)
    report.set_defaults(func=_report)

    restrict = actions.add_parser("restrict", parents=[common],
                                  help="PostgreSQL: let the consoles' login role only read and append audit events")
    restrict.add_argument("--role", required=True, metavar="ROLE", help="the role the consoles log in as")
    restrict.set_defaults(func=_restrict)

    listing = actions.add_parser("list", parents=[common], help="print matching events, oldest first")
    _filters(listing)
    listing.add_argument("--limit", type=integer("--limit", 1, MAX_LIST), default=100, metavar="N",
                         help=f"at most N events (default 100, at most {MAX_LIST:,})")
    signin.add_user_option(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=_list)
    audit_checkpoints.register(actions, common)


def _filters(parser) -> None:
    parser.add_argument("--from", dest="since", type=_when(end=False), metavar="WHEN",
                        help="from this UTC date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM), inclusive")
    parser.add_argument("--to", dest="until", type=_when(end=True), metavar="WHEN",
                        help="up to this UTC date (the whole day) or time, inclusive")
    parser.add_argument("--by", dest="by_user", metavar="USERNAME", help="only this user's events")
    parser.add_argument("--camera", type=identifier("--camera"), metavar="ID", help="only events about this camera")
    parser.add_argument("--incident", type=identifier("--incident"), metavar="ID",
                        help="only events about this incident")
    parser.add_argument("--action", action="append", metavar="ACTION", help="only this action (repeatable)")


def _when(end: bool):
    def parse(text: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a date or time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)") from None
        date_only = len(text.strip()) == 10
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        if end:
            # "--to 2026-11-30" means to the end of that day; a time means up to and including that millisecond.
            moment = (datetime.combine(moment.date(), time(), timezone.utc) + timedelta(days=1) if date_only
                      else moment + timedelta(milliseconds=1))
        return moment
    return parse


def _where(args) -> AuditFilter:
    if args.since and args.until and args.since >= args.until:
        raise UserError("--from must be before --to")
    return AuditFilter(since=args.since, until=args.until, username=args.by_user, camera_id=args.camera,
                       incident_id=args.incident, actions=tuple(args.action or ()))


@contextmanager
def _service(args) -> Iterator[AuditService]:
    with open_database(args.db) as database:
        yield AuditService(AuditLog(database))


@contextmanager
def _signed_service(args, command: str, permission: Permission) -> Iterator[tuple[AuditService, signin.SignedIn]]:
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, command, permission)
        yield AuditService(signed.audit), signed


def _verify(args) -> int:
    anchor = None
    if args.anchor:
        match = _ANCHOR.match(args.anchor.strip())
        if not match:
            raise UserError(f"--anchor {args.anchor!r} is not SEQ:HASH (a number, a colon, 64 hex digits)")
        anchor = (int(match.group(1)), match.group(2).lower())
    return audit_checkpoints.verify_with_checkpoints(args, anchor)


def _export(args) -> int:
    where = _where(args)
    output = args.output or f"audit-export-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.{args.format}"
    with _signed_service(args, "audit export", Permission.AUDIT_EXPORT) as (service, signed):
        result = service.export(Path(output), args.format, where, signed.name, signed.workstation)
    print(json.dumps({"file": str(result.path), "format": result.format, "events": result.events,
                      "sha256": result.sha256, "chain_ok": result.verification.ok}))
    if not result.verification.ok:
        print(f"rtic-console: warning: {result.verification.summary()}", file=sys.stderr)
    return 0


def _report(args) -> int:
    if args.year is not None:
        from console.cli.transparency import year_report

        return year_report(args)
    if not args.month:
        raise UserError("give --month YYYY-MM (the monthly report) or --year YYYY (the public year report)")
    if args.format in ("pdf", "html"):
        raise UserError(f"--format {args.format} is for the year report: give --year YYYY")
    with _signed_service(args, "audit report", Permission.AUDIT_VIEW) as (service, _):
        report = service.monthly_report(args.month)
    text = {"text": report.to_text, "json": lambda: report.to_json() + "\n", "csv": report.to_csv}[args.format]()
    if args.output:
        target = Path(args.output)
        if not target.parent.is_dir():
            raise UserError(f"cannot write {target}: the folder {target.parent} does not exist")
        target.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _list(args) -> int:
    where = _where(args)
    with _signed_service(args, "audit list", Permission.AUDIT_VIEW) as (service, _):
        records = service.events(AuditFilter(**{**where.__dict__, "limit": args.limit}))
    for r in records:
        if args.json:
            print(json.dumps({"seq": r.seq, "occurred_at": r.occurred_at, "username": r.username,
                              "workstation": r.workstation, "action": r.action, "outcome": r.outcome,
                              "camera_id": r.camera_id, "incident_id": r.incident_id, "details": r.details,
                              "hash": r.hash}, ensure_ascii=False))
        else:
            print(f"{r.seq:>7} {r.occurred_at} {r.username:<16} {r.action:<16} {r.outcome:<7} "
                  f"cam={r.camera_id or '-'} inc={r.incident_id or '-'} {r.details_json}")
    return 0


def _restrict(args) -> int:
    with open_database(args.db) as database:
        statements = restrict_privileges(database, args.role)
    print(json.dumps({"role": args.role, "statements": statements}))
    return 0

"""`rtic-console retention hold|holds|release|plan|run`: legal holds and the purge the agency's limits call for.

Holds are placed, listed and released by a supervisor or an administrator (`--user NAME`), each with a reason and
audited. `plan` shows what a run would purge (counts by kind, the oldest, why it is due) to anyone who may read the
audit trail; `run` purges it as an administrator, connected as the tables' owner or the purge role (never the
consoles' role), with the auditor's signing key for the audit trail's cut.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from console.cli import signin
from console.cli.args import identifier, integer
from console.domain.retention import HoldTarget
from console.domain.users import Permission
from console.errors import UserError
from console.services.retention import Places, RetentionService, environment_places
from console.settings import load_settings
from console.store import registry as registry_repo
from console.store.db import open_database


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("retention", parents=[common], help="legal holds and the retention purge")
    actions = parser.add_subparsers(dest="retention_action", metavar="ACTION", required=True)

    hold = actions.add_parser("hold", parents=[common], help="place a legal hold (supervisor or administrator)")
    target = hold.add_mutually_exclusive_group(required=True)
    target.add_argument("--incident", metavar="CAD_NUMBER", help="hold an incident (by its CAD number)")
    target.add_argument("--request", metavar="ID", type=identifier("--request"), help="hold a footage request")
    target.add_argument("--camera", metavar="ID", type=identifier("--camera"), help="hold a camera")
    hold.add_argument("--reason", required=True, help="why (case number, order or request); at most 500 characters")
    signin.add_user_option(hold)
    hold.set_defaults(func=_hold)

    listing = actions.add_parser("holds", parents=[common], help="list legal holds")
    listing.add_argument("--all", action="store_true", help="released holds too")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    signin.add_user_option(listing)
    listing.set_defaults(func=_holds)

    release = actions.add_parser("release", parents=[common], help="release a legal hold")
    release.add_argument("hold_id", metavar="HOLD_ID", type=identifier("HOLD_ID"))
    release.add_argument("--reason", required=True, help="why it is released; at most 500 characters")
    signin.add_user_option(release)
    release.set_defaults(func=_release)

    plan = actions.add_parser("plan", parents=[common], help="what a run would purge, by kind (nothing changes)")
    plan.add_argument("--json", action="store_true", help="one JSON object per kind")
    plan.add_argument("--snapshots", metavar="FOLDER", type=Path, help="this user's snapshot folder (default: the "
                      "'RTIC snapshots' folder in their pictures)")
    signin.add_user_option(plan)
    plan.set_defaults(func=_plan)

    run = actions.add_parser("run", parents=[common], help="purge what is due (administrator; resumes a stopped run)")
    run.add_argument("--key", metavar="FILE", help="the auditor's private key, to sign the audit trail's cut "
                     "(default: the audit_signing_key setting; without one the trail is not cut)")
    run.add_argument("--batch", metavar="N", type=integer("--batch", 1, 100_000), default=500,
                     help="rows deleted per transaction (default 500)")
    run.add_argument("--if-due", action="store_true",
                     help="only when retention_run_every_hours says a run is due (for cron or a systemd timer)")
    run.add_argument("--snapshots", metavar="FOLDER", type=Path, help="this user's snapshot folder")
    run.add_argument("--progress", action="store_true", help="a line on stderr after each batch")
    run.add_argument("--json", action="store_true", help="print the run's counts as one JSON object")
    signin.add_user_option(run)
    run.set_defaults(func=_run)


def _service(database, settings, signed, args, batch: int = 500) -> RetentionService:
    places = environment_places(settings)
    folder = getattr(args, "snapshots", None)
    if folder is not None:
        if not folder.is_dir():
            raise UserError(f"--snapshots {str(folder)[:200]!r} is not a folder")
        places = Places(folder, places.evidence_dir, places.field_copy)
    return RetentionService(database, signed.audit, settings, signed.workstation, places, batch=batch)


def _hold(args) -> int:
    settings = load_settings()
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "retention hold")
        service = _service(database, settings, signed, args)
        if args.incident is not None:
            target, target_id = HoldTarget.INCIDENT, _incident_id(database, args.incident)
        elif args.request is not None:
            target, target_id = HoldTarget.FOOTAGE_REQUEST, args.request
        else:
            target, target_id = HoldTarget.CAMERA, args.camera
        hold = service.place_hold(signed.user, target, target_id, args.reason)
    print(f"legal hold {hold.id} placed on {hold.target.value.replace('_', ' ')} {hold.target_id}")
    return 0


def _incident_id(database, cad_number: str) -> int:
    text = cad_number.strip()
    if not text or len(text) > 64:
        raise UserError(f"--incident {cad_number[:80]!r} is not a CAD number")
    with database.engine.connect() as conn:
        incident = registry_repo.find_incident(conn, text)
    if incident is None:
        raise UserError(f"there is no incident with CAD number {text!r}: nothing was held")
    return incident.id


def _holds(args) -> int:
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "retention holds")
        found = _service(database, load_settings(), signed, args).holds(signed.user, args.all)
    for h in found:
        if args.json:
            print(json.dumps({"id": h.id, "target": h.target.value, "target_id": h.target_id, "reason": h.reason,
                              "held_by": h.held_by, "held_at": h.held_at.isoformat(), "active": h.active,
                              "released_by": h.released_by,
                              "released_at": h.released_at.isoformat() if h.released_at else None,
                              "release_reason": h.release_reason}))
        else:
            state = "active" if h.active else f"released {h.released_at:%Y-%m-%d} by {h.released_by}"
            print(f"{h.id:>5}  {h.target.value:<15} {h.target_id:>8}  {h.held_at:%Y-%m-%d} {h.held_by:<16} "
                  f"{state:<30} {json.dumps(h.reason, ensure_ascii=True)}")
    if not found and not args.json:
        print("no legal holds" if args.all else "no active legal holds")
    return 0


def _release(args) -> int:
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "retention release")
        hold = _service(database, load_settings(), signed, args).release_hold(signed.user, args.hold_id, args.reason)
    print(f"legal hold {hold.id} on {hold.target.value.replace('_', ' ')} {hold.target_id} released")
    return 0


def _plan(args) -> int:
    settings = load_settings()
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "retention plan", Permission.AUDIT_VIEW)
        service = _service(database, settings, signed, args)
        due = service.plan(signer=True if settings.audit_signing_key else None)
    for d in due:
        if args.json:
            print(json.dumps(d.as_dict()))
        else:
            oldest = f"oldest {d.oldest:%Y-%m-%d}" if d.oldest else "-"
            held = f", {d.held} held" if d.held else ""
            blocked = f"  NOT PURGED: {d.blocked}" if d.blocked and d.count else ""
            print(f"{d.kind.value:<23} {d.count:>8} due{held:<12} {oldest:<17} {d.why}{blocked}")
    return 0


def _signer(path: str):
    from console.services.audit_checkpoints import load_signer

    def ask() -> bytes | None:
        return getpass.getpass(f"Passphrase for {path}: ").encode() or None if sys.stdin.isatty() else None

    return load_signer(path, ask)


def _run(args) -> int:
    settings = load_settings()
    key = args.key or settings.audit_signing_key
    signer = _signer(key) if key else None
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "retention run", Permission.USER_ADMIN)
        service = _service(database, settings, signed, args, args.batch)
        if args.if_due and not service.due_by_schedule():
            return 0

        def progress(kind: str, n: int) -> None:
            if args.progress:
                print(f"{datetime.now(timezone.utc):%H:%M:%S} {kind}: {n} purged", file=sys.stderr, flush=True)

        report = service.run(signed.user, signer, progress)
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing was due"
        print(f"retention run {report.run_id}{' (resumed)' if report.resumed else ''}: {counts}")
        for problem in report.problems:
            print(f"  {problem}")
    return 1 if report.problems else 0

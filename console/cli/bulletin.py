"""`rtic-console bulletin send|list|group|export|deliver`: incident bulletins from the command line (CAD
integrations, scripts), as in the window.

Each signs in (`--user NAME`) with the bulletin permission (dispatchers, detectives, supervisors) and is audited as
that user with the operating-system account beside it. `send` records the bulletin and queues its e-mail copies;
`deliver` sends the copies due (once, or with `--watch` every `--interval` seconds until interrupted), through the
relay the settings name (smtp_host, ...; the password from the variable smtp_password_env names).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from console.cli import signin
from console.cli.args import identifier, integer
from console.domain.users import Permission
from console.errors import UserError
from console.services.bulletin_outbox import BulletinOutbox, SmtpConfig
from console.services.bulletins import BulletinService
from console.settings import load_settings
from console.store.db import open_database


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("bulletin", parents=[common], help="send incident bulletins to responders")
    actions = parser.add_subparsers(dest="bulletin_action", metavar="ACTION", required=True)
    send = actions.add_parser("send", parents=[common], help="send a bulletin (text, image, clip) for an incident")
    send.add_argument("--incident", metavar="CAD_NUMBER", required=True)
    send.add_argument("--text", default="", help="at most 1000 characters")
    send.add_argument("--image", metavar="FILE", type=Path, help="a PNG or JPEG snapshot")
    send.add_argument("--clip", metavar="FILE", type=Path, help="a short MP4 clip")
    send.add_argument("--to", metavar="ADDRESS|GROUP", action="append", default=[],
                      help="an e-mail address or a saved group's name (repeat for more)")
    send.add_argument("--to-units", action="store_true",
                      help="also to the units CAD names on the incident: each unit's saved group of the same name")
    send.add_argument("--reason", default="", help="why (recorded in the audit trail)")
    send.add_argument("--camera", metavar="CAMERA_ID", type=identifier("--camera"), help="the camera it shows")
    signin.add_user_option(send)
    send.set_defaults(func=_send)

    listing = actions.add_parser("list", parents=[common], help="bulletins sent, newest first, with delivery state")
    listing.add_argument("--incident", metavar="CAD_NUMBER", help="only this incident's bulletins")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    signin.add_user_option(listing)
    listing.set_defaults(func=_list)

    group = actions.add_parser("group", parents=[common], help="list saved recipient groups, or save one")
    group.add_argument("name", metavar="NAME", nargs="?", help="the group's name (e.g. 'Patrol sector 2')")
    group.add_argument("members", metavar="ADDRESS", nargs="*", help="its members (replaces the old list)")
    signin.add_user_option(group)
    group.set_defaults(func=_group)

    export = actions.add_parser("export", parents=[common], help="write an incident's bulletins as evidence")
    export.add_argument("--incident", metavar="CAD_NUMBER", required=True)
    export.add_argument("out", metavar="OUT", type=Path, help="a new folder, or a file name ending in .zip")
    signin.add_user_option(export)
    export.set_defaults(func=_export)

    deliver = actions.add_parser("deliver", parents=[common], help="send the e-mail copies waiting in the outbox")
    deliver.add_argument("--watch", action="store_true", help="keep delivering until interrupted")
    deliver.add_argument("--interval", type=integer("--interval", 1, 3600), default=5, metavar="SECONDS",
                         help="seconds between rounds with --watch (default: %(default)s)")
    signin.add_user_option(deliver)
    deliver.set_defaults(func=_deliver)


def _service(args, database, command: str) -> tuple[BulletinService, signin.SignedIn]:
    signed = signin.sign_in(args, database, command, Permission.BULLETIN_SEND)
    return BulletinService.from_settings(database, signed.audit, load_settings(), signed.workstation), signed


def _read(path: Path | None, what: str, limit: int) -> bytes | None:
    if path is None:
        return None
    try:
        if not path.is_file():
            raise UserError(f"{what} {path} is not a file (missing, or a folder)")
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UserError(f"{what} {path} is bigger than a bulletin may carry ({limit / 1_000_000:g} MB, setting "
                        "bulletin_max_mb)")
    return data


def _send(args) -> int:
    settings = load_settings()
    limit = int(settings.bulletin_max_mb * 1_000_000)
    image, clip = _read(args.image, "the image", limit), _read(args.clip, "the clip", limit)
    with open_database(args.db) as database:
        service, signed = _service(args, database, "bulletin send")
        incident_id = service.incident_id(args.incident)
        targets = list(args.to)
        if args.to_units:
            with_group, without = service.unit_targets(incident_id)
            targets += with_group
            if without:
                print(f"not sent to unit(s) {', '.join(repr(u) for u in without)}: no recipient group of that name "
                      "(make one with `rtic-console bulletin group NAME ADDRESS...`)", file=sys.stderr)
        if not targets:
            raise UserError("no recipients: give --to ADDRESS|GROUP, or --to-units for an incident whose CAD units "
                            "have recipient groups")
        sent = service.send(signed.user, incident_id, args.text, targets,
                            datetime.now(timezone.utc), image=image, clip=clip, reason=args.reason,
                            camera_id=args.camera)
    print(f"bulletin {sent.bulletin_id} sent for incident {args.incident[:64]} (SHA-256 {sent.content_sha256}); "
          f"{sent.recipients} e-mail copy(ies) queued: `rtic-console bulletin deliver` or any console sends them")
    return 0


def _list(args) -> int:
    with open_database(args.db) as database:
        service, _ = _service(args, database, "bulletin list")
        incident_id = service.incident_id(args.incident) if args.incident else None
        sent = service.list(incident_id)
    for b in sent:
        if args.json:
            print(json.dumps({"id": b.id, "incident": b.cad_number, "sent_by": b.sent_by,
                              "sent_at": b.sent_at.isoformat(), "text": b.text, "sha256": b.content_sha256,
                              "attachments": [{"name": a.name, "sha256": a.sha256, "size": a.size}
                                              for a in b.attachments],
                              "delivery": [{"state": r.state.value, "attempts": r.attempts, "error": r.last_error}
                                           for r in b.recipients]}, ensure_ascii=False))
        else:
            text = b.text.replace("\n", " ")
            print(f"{b.id:>6}  {b.cad_number:<16} {b.sent_at:%Y-%m-%d %H:%M:%S} UTC  {b.sent_by:<16} "
                  f"{', '.join(a.name for a in b.attachments) or '-':<22} {b.delivery_summary:<20} "
                  f"{text[:60]!r}")
    return 0


def _group(args) -> int:
    with open_database(args.db) as database:
        service, signed = _service(args, database, "bulletin group")
        if args.name is None:
            for name, members in service.groups().items():
                print(f"{name}: {len(members)} address(es)")
            return 0
        if not args.members:
            raise UserError(f"give the addresses of group {args.name[:60]!r} after its name")
        service.save_group(signed.user, args.name, args.members, datetime.now(timezone.utc))
    print(f"group {args.name!r} saved with {len(set(m.lower() for m in args.members))} address(es)")
    return 0


def _export(args) -> int:
    with open_database(args.db) as database:
        service, signed = _service(args, database, "bulletin export")
        manifest = service.export_package(signed.user, service.incident_id(args.incident), args.out,
                                          datetime.now(timezone.utc))
    print(f"exported {len(manifest['bulletin_ids'])} bulletin(s), {len(manifest['files'])} file(s) of incident "
          f"{args.incident[:64]} to {args.out} (package {manifest['package_id']})")
    return 0


def _deliver(args) -> int:
    settings = load_settings()
    with open_database(args.db) as database:
        _, signed = _service(args, database, "bulletin deliver")
        outbox = BulletinOutbox(database, SmtpConfig.from_settings(settings), signed.workstation)
        while True:
            report = outbox.deliver_due()
            if report.problem:
                raise UserError(report.problem)
            print(json.dumps({"sent": report.sent, "retry": report.retry, "failed": report.failed,
                              "skipped": report.skipped, "errors": report.errors}), flush=True)
            if not args.watch:
                return 0 if not report.failed else 1
            time.sleep(args.interval)

"""`rtic-console footage list|create|contact|attach`: footage requests from the command line.

Each signs in (`--user NAME`) with the footage request permission (dispatchers, detectives, supervisors), as in the
window, and is audited as that user with the operating-system account beside it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from console.cli import signin
from console.cli.args import identifier, number
from console.domain.footage import Circle, ContactChannel, ContactOutcome, Polygon, parse_choice
from console.domain.users import Permission
from console.errors import UserError
from console.services.footage import FootageService
from console.settings import load_settings
from console.store import registry as registry_repo
from console.store.db import open_database


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("footage", help="ask owners for recorded footage", parents=[common])
    actions = parser.add_subparsers(dest="footage_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="footage requests, newest first")
    listing.add_argument("--incident", metavar="CAD_NUMBER", help="only this incident's requests")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    signin.add_user_option(listing)
    listing.set_defaults(func=_list)

    create = actions.add_parser("create", parents=[common], help="one request per owner of the chosen cameras")
    create.add_argument("--incident", metavar="CAD_NUMBER", required=True)
    create.add_argument("--start", metavar="ISO_TIME", required=True, help="window start (no zone means UTC)")
    create.add_argument("--end", metavar="ISO_TIME", required=True, help="window end, not after now")
    create.add_argument("--cameras", metavar="ID,ID", default="", help="camera ids, comma separated")
    create.add_argument("--circle", nargs=3, metavar=("LAT", "LON", "M"), type=number("the circle's value", -180, 100_000),
                        help="every camera within M metres of LAT LON")
    create.add_argument("--polygon", metavar="LAT,LON;LAT,LON;...", help="every camera inside this ring of points")
    signin.add_user_option(create)
    create.set_defaults(func=_create)

    contact = actions.add_parser("contact", parents=[common], help="record an attempt to reach the owner")
    contact.add_argument("request_id", metavar="REQUEST_ID", type=identifier("REQUEST_ID"))
    signin.add_user_option(contact)
    contact.add_argument("--channel", required=True, help="phone, email or in_person")
    contact.add_argument("--outcome", required=True, help="agreed, declined, no_answer, overwritten or left_message")
    contact.add_argument("--note", default="")
    contact.set_defaults(func=_contact)

    attach = actions.add_parser("attach", parents=[common], help="copy, hash and record files received")
    attach.add_argument("request_id", metavar="REQUEST_ID", type=identifier("REQUEST_ID"))
    signin.add_user_option(attach)
    attach.add_argument("files", metavar="FILE", type=Path, nargs="+")
    attach.add_argument("--camera", metavar="CAMERA_ID", type=identifier("--camera"), help="which camera the files are from")
    attach.set_defaults(func=_attach)


def _time(option: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UserError(f"{option} {text!r} is not a time: write it like 2026-11-23T21:00:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _service(args, database, command: str) -> tuple[FootageService, signin.SignedIn]:
    signed = signin.sign_in(args, database, command, Permission.FOOTAGE_REQUEST)
    return FootageService.from_settings(database, signed.audit, load_settings(), signed.workstation), signed


def _incident_id(database, cad_number: str) -> int:
    with database.engine.connect() as conn:
        incident = registry_repo.find_incident(conn, cad_number)
    if incident is None:
        raise UserError(f"there is no incident with CAD number {cad_number!r}")
    return incident.id


def _polygon(text: str) -> Polygon:
    try:
        points = [tuple(float(v) for v in pair.split(",")) for pair in text.split(";") if pair.strip()]
        if any(len(p) != 2 for p in points):
            raise ValueError
    except ValueError:
        raise UserError(f"--polygon {text!r} is not a list of points: write it like 42.1,-72.6;42.2,-72.6;42.2,-72.5")
    return Polygon(tuple(points))


def _list(args) -> int:
    with open_database(args.db) as database:
        service, _ = _service(args, database, "footage list")
        incident_id = _incident_id(database, args.incident) if args.incident else None
        requests = service.list(incident_id)
    for r in requests:
        if args.json:
            print(json.dumps({"id": r.id, "incident_id": r.incident_id, "owner_id": r.owner_id, "status": r.status.value,
                              "window_start": r.window_start.isoformat(), "window_end": r.window_end.isoformat(),
                              "camera_ids": list(r.camera_ids), "created_by": r.created_by, "version": r.version}))
        else:
            print(f"{r.id:>6}  incident {r.incident_id}  owner {r.owner_id}  {r.status.value:<11}  "
                  f"{r.window_start:%Y-%m-%d %H:%M}-{r.window_end:%H:%M} UTC  cameras {','.join(map(str, r.camera_ids))}")
    return 0


def _create(args) -> int:
    try:
        camera_ids = [int(x) for x in args.cameras.split(",") if x.strip()]
        if any(not 1 <= c <= 2**63 - 1 for c in camera_ids):
            raise ValueError
    except ValueError:
        raise UserError(f"--cameras {args.cameras!r} is not a list of camera ids: write it like 12,40,41") from None
    if args.circle and args.polygon:
        raise UserError("give --circle or --polygon, not both")
    area = Circle(*args.circle) if args.circle else _polygon(args.polygon) if args.polygon else None
    start, end = _time("--start", args.start), _time("--end", args.end)
    with open_database(args.db) as database:
        service, signed = _service(args, database, "footage create")
        created = service.create(signed.user, _incident_id(database, args.incident), start, end,
                                            datetime.now(timezone.utc), camera_ids, area)
    print(f"{created.summary()}: {', '.join(map(str, created.request_ids))}")
    return 0


def _contact(args) -> int:
    channel = parse_choice(ContactChannel, args.channel, "--channel")
    outcome = parse_choice(ContactOutcome, args.outcome, "--outcome")
    with open_database(args.db) as database:
        service, signed = _service(args, database, "footage contact")
        request = service.get(args.request_id)
        request = service.record_attempt(signed.user, request.id, request.version, channel, outcome, args.note,
                                         datetime.now(timezone.utc))
    print(f"footage request {request.id}: attempt recorded, status {request.status.value}")
    return 0


def _attach(args) -> int:
    with open_database(args.db) as database:
        service, signed = _service(args, database, "footage attach")
        request = service.get(args.request_id)
        request = service.attach_files(signed.user, request.id, request.version, args.files,
                                       datetime.now(timezone.utc), args.camera)
    for f in request.files[-len(args.files):]:
        print(f"{f.sha256}  {f.size_bytes:>12}  {f.file_name}")
    return 0

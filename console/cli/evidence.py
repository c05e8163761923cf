"""`rtic-console evidence export|verify`: write a request's evidence package; check a package against its manifest.

`export` signs in (`--user NAME`) with the footage request permission, as in the window. `verify` needs no
database and no account: exit 0 when every file and the manifest match, 1 when anything was changed,
removed or added (each named on stdout), 2 when the input is not a package at all.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from console.cli import signin
from console.cli.args import identifier
from console.domain.users import Permission
from console.services.evidence import verify_package
from console.services.footage import FootageService
from console.settings import load_settings
from console.store.db import open_database


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("evidence", help="export and verify evidence packages", parents=[common])
    actions = parser.add_subparsers(dest="evidence_action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", parents=[common],
                                help="re-hash every file of a package (folder or .zip) and its manifest")
    verify.add_argument("package", metavar="PACKAGE", type=Path, help="the package folder or .zip")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.set_defaults(func=_verify)
    export = actions.add_parser("export", parents=[common],
                                help="write the files of footage requests and their manifest (audited)")
    export.add_argument("request_ids", metavar="REQUEST_ID", type=identifier("REQUEST_ID"), nargs="+",
                        help="footage request id(s), all of one incident")
    export.add_argument("out", metavar="OUT", type=Path, help="a new folder, or a file name ending in .zip")
    signin.add_user_option(export)
    export.set_defaults(func=_export)


def _verify(args) -> int:
    report = verify_package(args.package)
    if args.json:
        print(json.dumps({"package": str(args.package), "package_id": report.package_id, "intact": report.intact,
                          "files_checked": report.checked, "problems": report.problems}))
    elif report.intact:
        print(f"INTACT: {report.checked} file(s) and the manifest match (package {report.package_id})")
    else:
        print(f"TAMPERED: {len(report.problems)} problem(s) in {args.package}")
        for line in report.problems:
            print(f"  {line}")
    return 0 if report.intact else 1


def _export(args) -> int:
    # The ids come after the options, so the last positional is OUT: argparse gives them in order.
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "evidence export", Permission.FOOTAGE_REQUEST)
        service = FootageService.from_settings(database, signed.audit, load_settings(), signed.workstation)
        manifest = service.export_package(signed.user, args.request_ids, args.out, datetime.now(timezone.utc))
    print(f"exported {len(manifest['files'])} file(s) of incident {manifest['incident']['cad_number'] or manifest['incident']['id']} "
          f"to {args.out} (package {manifest['package_id']})")
    return 0

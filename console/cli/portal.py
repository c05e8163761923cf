"""`rtic-console import FILE` and `rtic-console export OUT`: a registration portal's CSV/GeoJSON export in and out.

import prints every bad row (row, column, why) on stderr, a progress bar on stderr when it is a terminal, and a
one-line JSON summary on stdout. All or nothing unless --partial; --dry-run writes nothing.

Both sign in (`--user NAME`): import and export need the registry edit permission (outreach, administrators), as
the window's import does; `export --with-contacts` dumps every owner's contact, so it needs an administrator
(user admin and registry edit): outreach staff see contacts one owner at a time, in the window.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from console.cli import signin
from console.domain.users import Permission
from console.errors import UserError

CONTACT_EXPORT = (Permission.REGISTRY_EDIT, Permission.USER_ADMIN)


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("import", parents=[common],
                                   help="import a registration portal's CSV or GeoJSON export (see README)")
    parser.add_argument("file", metavar="FILE", help="the portal's export: .csv or .geojson, UTF-8")
    parser.add_argument("--mapping", metavar="FILE|NAME",
                        help="a JSON file {\"their column\": \"our field\"} or the name of a saved mapping")
    parser.add_argument("--save-mapping", metavar="NAME", help="save the --mapping file under NAME for next time")
    parser.add_argument("--partial", action="store_true",
                        help="import the good rows and write the bad ones (with a reason column) to a file")
    parser.add_argument("--rejects", metavar="FILE", type=Path,
                        help="where --partial writes the bad rows (default: FILE.rejected.csv beside FILE)")
    parser.add_argument("--dry-run", action="store_true", help="check the file and count what would change; "
                                                               "write nothing")
    signin.add_user_option(parser)
    parser.set_defaults(func=_import)

    export = subparsers.add_parser("export", parents=[common],
                                   help="write the registry as CSV or GeoJSON in the import's columns")
    export.add_argument("out", metavar="OUT", type=Path, help="the file to write")
    export.add_argument("--format", choices=("csv", "geojson"),
                        help="csv or geojson (default: from OUT's extension, else csv)")
    export.add_argument("--with-contacts", action="store_true",
                        help="include owner names, phones and e-mails (needs --reason; audited)")
    export.add_argument("--reason", default="", metavar="TEXT", help="why contact details are exported")
    signin.add_user_option(export)
    export.set_defaults(func=_export)


def _import(args) -> int:
    from console.services.portal_files import load_mapping, save_mapping
    from console.services.registry_import import ImportRejected, import_file
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key

    mapping = load_mapping(args.mapping) if args.mapping else None
    if args.save_mapping:
        if mapping is None:
            raise UserError("--save-mapping needs --mapping FILE: the mapping to save")
        print(f"mapping saved as {args.save_mapping!r} ({save_mapping(args.save_mapping, mapping)})",
              file=sys.stderr)
    if args.rejects and not args.partial:
        raise UserError("--rejects goes with --partial")
    bar = _Bar() if sys.stderr.isatty() else None
    cipher = ContactCipher(load_contact_key())
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "import", Permission.REGISTRY_EDIT)
        try:
            summary = import_file(database, cipher, args.file, username=signed.name,
                                  workstation=signed.workstation, mapping=mapping, partial=args.partial,
                                  dry_run=args.dry_run, rejects=args.rejects, progress=bar, audit=signed.audit)
        except ImportRejected as rejected:
            _end(bar)
            _report(rejected.problems)
            raise
        finally:
            _end(bar)
    problems = summary.pop("problems", None)
    if problems:
        _report(problems)
    print(json.dumps(summary))
    return 2 if args.dry_run and problems else 0


def _report(problems) -> None:
    for problem in problems:
        print(str(problem), file=sys.stderr)


def _end(bar) -> None:
    if bar is not None:
        bar.close()


class _Bar:
    """A one-line progress bar on the terminal: rows done of all, and the rate."""

    def __init__(self):
        self.started = time.monotonic()
        self.shown = 0.0
        self.open = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.1 and done < total:
            return
        self.shown = now
        width, part = 30, done / total if total else 1.0
        filled = int(width * part)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {part:4.0%}  {now - self.started:5.1f} s")
        sys.stderr.flush()
        self.open = True

    def close(self) -> None:
        if self.open:
            sys.stderr.write("\n")
            self.open = False


def _export(args) -> int:
    from console.services.registry_export import export_registry
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key

    if args.reason and not args.with_contacts:
        raise UserError("--reason goes with --with-contacts")
    fmt = args.format or ("geojson" if args.out.suffix.lower() in (".geojson", ".json") else "csv")
    cipher = ContactCipher(load_contact_key())
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "export --with-contacts" if args.with_contacts else "export",
                                CONTACT_EXPORT if args.with_contacts else Permission.REGISTRY_EDIT)
        summary = export_registry(database, cipher, args.out, fmt=fmt, with_contacts=args.with_contacts,
                                  reason=args.reason, username=signed.name, workstation=signed.workstation,
                                  audit=signed.audit)
    print(json.dumps(summary))
    return 0

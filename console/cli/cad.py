"""`rtic-console cad import|watch|poll`: take incidents from Computer-Aided Dispatch (NENA EIDO or a CSV/JSON export).

Each pass prints one JSON line (created, updated, closed, reopened, unchanged, stale, views_ended, rejected,
deferred); each rejection is one line on stderr naming the file, row and field. Exit status 2 when anything was
rejected or could not be applied, else 0. `watch` and `poll` run until Ctrl+C unless given --once.
Each signs in (`--user NAME`; any active account, as the window's CAD intake runs for whoever is signed in): the
incidents are recorded as CAD's, with the console user and the operating-system account beside them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import platformdirs

from console.cli import signin
from console.cli.args import number
from console.domain.cad_export import ColumnMapping
from console.errors import UserError
from console.geo.service_area import load_service_area
from console.paths import APP_AUTHOR, APP_NAME
from console.services.cad import CadService
from console.services.cad_sources import (
    CadRunner,
    FileSource,
    FolderSource,
    HttpSource,
    PassReport,
)
from console.settings import load_settings
from console.store.db import open_database


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("cad", help="take incidents from CAD (NENA EIDO, CSV/JSON exports)",
                                   parents=[common])
    actions = parser.add_subparsers(dest="cad_action", metavar="ACTION", required=True)
    mapping = argparse.ArgumentParser(add_help=False)
    mapping.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                         help="for CSV/JSON exports: the column holding a field (incident_number, type, priority, "
                              "address, lat, lon, status, updated_at); repeat as needed")
    signin.add_user_option(mapping)
    take = actions.add_parser("import", parents=[common, mapping], help="apply one EIDO JSON or CSV/JSON export file")
    take.add_argument("file", metavar="FILE", type=Path)
    take.set_defaults(func=_import)
    watch = actions.add_parser("watch", parents=[common, mapping],
                               help="apply files dropped into a folder; they move to processed/ or rejected/")
    watch.add_argument("folder", metavar="FOLDER", type=Path)
    watch.add_argument("--settle", metavar="SECONDS", type=number("--settle", 0, 3600), default=2.0,
                       help="take a file only when unchanged this long (default: %(default)s)")
    poll = actions.add_parser("poll", parents=[common, mapping], help="poll an HTTP endpoint serving EIDO JSON")
    poll.add_argument("url", metavar="URL")
    poll.add_argument("--timeout", metavar="SECONDS", type=number("--timeout", 0.1, 600), default=10.0, help="default: %(default)s")
    for runner in (watch, poll):
        runner.add_argument("--once", action="store_true", help="one pass, then exit")
        runner.add_argument("--interval", metavar="SECONDS", type=number("--interval", 0.1, 86400), default=5.0, help="default: %(default)s")
    watch.set_defaults(func=_watch)
    poll.set_defaults(func=_poll)


def _import(args) -> int:
    if not args.file.is_file():
        raise UserError(f"there is no file {args.file}")
    return _run(args, FileSource(args.file, ColumnMapping.parse(args.map)), once=True)


def _watch(args) -> int:
    if not args.folder.is_dir():
        raise UserError(f"there is no folder {args.folder}")
    if args.settle < 0:
        raise UserError(f"--settle {args.settle:g} is not valid: give 0 or more seconds")
    return _run(args, FolderSource(args.folder, ColumnMapping.parse(args.map), settle_s=args.settle), args.once)


def _poll(args) -> int:
    if args.timeout <= 0:
        raise UserError(f"--timeout {args.timeout:g} is not valid: give more than 0 seconds")
    settings = load_settings()
    source = HttpSource(args.url, timeout_s=args.timeout, user_agent=settings.user_agent,
                        mapping=ColumnMapping.parse(args.map))
    return _run(args, source, args.once)


def _run(args, source, once: bool) -> int:
    interval = getattr(args, "interval", 5.0)
    if interval <= 0:
        raise UserError(f"--interval {interval:g} is not valid: give more than 0 seconds")
    settings = load_settings()
    area = load_service_area(settings.service_area)  # a broken area setting stops here, before anything is read
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, f"cad {args.cad_action}")
        service = CadService(database, signed.audit, geocode=_geocoder(settings), service_area=area,
                             workstation=signed.workstation)
        runner = CadRunner(service, [source], interval_s=interval, auto_offer=False)
        if once:
            return _print(runner.run_pass())
        status = 0
        try:
            while True:
                report = runner.run_pass()
                if report.applied or report.rejected or report.deferred:
                    status = max(status, _print(report))
                runner.wait(interval)
        except KeyboardInterrupt:
            return status


def _print(report: PassReport) -> int:
    for origin, why in report.rejected:
        print(f"rtic-console: rejected {origin}: {why}", file=sys.stderr)
    for origin, why in report.deferred:
        print(f"rtic-console: not applied yet {origin}: {why}", file=sys.stderr)
    print(json.dumps(report.summary()), flush=True)
    return 2 if report.rejected or report.deferred else 0


def _geocoder(settings):
    """The agency's geocoder from the settings, or None when none is configured (address-only EIDO is rejected)."""
    from console.geo.geocoder import geocoder_from_settings

    geocoder = geocoder_from_settings(
        settings, cache_path=Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR)) / "geocoder.sqlite")
    return None if geocoder is None else (lambda address: geocoder.lookup(address, limit=1))

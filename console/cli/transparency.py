"""`rtic-console audit report --year Y --format pdf|html|csv|json --output FILE`: the public year report.

Signs in with the audit view permission like the monthly report, and is audited as an export (the file's SHA-256)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from console.cli import signin
from console.domain.audit import Action, AuditEntry
from console.domain.users import Permission
from console.errors import UserError
from console.services.transparency_render import FORMATS, write
from console.services.transparency_report import year_report as build
from console.store.db import open_database


def year_report(args) -> int:
    fmt = args.format
    if fmt not in FORMATS:
        raise UserError(f"the year report is written as {', '.join(FORMATS)}: give --format pdf (or html, csv, json)")
    if not args.output:
        raise UserError(f"the year report is a file: give --output FILE (e.g. report-{args.year}.{fmt})")
    target = Path(args.output)
    if target.is_dir():
        raise UserError(f"--output {str(target)[:200]!r} is a folder: give a file name")
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "audit report", Permission.AUDIT_VIEW)
        report = build(signed.audit, args.year)
        write(report, fmt, target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        signed.audit.append(AuditEntry(Action.AUDIT_EXPORT, signed.name, signed.workstation, details={
            "report": "year", "year": args.year, "format": fmt, "sha256": digest}))
    print(f"{target}  sha256 {digest}")
    return 0

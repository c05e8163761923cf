"""Writing the registry as a portal export (CSV or GeoJSON in the import's columns), so export -> import round-trips.

Contact details (owner name, phone, e-mail) are left out unless asked for with a reason; every export is audited
(Action.EXPORT: format, count, whether contacts were included and why). Stream URLs never carry credentials.
Cameras the owner removed are not exported.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import tempfile
import time
from pathlib import Path

from console.domain.audit import Action, AuditEntry, Detail
from console.domain.portal_records import FIELDS
from console.errors import UserError
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import Database
from console.store.secrets import UNREADABLE, ContactCipher

FORMATS = ("csv", "geojson")
_CONTACT = ("owner_name", "phone", "email")


def export_registry(database: Database, cipher: ContactCipher, out: str | Path, *, fmt: str = "csv",
                    with_contacts: bool = False, reason: str = "", username: str, workstation: str,
                    audit: AuditLog | None = None) -> dict:
    """Write every camera not removed to `out`; a summary. Contacts only `with_contacts`, which needs a reason.

    The file is written to a new temporary file beside `out` and renamed over it only when complete; an `out`
    that exists and is not a regular file (a folder, a device, a symbolic link) is refused."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}: use {' or '.join(FORMATS)}")
    reason = reason.strip()
    if with_contacts and len(reason) < 5:
        raise UserError("exporting contact details needs --reason: why they are needed (it goes to the audit trail)")
    out = Path(out)
    _check_target(out)
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: the folder {out.parent} does not exist")
    started = time.perf_counter()
    audit = audit or AuditLog(database)
    details = {"format": fmt, "with_contacts": with_contacts, "file": out.name}
    if with_contacts:
        details[Detail.REASON] = reason
    unreadable: set[int] = set()
    with database.engine.connect() as conn:
        rows = _rows(conn, cipher, with_contacts, unreadable)
    if unreadable:  # owners written "(unreadable)": this key cannot open their records
        details["unreadable_owners"] = len(unreadable)
    # Contacts leave the registry only once the export is on record (fail closed).
    audit.append(AuditEntry(Action.EXPORT, username, workstation, details={**details, "cameras": len(rows)}))
    try:  # a fresh name (O_EXCL), so nothing planted beside OUT is written through
        fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600 if with_contacts else 0o644)
            (_write_geojson if fmt == "geojson" else _write_csv)(handle, rows)
        _check_target(out)  # again, just before the rename: something may have been put there meanwhile
        os.replace(temporary, out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    except UserError:
        temporary.unlink(missing_ok=True)
        raise
    return {"file": str(out), "format": fmt, "cameras": len(rows), "with_contacts": with_contacts,
            "unreadable_owners": len(unreadable),
            "seconds": round(time.perf_counter() - started, 2)}


def _check_target(out: Path) -> None:
    try:
        info = os.lstat(out)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{out} is a folder: give the file to write")
    if stat.S_ISLNK(info.st_mode):
        raise UserError(f"{out} is a symbolic link: give the file itself (the export does not write through links)")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{out} is not a regular file (a device, pipe or socket): give a file to write")


def _rows(conn, cipher: ContactCipher, with_contacts: bool, unreadable: set[int]) -> list[dict]:
    """The export's rows; the ids of owners whose record this key cannot open are added to `unreadable`."""
    main = repo.main_stream_urls(conn)
    contacts: dict[int, dict] = {}

    def contact(owner_id: int, blob) -> dict:
        if owner_id not in contacts:  # one record this key cannot open is written "(unreadable)", not a failed export
            contacts[owner_id] = cipher.decrypt_or_none(blob) if blob else {}
            if contacts[owner_id] is None:
                unreadable.add(owner_id)
                contacts[owner_id] = {"name": UNREADABLE}
        return contacts[owner_id]

    rows = []
    # A camera without a portal id (registered by phone) is written as rtic-<id>; the import finds it by that.
    for c in repo.cameras_not_removed(conn):
        person = contact(c.owner_id, c.contact_ciphertext)
        row = {
            "portal_id": c.portal_id or f"rtic-{c.id}", "owner_name": person.get("name", ""),
            "organisation": person.get("organisation", ""), "phone": person.get("phone", ""),
            "email": person.get("email", ""), "address": c.address, "lat": c.lat, "lon": c.lon,
            "camera_label": c.label, "capability": c.capability, "sharing_mode": c.sharing_mode,
            "stream_url": main.get(c.id, ""), "bearing_deg": c.fov_bearing_deg, "fov_deg": c.fov_angle_deg,
            "range_m": c.fov_range_m, "consent_date": c.consent_at.isoformat() if c.consent_at else "",
            "consent_channel": c.consent_channel or "",
        }
        if not with_contacts:
            row.update(dict.fromkeys(_CONTACT, ""))
            if c.owner_id in unreadable:
                row["owner_name"] = UNREADABLE
        rows.append(row)
    return rows


def _write_csv(handle, rows: list[dict]) -> None:
    writer = csv.DictWriter(handle, FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v for k, v in row.items()})


def _write_geojson(handle, rows: list[dict]) -> None:
    handle.write('{"type": "FeatureCollection", "features": [\n')
    for n, row in enumerate(rows):
        properties = {k: v for k, v in row.items() if k not in ("lat", "lon")}
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                   "properties": properties}
        handle.write(("," if n else "") + json.dumps(feature, ensure_ascii=False) + "\n")
    handle.write("]}\n")

"""Makes the known-answer files for the offline journal and the field copy (issue 20) from fixed inputs:

    tests/data/formats/audit-journal-v1.db   three journaled events of workstation "kat-laptop-1", chained
    tests/data/formats/field-copy-v2.rtic    a one-camera registry for user "kat-detective", sealed to PASSWORD

Run it ONLY when a format changes on purpose, together with the code that reads the old files (a migration):
`PYTHONPATH=. python tests/data/make_format_fixtures.py`. tests/store/test_format_fixtures.py reads the checked-in
files with the current code and holds them to the hashes below; a change of format makes those tests fail.
Everything here is fixed (ids, times, salt, data key, nonces) except SQLite's own page layout.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent / "formats"
JOURNAL = HERE / "audit-journal-v1.db"
FIELD_COPY = HERE / "field-copy-v2.rtic"

WORKSTATION = "kat-laptop-1"
T0 = datetime(2026, 11, 24, 10, 42, tzinfo=timezone.utc)
JOURNAL_IDS = ("0b6e1d2a-5c1f-4d3e-9a7b-1c2d3e4f5a61", "0b6e1d2a-5c1f-4d3e-9a7b-1c2d3e4f5a62",
               "0b6e1d2a-5c1f-4d3e-9a7b-1c2d3e4f5a63")

USERNAME = "kat-detective"
PASSWORD = "known answer passphrase 2026"
MADE_AT = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
SALT = bytes(range(16))
DATA_KEY = bytes(range(32, 64))
NONCES = (b"\x01" * 12, b"\x02" * 12)
CAMERA_LABEL = "KAT corner camera"


def journal_events():
    from console.domain.audit import Action, AuditEntry

    return [
        (AuditEntry(Action.SEARCH_NEAR, "kat-detective", WORKSTATION,
                    details={"journal_id": JOURNAL_IDS[0], "lat": 39.95, "lon": -75.16, "radius_m": 300.0}), T0),
        (AuditEntry(Action.VIEW_START, "kat-detective", WORKSTATION, camera_id=7,
                    details={"journal_id": JOURNAL_IDS[1], "reason": "burglary — suspect on foot", "stream_id": 3}),
         T0 + timedelta(seconds=30)),
        (AuditEntry(Action.VIEW_END, "kat-detective", WORKSTATION, camera_id=7,
                    details={"journal_id": JOURNAL_IDS[2], "duration_s": 840, "end_reason": "user_closed"}),
         T0 + timedelta(seconds=870)),
    ]


def kdf():
    from console.services.field_copy_file import KdfParams

    return KdfParams(time_cost=1, memory_cost=8, parallelism=1)


def make_journal(path: Path) -> None:
    from console.store.journal import AuditJournal

    path.unlink(missing_ok=True)
    journal = AuditJournal(path)
    for entry, at in journal_events():
        journal.record(entry, at)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        conn.close()


def make_field_copy(path: Path) -> None:
    from argon2 import PasswordHasher

    from console.domain.cameras import Camera, Capability, SharingMode
    from console.domain.owners import OwnerContact, OwnerKind
    from console.domain.users import Role
    from console.services.accounts import AccountService
    from console.services.field_copy_builder import copy_registry
    from console.services.field_copy_file import FieldCopyInfo, FieldSeal, sealed_bytes
    from console.store import registry as repo
    from console.store.audit import AuditLog
    from console.store.db import open_database
    from console.store.field_copy import serialised
    from console.store.secrets import ContactCipher

    cipher = ContactCipher(bytes(32))  # the owner's contact is never read from this file
    with tempfile.TemporaryDirectory() as folder:
        source = open_database(f"sqlite:///{Path(folder) / 'office.db'}", create=True)
        try:
            with source.engine.begin() as conn:
                owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS,
                                       OwnerContact(name="KAT Owner", organisation="", phone="", email="",
                                                    address=""))
                site = repo.add_site(conn, owner, "KAT site", "1 Known St", 39.95, -75.16)
                repo.add_camera(conn, cipher, Camera(id=None, site_id=site, label=CAMERA_LABEL, lat=39.95, lon=-75.16,
                                                     address="1 Known St", capability=Capability.REGISTERED,
                                                     sharing_mode=SharingMode.NEVER, streams=()), owner)
            user = AccountService(source, AuditLog(source), cipher, PasswordHasher(time_cost=1, memory_cost=8,
                                                                                   parallelism=1)).add_user(
                "os:kat", USERNAME, Role.DETECTIVE, PASSWORD, MADE_AT - timedelta(days=1))
            staging = Path(folder) / "copy.db"
            counts = copy_registry(source, open_database(f"sqlite:///{staging}", create=True), user, MADE_AT)
            plain = serialised(staging)
        finally:
            source.close()
    made_at = MADE_AT.isoformat()
    info = FieldCopyInfo("field-copy-v2.rtic", USERNAME, Role.DETECTIVE.value, made_at, counts)
    seal = FieldSeal.from_password(PASSWORD, kdf(), SALT)
    path.write_bytes(sealed_bytes(info.__dict__, plain, seal, USERNAME, made_at, data_key=DATA_KEY, nonces=NONCES))


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    make_journal(JOURNAL)
    make_field_copy(FIELD_COPY)
    print(f"wrote {JOURNAL} and {FIELD_COPY}", file=sys.stderr)

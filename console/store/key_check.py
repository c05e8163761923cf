"""The start-up check that keeps one contact key per agency: the database proves which key its records are under.

The `key_check` row holds the agency key's id and an HMAC of a fixed label under it (never the key). The first
console that opens an empty registry with a key writes it (creating `contact.key` in its data folder if it has no
key at all); a registry whose records predate the check gets it from the first console whose key opens them. After
that, a console whose key gives another check value, or that has no key, is refused with one sentence, and no key is
ever created for a registry that holds encrypted records or a key check: a second workstation pointed at the shared
database can no longer write owners, digests and TOTP secrets under a key of its own.
"""

from __future__ import annotations

import hmac
import socket
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from console.errors import UserError
from console.store.db import Database
from console.store.models import KeyCheckRow
from console.store.secrets import (
    ContactCipher,
    default_key_path,
    find_contact_key,
    key_check_value,
    key_id,
    key_sources,
    record_key_id,
    write_key_file,
)

key_check = KeyCheckRow.__table__

# Every encrypted column: (table, its id column, the ciphertext column, the record context).
ENCRYPTED = (
    ("owners", "id", "contact_ciphertext", b"owner"),
    ("streams", "id", "credential_ciphertext", b"stream"),
    ("users", "id", "totp_secret_ciphertext", b"totp"),
    ("outreach_calls", "id", "phone_ciphertext", b"outreach"),
)


class KeyMismatch(UserError):
    """This workstation's contact key is not the one the database's records are under; nothing was written."""


@dataclass(frozen=True)
class KeyCheck:
    key_id: str
    check_value: str
    created_at: datetime
    workstation: str
    next_key_id: str | None = None
    next_check_value: str | None = None
    rotation_started_at: datetime | None = None
    rotation_started_by: str | None = None

    def matches(self, key: bytes) -> bool:
        return hmac.compare_digest(self.check_value, key_check_value(key))

    def matches_next(self, key: bytes) -> bool:
        return self.next_check_value is not None and hmac.compare_digest(self.next_check_value, key_check_value(key))


def refusal(expected: str, have: str | None, source: str) -> str:
    """The one sentence a workstation with the wrong key (or none) is refused with."""
    held = f"key {have} (from {source})" if have else "no contact key"
    return (f"this database's records are under contact key {expected}, but this workstation has {held}, so the "
            f"console will not start: {key_sources()}")


def read_check(conn: Connection) -> KeyCheck | None:
    row = conn.execute(select(key_check).where(key_check.c.id == 1)).first()
    if row is None:
        return None
    return KeyCheck(row.key_id, row.check_value, row.created_at, row.workstation, row.next_key_id,
                    row.next_check_value, row.rotation_started_at, row.rotation_started_by)


def encrypted_samples(conn: Connection) -> list[tuple[bytes, bytes]]:
    """The oldest encrypted record of each table (blob, context): what a registry from before the check is tested on."""
    from sqlalchemy import column, table

    samples = []
    for name, id_column, blob_column, context in ENCRYPTED:
        t = table(name, column(id_column), column(blob_column))
        blob = conn.execute(select(t.c[blob_column]).where(t.c[blob_column].is_not(None))
                            .order_by(t.c[id_column]).limit(1)).scalar()
        if blob:
            samples.append((bytes(blob), context))
    return samples


def write_check(conn: Connection, key: bytes, workstation: str) -> None:
    conn.execute(insert(key_check).values(id=1, key_id=key_id(key), check_value=key_check_value(key),
                                          created_at=datetime.now(timezone.utc), workstation=workstation[:100]))


def rotation_refusal(check: KeyCheck) -> str:
    return (f"a contact key rotation from key {check.key_id} to key {check.next_key_id} is in progress (started by "
            f"{check.rotation_started_by}), so the console will not start: finish it with `rtic-console key rotate`, "
            "then give this workstation the new key with `rtic-console key import`")


def check_key(conn: Connection, key: bytes | None, source: str) -> KeyCheck | None:
    """Refuse (KeyMismatch) a key that is not the database's; the stored check (None when there is none yet)."""
    check = read_check(conn)
    if check is not None:
        if check.next_key_id is not None:
            raise KeyMismatch(rotation_refusal(check))
        if key is None or not check.matches(key):
            raise KeyMismatch(refusal(check.key_id, key_id(key) if key else None, source))
        return check
    samples = encrypted_samples(conn)
    if samples:
        needed = next((record_key_id(blob) for blob, _ in samples if record_key_id(blob)), None) or "(not recorded)"
        if key is None:
            raise KeyMismatch(refusal(needed, None, source))
        cipher = ContactCipher(key)
        if any(cipher.decrypt_or_none(blob, context) is None for blob, context in samples):
            raise KeyMismatch(refusal(needed, key_id(key), source))
    return None


def agency_cipher(database: Database, *, workstation: str = "", create_key: bool = True) -> ContactCipher:
    """The contact cipher of this workstation, proven to be the agency's (KeyMismatch otherwise). On a registry with
    no check yet the check is written; on one with no encrypted record and no key anywhere, with `create_key`, a new
    key is made in the data folder's contact.key (kept only if the check is committed)."""
    workstation = workstation or socket.gethostname() or "console"
    for _attempt in range(2):  # a second console writing the first check at the same moment: read theirs
        key, source = find_contact_key()
        created = None
        try:
            with database.engine.begin() as conn:
                if check_key(conn, key, source) is not None:
                    return ContactCipher(key)
                if key is None:
                    if not create_key:
                        raise KeyMismatch(f"this workstation has no contact key: {key_sources()}")
                    key = AESGCM.generate_key(bit_length=256)
                    try:
                        write_key_file(default_key_path(), key)
                    except FileExistsError:  # another process made it a moment ago: use theirs
                        continue
                    created = default_key_path()
                write_check(conn, key, workstation)
            return ContactCipher(key)
        except SQLAlchemyError as exc:
            if created is not None:
                created.unlink(missing_ok=True)
            if isinstance(exc, IntegrityError) and _attempt == 0 and _has_check(database):
                continue  # another console wrote the first check a moment ago: check against theirs
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [exc.__class__.__name__]
            raise UserError(f"cannot check this workstation's contact key against the database {database.display_url}"
                            f": {first[0]} (after `rtic-console db upgrade`, run `rtic-console db grant`)") from None
        except BaseException:
            if created is not None:
                created.unlink(missing_ok=True)
            raise
    raise KeyMismatch("the key check could not be written: another console is writing it; start again")


def _has_check(database: Database) -> bool:
    with database.engine.connect() as conn:
        return read_check(conn) is not None

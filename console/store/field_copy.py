"""The field copy's registry (console/services/field_copy.py): rows copied from the database into a fresh SQLite
registry, that registry serialised to bytes, and bytes opened again as a registry in memory.

Which rows go is the caller's to say (the user's role); this module knows the tables and which of their columns hold
an owner's contact or a stream's credentials, so that they can be left out.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from console.store.db import Database
from console.store.models import Base

# Incidents before the share grants: an owner alert's grant names its incident (migration 0008).
TABLES = ("owners", "sites", "cameras", "streams", "incidents", "share_grants", "users", "sign_ins")
_BATCH = 5000
FIELD_COPY_PASSWORD = "!field-copy"  # never a hash: the sealed copy is the password's verifier


class NotARegistry(ValueError):
    """The bytes are not a SQLite registry; str() is SQLite's reason."""


def copy_rows(source: Database, target: Database, *, user_id: int, grants_since: datetime, contacts: bool,
              credentials: bool) -> dict[str, int]:
    """Copy from `source` into the fresh registry `target` (closed on return): every owner, site, camera and stream,
    the share grants that expire after `grants_since` (an owner alert's grant keeps its incident only where that is
    open), the open incidents, and of the accounts only `user_id`'s
    (with its sign-in state). Without `contacts` the owners' contact and its digests are left out, without
    `credentials` the streams' sign-in details. Rows copied per table."""
    tables = Base.metadata.tables
    grants, incidents = tables["share_grants"], tables["incidents"]
    queries = {name: select(tables[name]) for name in TABLES}
    queries["share_grants"] = select(grants).where(grants.c.expires_at > grants_since)
    queries["incidents"] = select(incidents).where(incidents.c.closed_at.is_(None))
    # Only the account the copy is made for (its TOTP secret, still encrypted with the contact key), so the laptop
    # can sign that person in with no connection; never another account. No password hash: the consoles' role may
    # not read one (migration 0013), and the copy needs none, being sealed with a key derived from the password
    # (console/services/field_login.py checks the password by opening it).
    account, signed = tables["users"], tables["sign_ins"]
    queries["users"] = (select(*[c for c in account.c if c.name != "password_hash"])
                        .where(account.c.id == user_id))
    queries["sign_ins"] = (select(*[c for c in signed.c if c.name != "password_hash"])
                           .where(signed.c.user_id == user_id))
    blank = {"users": {"password_hash": FIELD_COPY_PASSWORD},
             "owners": ({} if contacts else {"contact_ciphertext": None, "phone_digest": None, "email_digest": None}),
             "streams": {} if credentials else {"credential_ciphertext": None}}
    counts = {}
    copied_incidents: set[int] = set()
    try:
        with source.reader.connect() as read, target.engine.begin() as write:
            for name in TABLES:
                batch: list[dict] = []
                counts[name] = 0
                for row in read.execute(queries[name]):
                    values = {**row._asdict(), **blank.get(name, {})}
                    if name == "incidents":
                        copied_incidents.add(values["id"])
                    elif name == "share_grants" and values.get("incident_id") not in copied_incidents:
                        values["incident_id"] = None  # its incident is closed, so not in the copy
                    batch.append(values)
                    if len(batch) == _BATCH:
                        write.execute(tables[name].insert(), batch)
                        counts[name] += len(batch)
                        batch = []
                if batch:
                    write.execute(tables[name].insert(), batch)
                    counts[name] += len(batch)
    finally:
        target.close()
    return counts


def serialised(path: Path) -> bytes:
    """The SQLite file's bytes, in rollback-journal mode (an in-memory copy cannot use WAL)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")
        return conn.serialize()
    finally:
        conn.close()


def open_serialised(data: bytes, read_only: bool = False) -> Database:
    """A registry in memory from serialised bytes; `read_only` refuses every write. NotARegistry when it is not."""
    memory = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        memory.deserialize(data)
        memory.execute("SELECT count(*) FROM cameras").fetchone()
        if read_only:
            memory.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        memory.close()
        raise NotARegistry(str(exc)) from None
    engine = create_engine("sqlite://", creator=lambda: memory, poolclass=StaticPool)
    return Database(engine=engine, url="sqlite://")

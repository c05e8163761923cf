"""Registry reads and writes of a portal import (console/services/registry_import.py), for batches up to 100k.

Look-ups go in chunks of ids (one IN (...) each); new rows are loaded through console/store/bulk.py with ids
reserved here first; updates are batched executemany statements with their registry history. Functions take a
Connection inside the caller's transaction and return rows read by attribute (`row.id`, `row.owner_id`, ...).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection

from console.store import bulk
from console.store.models import RegistryHistoryRow
from console.store.registry import cameras, owners, sites, streams

CHUNK = 5000  # ids per IN (...) look-up
history = RegistryHistoryRow.__table__


def _chunks(values: Sequence, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def take_write_lock(conn: Connection) -> None:
    """SQLite: the write lock before reading what is there, so the ids after the largest stay ours (see
    reserve_ids); PostgreSQL's sequences need none."""
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# --- look-ups -----------------------------------------------------------------------------------


def cameras_by_portal_id(conn: Connection, portal_ids: Sequence[str], fields: Sequence[str]) -> dict:
    """portal id -> the camera's row (id, portal_id, status and `fields`)."""
    found = {}
    columns = (cameras.c.id, cameras.c.portal_id, cameras.c.status) + tuple(cameras.c[f] for f in fields)
    for chunk in _chunks(portal_ids):
        for row in conn.execute(select(*columns).where(cameras.c.portal_id.in_(chunk))):
            found[row.portal_id] = row
    return found


def cameras_without_portal_id(conn: Connection, camera_ids: Sequence[int], fields: Sequence[str]) -> list:
    """The rows (as cameras_by_portal_id) of those of `camera_ids` that have no portal id."""
    found = []
    columns = (cameras.c.id, cameras.c.portal_id, cameras.c.status) + tuple(cameras.c[f] for f in fields)
    for chunk in _chunks(camera_ids):
        found.extend(conn.execute(select(*columns).where(cameras.c.id.in_(chunk)).where(cameras.c.portal_id.is_(None))))
    return found


def main_streams(conn: Connection, camera_ids: Sequence[int]) -> dict:
    """camera id -> its first main stream's row (id, camera_id, url, credential_ciphertext)."""
    found = {}
    query = select(streams.c.id, streams.c.camera_id, streams.c.url, streams.c.credential_ciphertext)
    for chunk in _chunks(camera_ids):
        for row in conn.execute(query.where(streams.c.camera_id.in_(chunk)).where(streams.c.role == "main")
                                .order_by(streams.c.id)):
            found.setdefault(row.camera_id, row)
    return found


def owners_by_digest(conn: Connection, digests: Sequence[str]) -> list:
    """Owners not erased whose phone or e-mail digest is one of `digests` (id, phone_digest, email_digest,
    contact_ciphertext), oldest first within each chunk; an owner may come twice (phone and e-mail in two chunks)."""
    found = []
    for chunk in _chunks(digests):
        found.extend(conn.execute(
            select(owners.c.id, owners.c.phone_digest, owners.c.email_digest, owners.c.contact_ciphertext)
            .where(owners.c.erased_at.is_(None))
            .where(owners.c.phone_digest.in_(chunk) | owners.c.email_digest.in_(chunk)).order_by(owners.c.id)))
    return found


def owner_contacts(conn: Connection, owner_ids: Sequence[int]) -> list:
    """(id, kind, contact_ciphertext) of those of `owner_ids` not erased."""
    found = []
    for chunk in _chunks(owner_ids):
        found.extend(conn.execute(select(owners.c.id, owners.c.kind, owners.c.contact_ciphertext)
                                  .where(owners.c.id.in_(chunk)).where(owners.c.erased_at.is_(None))))
    return found


def sites_by_owner_address(conn: Connection, owner_ids: Iterable[int]) -> dict[tuple, int]:
    """(owner id, address case-folded) -> the oldest such site's id, for the sites of `owner_ids`."""
    found: dict[tuple, int] = {}
    for chunk in _chunks(sorted(set(owner_ids))):
        query = select(sites.c.id, sites.c.owner_id, sites.c.address).where(sites.c.owner_id.in_(chunk))
        for row in conn.execute(query.order_by(sites.c.id)):
            found.setdefault((row.owner_id, row.address.casefold()), row.id)
    return found


def registry_centre(conn: Connection) -> tuple[float, float] | None:
    """The mean position of the registered cameras; None for an empty registry."""
    lat, lon = conn.execute(select(func.avg(cameras.c.lat), func.avg(cameras.c.lon))).one()
    return None if lat is None else (float(lat), float(lon))


# --- writes -------------------------------------------------------------------------------------


def reserve_ids(conn: Connection, table: str, count: int) -> list[int]:
    """`count` fresh ids for `table`: from its sequence on PostgreSQL (safe beside other writers); on SQLite the
    caller holds the write lock (take_write_lock), so the ids after the largest are free."""
    if count == 0:
        return []
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": count}
        ).scalars())
    first = bulk.next_id(conn, table)
    return list(range(first, first + count))


def may_rebuild_index(conn: Connection) -> bool:
    """PostgreSQL: build the spatial index once after the load only into an empty registry (dropping it locks the
    table) and only as the table's owner (the consoles' least-privileged role may not drop indexes)."""
    if conn.dialect.name != "postgresql":
        return True  # SQLite's R*Tree is filled in one pass anyway (see bulk_loading)
    if conn.execute(select(func.count()).select_from(cameras)).scalar_one():
        return False
    return bool(conn.execute(text(
        "SELECT pg_get_userbyid(relowner) = current_user FROM pg_class WHERE oid = 'cameras'::regclass")).scalar_one())


def update_owners(conn: Connection, changes: list[dict], now) -> None:
    """Each of `changes` ({"id", "kind", "contact_ciphertext", "phone_digest", "email_digest"}) written, version + 1."""
    conn.execute(
        update(owners).where(owners.c.id == bindparam("b_id")).values(
            kind=bindparam("b_kind"), contact_ciphertext=bindparam("b_contact"),
            phone_digest=bindparam("b_phone"), email_digest=bindparam("b_email"), updated_at=now,
            version=owners.c.version + 1),
        [{"b_id": o["id"], "b_kind": o["kind"], "b_contact": o["contact_ciphertext"], "b_phone": o["phone_digest"],
          "b_email": o["email_digest"]} for o in changes])


def update_cameras(conn: Connection, changes: list[dict], now) -> None:
    """Each of `changes` ({"id", and the same camera columns in each}) written, version + 1."""
    fields = [name for name in changes[0] if name != "id"]
    conn.execute(
        update(cameras).where(cameras.c.id == bindparam("b_id")).values(
            **{f: bindparam(f"b_{f}") for f in fields}, updated_at=now, version=cameras.c.version + 1),
        [{f"b_{k}": v for k, v in change.items()} for change in changes])


def add_history(conn: Connection, rows: list[dict]) -> None:
    """Registry history rows ({"at", "username", "entity", "entity_id", "field", "old_value", "new_value"})."""
    conn.execute(insert(history), rows)


def update_stream(conn: Connection, stream_id: int, values: dict) -> None:
    conn.execute(update(streams).where(streams.c.id == stream_id).values(**values))


def add_streams(conn: Connection, rows: list[dict]) -> None:
    """Streams ({"camera_id", "protocol", "role", "url", "credential_ciphertext"}) with ids from the sequence."""
    conn.execute(insert(streams), rows)

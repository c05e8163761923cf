"""Fast bulk loading of registry rows (the demo generator, imports): COPY on PostgreSQL, executemany on SQLite.

Rows come as tuples in the column order given, with their ids assigned by the caller; sequences are moved
past the loaded ids afterwards so later inserts do not collide.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

_CHUNK = 20_000


# Every column of the registry tables in load order, for load_rows (the demo and portal imports build rows so).
OWNER_COLUMNS = ("id", "kind", "portal_id", "contact_ciphertext", "phone_digest", "email_digest", "is_demo",
                 "created_at", "updated_at", "version")
SITE_COLUMNS = ("id", "owner_id", "name", "address", "lat", "lon", "created_at", "updated_at", "version")
CAMERA_COLUMNS = ("id", "site_id", "owner_id", "portal_id", "label", "lat", "lon", "capability", "sharing_mode",
                  "status", "placement", "fov_bearing_deg", "fov_angle_deg", "fov_range_m", "consent_at",
                  "consent_channel", "consent_taken_by", "consent_wording", "is_demo", "created_at", "updated_at",
                  "version")
STREAM_COLUMNS = ("id", "camera_id", "protocol", "role", "url", "credential_ciphertext")


def load_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert `rows` into `table` inside the caller's transaction; return how many were written."""
    if conn.dialect.name == "postgresql":
        return _copy(conn, table, columns, rows)
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    cursor = conn.connection.driver_connection.cursor()
    # Indexes of a million-row load do not fit SQLite's default 2 MB page cache; thrashing would triple the time.
    cursor.execute("PRAGMA cache_size = -262144")
    count = 0
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            cursor.executemany(sql, chunk)
            count += len(chunk)
            chunk.clear()
    if chunk:
        cursor.executemany(sql, chunk)
        count += len(chunk)
    cursor.execute("PRAGMA cache_size = -65536")  # back to what every connection has (console/store/db.py)
    cursor.close()
    return count


def _copy(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    raw = conn.connection.driver_connection
    count = 0
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def next_id(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")).scalar_one())


def reset_sequence(conn: Connection, table: str) -> None:
    """After loading explicit ids, move PostgreSQL's id sequence past them (SQLite needs nothing)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
        ))


def timestamp_adapter(conn: Connection):
    """How an aware UTC datetime is written by `load_rows` on this backend (the same form the models use)."""
    if conn.dialect.name == "sqlite":
        # SQLAlchemy's SQLite DateTime storage format, naive UTC (see console/store/types.py).
        # (isoformat is ten times faster than strftime, which matters at a million rows.)
        return lambda value: None if value is None else value.replace(tzinfo=None).isoformat(" ", "microseconds")
    return lambda value: value

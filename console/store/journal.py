"""The local audit journal: audit events that could not reach the database, kept durably on this machine until
they can be appended to the chain, in order, exactly once.

A small SQLite file (`audit-journal.db` in the user's data folder, synchronous=FULL): an event is journaled only
once its row is on disk, so what it records may then happen. Each entry has a journal id (a uuid) that travels
in the event's details as `journal_id`, and the time it happened, which the stored event keeps as its
`occurred_at`. Flushing appends the entries oldest first through AuditLog.append and marks each one flushed; an
entry whose journal id is already in the database (the process died between the database's commit and the
mark) is marked without being appended again, so no event is ever doubled.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from console.domain.audit import AuditEntry, AuditRecord, format_timestamp, parse_timestamp
from console.errors import UserError
from console.paths import user_data_dir
from console.store.audit import AuditLog, AuditUnavailable, _checked, _why, connection_lost

JOURNAL_ID = "journal_id"  # the details key that carries the journal id into the database
FILE_NAME = "audit-journal.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    journal_id TEXT NOT NULL UNIQUE,
    occurred_at TEXT NOT NULL,
    action TEXT NOT NULL,
    username TEXT NOT NULL,
    workstation TEXT NOT NULL,
    outcome TEXT NOT NULL,
    camera_id INTEGER,
    incident_id INTEGER,
    details TEXT NOT NULL,
    flushed_at TEXT,
    seq INTEGER
);
CREATE INDEX IF NOT EXISTS entries_pending ON entries (flushed_at, n);
"""


class JournalUnavailable(UserError):
    """The local journal could not store the event durably, so what it records must not happen."""


def default_journal_path() -> Path:
    return user_data_dir() / FILE_NAME


@dataclass(frozen=True)
class JournalEntry:
    n: int  # order of arrival
    journal_id: str
    occurred_at: str  # as audit_events stores it (format_timestamp)
    entry: AuditEntry  # details include journal_id
    flushed_at: str | None = None
    seq: int | None = None  # the audit event's seq once flushed (None when found already stored)


@dataclass(frozen=True)
class FlushResult:
    appended: int  # events written to the database by this flush
    already_stored: int  # entries whose event was already in the database (a flush that died before marking)
    pending: int  # entries still waiting


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuditJournal:
    """The journal file: `record` an event, `flush` the pending ones into an AuditLog."""

    def __init__(self, path: Path | str | None = None, clock: Callable[[], datetime] | None = None):
        self.path = Path(path) if path is not None else default_journal_path()
        self.clock = clock or _utcnow

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise JournalUnavailable(f"the local audit journal {self.path} cannot be opened: {_reason(exc)}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a journaled event survives a power cut
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise JournalUnavailable(f"the local audit journal {self.path} cannot be written: {_reason(exc)}") from None
        return conn

    # --- writing ----------------------------------------------------------------------------------

    def record(self, entry: AuditEntry, occurred_at: datetime | None = None) -> JournalEntry:
        """Store one event durably (committed with synchronous=FULL) before returning. An entry that already
        carries a journal id (see `with_journal_id`) keeps it.

        Raises UserError for an unsafe or malformed entry and JournalUnavailable when the file cannot be written;
        nothing is stored either way.
        """
        entry, journal_id = with_journal_id(entry)
        details_json = _checked(entry)  # the same checks the database append makes, now rather than at flush
        moment = format_timestamp(occurred_at or self.clock())
        with closing(self._connect()) as conn:
            try:
                cursor = conn.execute(
                    "INSERT INTO entries (journal_id, occurred_at, action, username, workstation, outcome, camera_id,"
                    " incident_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (journal_id, moment, entry.action, entry.username, entry.workstation, entry.outcome,
                     entry.camera_id, entry.incident_id, details_json))
            except sqlite3.Error as exc:
                raise JournalUnavailable(
                    f"the local audit journal {self.path} cannot be written: {_reason(exc)}") from None
            return JournalEntry(cursor.lastrowid, journal_id, moment, entry)

    # --- reading ----------------------------------------------------------------------------------

    def pending(self) -> list[JournalEntry]:
        """Entries not yet in the database, oldest first."""
        return self._select("WHERE flushed_at IS NULL ORDER BY n")

    def entries(self) -> list[JournalEntry]:
        """Every entry, flushed or not, oldest first."""
        return self._select("ORDER BY n")

    def pending_count(self) -> int:
        if not self.path.exists():
            return 0
        with closing(self._connect()) as conn:
            return conn.execute("SELECT count(*) FROM entries WHERE flushed_at IS NULL").fetchone()[0]

    def _select(self, where: str) -> list[JournalEntry]:
        if not self.path.exists():
            return []
        with closing(self._connect()) as conn:
            return [_entry(row) for row in conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries {where}")]

    # --- flushing ---------------------------------------------------------------------------------

    def flush(self, audit: AuditLog,
              on_appended: Callable[[JournalEntry, AuditRecord], None] | None = None) -> FlushResult:
        """Append the pending entries to `audit`, oldest first, each exactly once.

        Each entry is handled under the journal's write lock, so two flushers on this machine never race:
        check the database for its journal id, append it (with its original time) unless it is there, then mark
        it. `on_appended` runs after the database commit and before the mark (progress reports; tests use it to
        die in exactly that window). Raises AuditUnavailable when the database goes away: what was flushed
        stays flushed, the rest stays pending.
        """
        appended = already = 0
        if not self.path.exists():
            return FlushResult(0, 0, 0)
        with closing(self._connect()) as conn:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise JournalUnavailable(f"the local audit journal {self.path} is busy: {_reason(exc)}") from None
                try:
                    row = conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE flushed_at IS NULL "
                                       "ORDER BY n LIMIT 1").fetchone()
                    if row is None:
                        conn.execute("COMMIT")
                        return FlushResult(appended, already, 0)
                    item = _entry(row)
                    seq = stored_seq(audit, item)
                    if seq is None:
                        record = audit.append(item.entry, occurred_at=parse_timestamp(item.occurred_at))
                        seq = record.seq
                        appended += 1
                        if on_appended is not None:
                            on_appended(item, record)
                    else:
                        already += 1
                    conn.execute("UPDATE entries SET flushed_at = ?, seq = ? WHERE n = ?",
                                 (format_timestamp(self.clock()), seq, item.n))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise


def with_journal_id(entry: AuditEntry) -> tuple[AuditEntry, str]:
    """The entry with a journal id in its details (a new uuid unless it has one already), and that id.

    Giving an event its id BEFORE the database is tried settles the one ambiguous case: a connection that broke
    while the commit was under way. The event is then journaled with the same id, and the flush finds it stored.
    """
    given = entry.details.get(JOURNAL_ID)
    if given is not None:
        try:
            canonical = str(uuid.UUID(str(given)))
        except ValueError:
            canonical = None
        if canonical != given:
            raise UserError(f"the audit detail {JOURNAL_ID!r} must be a journal id (a lower-case uuid), not {given!r}")
        return entry, given
    journal_id = str(uuid.uuid4())
    return AuditEntry(entry.action, entry.username, entry.workstation, entry.outcome, entry.camera_id,
                      entry.incident_id, {**entry.details, JOURNAL_ID: journal_id}), journal_id


_ENTRY_COLUMNS = ("n, journal_id, occurred_at, action, username, workstation, outcome, camera_id, incident_id, "
                  "details, flushed_at, seq")


def _entry(row) -> JournalEntry:
    n, journal_id, occurred_at, action, username, workstation, outcome, camera_id, incident_id, details, flushed, \
        seq = row
    return JournalEntry(n, journal_id, occurred_at,
                        AuditEntry(action, username, workstation, outcome, camera_id, incident_id, json.loads(details)),
                        flushed, seq)


def stored_seq(audit: AuditLog, item: JournalEntry) -> int | None:
    """The seq of the stored event carrying this entry's journal id, or None. Cheap: the occurred_at index narrows
    it to this workstation's events at or after the entry's time (the stored event keeps that exact time)."""
    pattern = f'%"{JOURNAL_ID}":"{item.journal_id}"%'
    try:
        with audit.database.engine.connect() as conn:
            return conn.execute(text(
                "SELECT seq FROM audit_events WHERE occurred_at >= :at AND workstation = :ws AND details LIKE :pattern "
                "ORDER BY seq LIMIT 1"), {"at": item.occurred_at, "ws": item.entry.workstation, "pattern": pattern},
            ).scalar()
    except SQLAlchemyError as exc:
        raise AuditUnavailable(_why(exc), connection_lost(exc)) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__

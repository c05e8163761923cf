"""The local audit journal: audit events that could not reach the database, kept durably on this machine until
they can be appended to the chain, in order, exactly once, and kept as evidence that can be checked.

A small SQLite file (`audit-journal.db` in the user's data folder, mode 0600, synchronous=FULL): an event is
journaled only once its row is on disk, so what it records may then happen. Each entry has a journal id (a uuid)
that travels in the event's details as `journal_id`, the time it happened (the stored event's `occurred_at`), and a
place in its workstation's hash chain (console/store/journal_chain.py: sequence 1, 2, 3 ..., each hash covering the
previous one). The `heads` table records where each workstation's chain began (the last sequence the journal knew
had been received) and its newest entry.

Flushing first checks every workstation's chain against the journal's heads and the server's journal_sequences row
(console/store/journal_received.py). A gap, an edit, a reordering, a cut tail, a replaced journal or an entry marked
flushed that the trail never received is written as ONE `journal_tampered` event naming the workstation and the
sequence numbers, before any surviving event; the surviving events are then appended (each with its `journal_seq`,
marked `from_tampered_journal`), oldest first. The server's row moves in the same transaction as each append, and
an entry whose journal id is already in the database (the process died between the commit and the local mark) is
marked without being appended again, so no event is lost or doubled.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from console.domain.audit import Action, AuditEntry, AuditRecord, Outcome, format_timestamp
from console.errors import UserError
from console.paths import user_data_dir
from console.store import journal_chain as chain
from console.store.audit import AuditLog, AuditUnavailable, checked_details, connection_lost, not_recorded

JOURNAL_ID = "journal_id"  # the details key that carries the journal id into the database
JOURNAL_SEQ = "journal_seq"  # the details key of a flushed event: its place in its workstation's journal chain
FROM_TAMPERED = "from_tampered_journal"  # set on events flushed from a journal whose check found something
ALTERED = "journal_entry_altered"  # set on an event whose own journal entry was changed after it was written
TAMPERED = Action.JOURNAL_TAMPERED  # the action of the event that reports what the check found
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
CREATE TABLE IF NOT EXISTS heads (
    workstation TEXT PRIMARY KEY,
    base_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
"""
_CHAIN_COLUMNS = (("jseq", "INTEGER"), ("prev_hash", "TEXT"), ("hash", "TEXT"))


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
    jseq: int | None = None  # the entry's place in its workstation's journal chain
    prev_hash: str | None = None
    hash: str | None = None

    def link(self) -> chain.Link:
        return chain.Link(self.n, self.jseq, self.prev_hash, self.hash,
                          chain.canonical_event(self.journal_id, self.occurred_at, self.entry),
                          self.flushed_at is not None, self.journal_id)


@dataclass(frozen=True)
class FlushResult:
    appended: int  # events written to the database by this flush
    already_stored: int  # entries whose event was already in the database (a flush that died before marking)
    pending: int  # entries still waiting
    tampered: tuple[chain.Finding, ...] = ()  # what this flush reported as journal_tampered (new findings only)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuditJournal:
    """The journal file: `record` an event, `flush` the pending ones into an AuditLog."""

    def __init__(self, path: Path | str | None = None, clock: Callable[[], datetime] | None = None):
        self.path = Path(path) if path is not None else default_journal_path()
        self.clock = clock or _utcnow

    def connect(self) -> sqlite3.Connection:
        """The journal file opened for this caller (only its owner may read it; WAL, a write survives a power cut)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _private(self.path)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise JournalUnavailable(f"the local audit journal {self.path} cannot be opened: {reason_of(exc)}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a journaled event survives a power cut
            conn.executescript(_SCHEMA)
            _upgrade(conn)
            for suffix in ("-wal", "-shm"):
                _private(self.path.with_name(self.path.name + suffix), create=False)
        except (OSError, sqlite3.Error) as exc:
            conn.close()
            raise JournalUnavailable(f"the local audit journal {self.path} cannot be written: {reason_of(exc)}") from None
        return conn

    # --- writing ----------------------------------------------------------------------------------

    def record(self, entry: AuditEntry, occurred_at: datetime | None = None) -> JournalEntry:
        """Store one event durably (committed with synchronous=FULL) before returning, as the next link of its
        workstation's chain. An entry that already carries a journal id (see `with_journal_id`) keeps it.

        Raises UserError for an unsafe or malformed entry and JournalUnavailable when the file cannot be written;
        nothing is stored either way.
        """
        entry, journal_id = with_journal_id(entry)
        details_json = checked_details(entry)  # the same checks the database append makes, now rather than at flush
        moment = format_timestamp(occurred_at or self.clock())
        with closing(self.connect()) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                jseq, prev = _next_link(conn, entry.workstation)
                digest = chain.entry_hash(prev, jseq, chain.canonical_event(journal_id, moment, entry))
                cursor = conn.execute(
                    "INSERT INTO entries (journal_id, occurred_at, action, username, workstation, outcome, camera_id,"
                    " incident_id, details, jseq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (journal_id, moment, entry.action, entry.username, entry.workstation, entry.outcome,
                     entry.camera_id, entry.incident_id, details_json, jseq, prev, digest))
                conn.execute("UPDATE heads SET last_seq = ?, last_hash = ? WHERE workstation = ?",
                             (jseq, digest, entry.workstation))
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise JournalUnavailable(
                    f"the local audit journal {self.path} cannot be written: {reason_of(exc)}") from None
            return JournalEntry(cursor.lastrowid, journal_id, moment, entry, None, None, jseq, prev, digest)

    # --- reading ----------------------------------------------------------------------------------

    def pending(self) -> list[JournalEntry]:
        """Entries not yet marked as in the database, oldest first."""
        return self._select("WHERE flushed_at IS NULL ORDER BY n")

    def entries(self) -> list[JournalEntry]:
        """Every entry, flushed or not, oldest first."""
        return self._select("ORDER BY n")

    def pending_count(self) -> int:
        if not self.path.exists():
            return 0
        with closing(self.connect()) as conn:
            return conn.execute("SELECT count(*) FROM entries WHERE flushed_at IS NULL").fetchone()[0]

    def heads(self) -> dict[str, chain.Head]:
        if not self.path.exists():
            return {}
        with closing(self.connect()) as conn:
            return {ws: chain.Head(base, last) for ws, base, last in
                    conn.execute("SELECT workstation, base_seq, last_seq FROM heads")}

    def _select(self, where: str) -> list[JournalEntry]:
        if not self.path.exists():
            return []
        with closing(self.connect()) as conn:
            return [entry_from_row(row) for row in conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries {where}")]

    # --- flushing ---------------------------------------------------------------------------------

    def flush(self, audit: AuditLog,
              on_appended: Callable[[JournalEntry, AuditRecord], None] | None = None) -> FlushResult:
        """Check the journal, report what the check found, then append the pending entries, oldest first, each
        exactly once (console/store/journal_flush.py). Raises AuditUnavailable when the database goes away: what
        was flushed stays flushed, the rest stays pending."""
        from console.store.journal_flush import flush

        if not self.path.exists():
            return FlushResult(0, 0, 0)
        return flush(self, audit, on_appended)

    def mark(self, conn: sqlite3.Connection, item: JournalEntry, seq: int | None) -> None:
        conn.execute("UPDATE entries SET flushed_at = ?, seq = ? WHERE n = ?",
                     (format_timestamp(self.clock()), seq, item.n))


def tamper_entry(workstation: str, found: list[chain.Finding], journal_name: str) -> AuditEntry:
    """The journal_tampered event: the workstation, every sequence number involved, and one sentence per finding."""
    seqs = sorted({s for f in found for s in f.seqs if s > 0})
    return AuditEntry(TAMPERED, "system", workstation, Outcome.FAILED, details={
        "workstation": workstation, "sequences": seqs, "journal": journal_name,
        "findings": [f.as_detail() for f in found]})


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


ENTRY_COLUMNS = ("n, journal_id, occurred_at, action, username, workstation, outcome, camera_id, incident_id, "
                  "details, flushed_at, seq, jseq, prev_hash, hash")


def entry_from_row(row) -> JournalEntry:
    n, journal_id, occurred_at, action, username, workstation, outcome, camera_id, incident_id, details, flushed, \
        seq, jseq, prev_hash, digest = row
    return JournalEntry(n, journal_id, occurred_at,
                        AuditEntry(action, username, workstation, outcome, camera_id, incident_id, json.loads(details)),
                        flushed, seq, jseq, prev_hash, digest)


def _next_link(conn: sqlite3.Connection, workstation: str) -> tuple[int, str]:
    """(sequence, previous hash) of the workstation's next entry; a workstation's first entry starts its chain
    after the last sequence this journal knows was received (none yet: 0)."""
    row = conn.execute("SELECT last_seq, last_hash FROM heads WHERE workstation = ?", (workstation,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO heads (workstation, base_seq, last_seq, last_hash) VALUES (?, 0, 0, ?)",
                     (workstation, chain.genesis(workstation, 0)))
        return 1, chain.genesis(workstation, 0)
    return row[0] + 1, row[1]


def _upgrade(conn: sqlite3.Connection) -> None:
    """A journal written before entries were chained: its entries get their chain now, in the order they came."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(entries)")}
    if all(name in have for name, _ in _CHAIN_COLUMNS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name, kind in _CHAIN_COLUMNS:
            if name not in {row[1] for row in conn.execute("PRAGMA table_info(entries)")}:
                conn.execute(f"ALTER TABLE entries ADD COLUMN {name} {kind}")
        for row in conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY n").fetchall():
            item = entry_from_row(row)
            jseq, prev = _next_link(conn, item.entry.workstation)
            digest = chain.entry_hash(prev, jseq, chain.canonical_event(item.journal_id, item.occurred_at, item.entry))
            conn.execute("UPDATE entries SET jseq = ?, prev_hash = ?, hash = ? WHERE n = ?", (jseq, prev, digest, item.n))
            conn.execute("UPDATE heads SET last_seq = ?, last_hash = ? WHERE workstation = ?",
                         (jseq, digest, item.entry.workstation))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _private(path: Path, create: bool = True) -> None:
    """The file readable and writable by its owner only (created so when missing); an existing file is tightened."""
    if create and not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if stat.S_IMODE(mode) & 0o077:
        os.chmod(path, 0o600)


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
        raise AuditUnavailable(not_recorded(exc), connection_lost(exc)) from None


def reason_of(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


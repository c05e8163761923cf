"""The audit log: append hash-chained events durably (or not at all), read them back, verify the chain.

Appends are serialised so the chain stays one unbroken sequence however many consoles write at once:
PostgreSQL takes a transaction-scoped advisory lock, SQLite a write lock up front (BEGIN IMMEDIATE).
The sequence number is the primary key, so even a writer that skipped the lock could not fork the chain.
Triggers from migration 0001 refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from contextlib import closing
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError

from console.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditFilter,
    AuditRecord,
    ChainWalker,
    VerifyResult,
    canonical_details,
    check_details,
    event_hash,
    format_timestamp,
)
from console.errors import UserError, first_line
from console.store.db import Database, sync_wait_cancelled, write_deadline
from console.store.models import AuditCutRow, AuditEventRow

events = AuditEventRow.__table__

# Arbitrary constant shared by every console: the PostgreSQL advisory lock that serialises appends.
PG_APPEND_LOCK = 0x52544943_41554454  # "RTICAUDT"
_COLUMNS = "seq, occurred_at, username, workstation, action, outcome, camera_id, incident_id, details, prev_hash, hash"
_LIMITS = {"username": 64, "workstation": 100, "action": 48, "outcome": 16}
# Built once: appends are on the hot path of opening a live view.
_HEAD = select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)
_INSERT = events.insert()


log = logging.getLogger(__name__)
_JOURNAL_ID = "journal_id"  # console/store/journal.py's JOURNAL_ID (that module imports this one)


class AuditUnavailable(UserError):
    """The event was not durably written, so whatever it records must not happen. The message says why.

    `connection_lost` is True when the database could not be reached or the connection broke (the event may
    then go to the local journal, console/store/journal.py), False when the store itself refused it.
    """

    def __init__(self, message: str, connection_lost: bool = False):
        super().__init__(message)
        self.connection_lost = connection_lost


class AuditUnconfirmed(AuditUnavailable):
    """The event is in the primary's chain (`record`) but no synchronous standby confirmed it in time: journal it
    (the journal id check keeps it from being written twice) and treat the database as away."""

    def __init__(self, message: str, record: "AuditRecord"):
        super().__init__(message, connection_lost=True)
        self.record = record


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuditLog:
    """Append, query and verify the audit events of one database."""

    def __init__(self, database: Database, clock: Callable[[], datetime] | None = None):
        self.database = database
        self.clock = clock or _utcnow

    # --- append -----------------------------------------------------------------------------------

    def append(self, entry: AuditEntry, conn: Connection | None = None,
               occurred_at: datetime | None = None) -> AuditRecord:
        """Write one event. Without `conn`, committed durably before returning; with `conn`, inside the
        caller's transaction (the event is written only if the caller's commit succeeds). `occurred_at`
        (aware) is when it happened, for an event recorded late from the local journal; default: now.

        Raises AuditUnavailable when the event could not be written, UserError for an unsafe or
        malformed entry (nothing is written either way).
        """
        details_json = checked_details(entry)
        if occurred_at is not None and occurred_at.tzinfo is None:
            raise UserError("an audit event's time must be timezone-aware")
        if conn is not None:
            try:
                return self._append_in(conn, entry, details_json, occurred_at)
            except SQLAlchemyError as exc:
                raise AuditUnavailable(not_recorded(exc), connection_lost(exc)) from None
        try:
            with self.database.engine.connect() as own, \
                    write_deadline(own, self.database.write_timeout_s) as warnings:
                record = self._append_in(own, entry, details_json, occurred_at)
                own.commit()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(not_recorded(exc), connection_lost(exc)) from None
        if sync_wait_cancelled(warnings):
            # Committed on the primary after db_write_timeout_s without a synchronous standby's flush: stored, but
            # not known to survive a failover. An event with a journal id goes to the journal as well (its flush
            # finds the id already stored and does not write it twice; on a promoted standby that lacks it, it is
            # written): the caller is told as for a lost connection.
            if _JOURNAL_ID in entry.details:
                raise AuditUnconfirmed(
                    "the audit event was written, but no synchronous standby confirmed it within "
                    f"{self.database.write_timeout_s:g} s: kept in the local journal too", record)
            log.warning("audit event %d committed without a synchronous standby's confirmation", record.seq)
        return record

    def _append_in(self, conn: Connection, entry: AuditEntry, details_json: str,
                   occurred: datetime | None = None) -> AuditRecord:
        if conn.dialect.name == "postgresql":
            # One round trip: whatever the server's default, this transaction's commit waits for the WAL
            # flush (set_config(..., true) is SET LOCAL); then wait for our turn to extend the chain.
            conn.exec_driver_sql(
                f"SELECT set_config('synchronous_commit', 'on', true), pg_advisory_xact_lock({PG_APPEND_LOCK})")
        elif not conn.connection.dbapi_connection.in_transaction:
            # Take the write lock before reading the chain head, so no other writer slips in between.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        last = conn.execute(_HEAD).first()
        seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
        # The chain orders events by seq, not by time (ChainWalker never compares times), so an event from the
        # journal keeps the time it happened even though newer events may already precede it.
        occurred_at = format_timestamp(occurred or self.clock())
        digest = event_hash(seq, occurred_at, entry.username, entry.workstation, entry.action, entry.outcome,
                            entry.camera_id, entry.incident_id, details_json, prev_hash)
        conn.execute(_INSERT, dict(
            seq=seq, occurred_at=occurred_at, username=entry.username, workstation=entry.workstation,
            action=entry.action, outcome=entry.outcome, camera_id=entry.camera_id, incident_id=entry.incident_id,
            details=details_json, prev_hash=prev_hash, hash=digest,
        ))
        return AuditRecord(seq, occurred_at, entry.username, entry.workstation, entry.action, entry.outcome,
                           entry.camera_id, entry.incident_id, details_json, prev_hash, digest)

    # --- read -------------------------------------------------------------------------------------

    def query(self, where: AuditFilter = AuditFilter(), **fields) -> list[AuditRecord]:
        """Events matching the filter (or the same fields as keywords), in sequence order."""
        if fields:
            where = AuditFilter(**{**where.__dict__, **fields})
        statement = select(events)
        if where.since is not None:
            statement = statement.where(events.c.occurred_at >= format_timestamp(where.since))
        if where.until is not None:
            statement = statement.where(events.c.occurred_at < format_timestamp(where.until))
        if where.username is not None:
            statement = statement.where(events.c.username == where.username)
        if where.camera_id is not None:
            statement = statement.where(events.c.camera_id == where.camera_id)
        if where.camera_ids:
            statement = statement.where(events.c.camera_id.in_(list(where.camera_ids)))
        if where.incident_id is not None:
            statement = statement.where(events.c.incident_id == where.incident_id)
        if where.actions:
            statement = statement.where(events.c.action.in_(list(where.actions)))
        if where.outcome is not None:
            statement = statement.where(events.c.outcome == where.outcome)
        if where.after_seq is not None:
            statement = statement.where(events.c.seq > where.after_seq)
        statement = statement.order_by(events.c.seq.desc() if where.newest_first else events.c.seq)
        if where.limit is not None:
            statement = statement.limit(where.limit)
        try:
            with self.database.engine.connect() as conn:
                return [_record(row) for row in conn.execute(statement)]
        except SQLAlchemyError as exc:
            raise UserError(f"cannot read the audit log: {first_line(exc)}") from None

    def head(self) -> AuditRecord | None:
        """The newest event, or None when the log is empty."""
        found = self.query(limit=1, newest_first=True)
        return found[0] if found else None

    # --- verify -----------------------------------------------------------------------------------

    def verify(self, anchor: tuple[int, str] | None = None, batch: int = 20_000,
               start: tuple[int, str] | None = None) -> VerifyResult:
        """Walk the whole chain; `anchor` (seq, hash) from an earlier check also catches a cut-off tail."""
        return self.walk(anchor, batch=batch, start=start).result()

    def walk(self, anchor: tuple[int, str] | None = None, marks: Iterable[int] = (),
             batch: int = 20_000, start: tuple[int, str] | None = None) -> ChainWalker:
        """Walk the whole chain and hand back the walker: its result(), and the hashes of the `marks` events.
        `start` (seq, previous hash): where a trail purged from its oldest end begins (console/services/
        retention_chain.py says where, from the auditor's signed cut); default: `purge_start`, else event 1."""
        walker = ChainWalker(anchor, marks)
        start = start if start is not None else purge_start(self.database)
        if start is not None:
            walker.expected_seq, walker.prev_hash = start
        driver_error = self.database.engine.dialect.loaded_dbapi.Error  # raw cursors raise the driver's own
        try:
            with self.database.engine.connect() as conn:
                # closing(): stop and join the fetch thread before the connection goes back to the pool.
                # SQLite builds each event's canonical form itself (in C, off the GIL, on the fetch thread); on
                # PostgreSQL the server shares this machine's cores, so it sends the plain columns in binary and
                # Python builds the form (measured faster here: tests/bench/audit.py).
                if conn.dialect.name == "postgresql":
                    source, feed = _batches(conn, _COLUMNS, batch), walker.feed
                else:
                    source, feed = _batches(conn, FORM_COLUMNS, batch), walker.feed_forms
                with closing(_prefetched(source)) as batches:
                    for rows in batches:
                        if not feed(rows):
                            break
        except (SQLAlchemyError, driver_error) as exc:
            raise UserError(f"cannot read the audit log to verify it: {first_line(exc)}") from None
        return walker


def purge_start(database: Database) -> tuple[int, str] | None:
    """After a retention purge: (the oldest kept event, the hash it must point back to) when a stored cut covers the
    events before it, else None (the walk starts at event 1). The cut's signature is not checked here: `audit verify
    --pubkey` does that (console/services/retention_chain.py) and passes its own start."""
    cuts = AuditCutRow.__table__
    try:
        with database.engine.connect() as conn:
            first = conn.execute(select(events.c.seq, events.c.prev_hash).order_by(events.c.seq).limit(1)).first()
            if first is None or first.seq == 1:
                return None
            cut = conn.execute(select(cuts.c.seq, cuts.c.hash).where(cuts.c.seq >= first.seq - 1)
                               .order_by(cuts.c.seq).limit(1)).first()
    except SQLAlchemyError:
        return None  # a schema older than the cuts (0011): nothing was ever purged
    if cut is None:
        return None
    return first.seq, cut.hash if cut.seq == first.seq - 1 else first.prev_hash


def _prefetched(batches: Iterator[list[tuple]]) -> Iterator[list[tuple]]:
    """Read the next batch on a helper thread while this one hashes: the driver waits on the database (or
    SQLite steps) without holding the GIL, so fetching and hashing overlap on two cores."""
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    done = object()

    def fetch() -> None:
        item: object = done
        try:
            for rows in batches:
                ready.put(rows)
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, which re-raises it
            item = exc
        finally:
            batches.close()
        if not stop.is_set():
            ready.put(item)

    worker = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass


def _batches(conn: Connection, columns: str, batch: int) -> Iterator[list[tuple]]:
    """Rows of `columns` of every event in seq order, as plain tuples straight from the driver (verify is bound by
    per-row overhead): a server-side binary cursor on PostgreSQL, a plain one on SQLite."""
    dbapi = conn.connection.dbapi_connection
    sql = f"SELECT {columns} FROM audit_events ORDER BY seq"
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT 1")  # open the transaction a named (server-side) cursor needs
        cursor = dbapi.cursor(name="audit_verify", binary=True)  # binary: no text parsing of the numbers
        cursor.itersize = batch
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


# The canonical form of console.domain.audit.canonical_form built by SQLite, as UTF-8 bytes: json_quote() escapes
# text exactly as Python's JSON encoder with ensure_ascii=False does (" and \, \b \f \n \r \t, other control
# characters as \u00xx, everything else as is); tests/store/test_audit_forms.py compares them on awkward text.
# One format() per row: cheaper than a chain of || (each allocates a new string).
_SQLITE_FORM = (
    "CAST(format('[%d,%s,%s,%s,%s,%s,%s,%s,%s,%s]', seq, json_quote(occurred_at), json_quote(username), "
    "json_quote(workstation), json_quote(action), json_quote(outcome), COALESCE(camera_id, 'null'), "
    "COALESCE(incident_id, 'null'), details, json_quote(prev_hash)) AS BLOB)"
)
FORM_COLUMNS = f"seq, {_SQLITE_FORM}, prev_hash, hash"  # for ChainWalker.feed_forms


def checked_details(entry: AuditEntry) -> str:
    """The entry's details as stored (canonical JSON), once every field passed the checks an append makes."""
    for name, limit in _LIMITS.items():
        value = getattr(entry, name)
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"an audit event needs a {name}")
        if len(value) > limit:
            raise UserError(f"the audit {name} is {len(value)} characters long: at most {limit} fit")
        if "\x00" in value:
            raise UserError(f"the audit {name} contains a NUL character")
    for name in ("camera_id", "incident_id"):
        value = getattr(entry, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UserError(f"the audit {name} must be a whole number, not {value!r}")
    if not isinstance(entry.details, dict):
        raise UserError("audit details must be a dict")
    check_details(entry.details)
    details_json = canonical_details(entry.details)
    if "\x00" in details_json or "\\u0000" in details_json:
        raise UserError("audit details contain a NUL character")
    try:
        (entry.username + entry.workstation + entry.action + entry.outcome + details_json).encode("utf-8")
    except UnicodeEncodeError:
        raise UserError("the audit event holds text that cannot be stored (an unpaired surrogate character)") from None
    return details_json


def _record(row) -> AuditRecord:
    return AuditRecord(row.seq, row.occurred_at, row.username, row.workstation, row.action, row.outcome,
                       row.camera_id, row.incident_id, row.details, row.prev_hash, row.hash)


def connection_lost(exc: BaseException) -> bool:
    """Whether a driver error means the database is away (unreachable, connection cut), not a refusal."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (DisconnectionError, InterfaceError)):
        return True
    if isinstance(exc, OperationalError):
        # PostgreSQL: any OperationalError is the connection's (server gone, network cut, admin shutdown).
        # SQLite: only a file that cannot be opened or read, never "locked" or a constraint.
        text = first_line(exc).lower()
        return exc.orig is None or "sqlite" not in type(exc.orig).__module__ or "unable to open" in text \
            or "disk i/o" in text
    return False


def not_recorded(exc: SQLAlchemyError) -> str:
    """The sentence for an event the database did not take: nothing it records may happen."""
    return (f"the audit log could not record this event, so it was not done: {first_line(exc)} "
            "(check the database connection, then try again)")


def iter_records(log: AuditLog, where: AuditFilter = AuditFilter(), page: int = 5000) -> Iterable[AuditRecord]:
    """Every matching event, read page by page (for exports of any size)."""
    after = where.after_seq
    while True:
        chunk = log.query(AuditFilter(**{**where.__dict__, "after_seq": after, "limit": page, "newest_first": False}))
        yield from chunk
        if len(chunk) < page:
            return
        after = chunk[-1].seq


_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def restrict_privileges(database: Database, role: str) -> list[str]:
    """PostgreSQL: let `role` (the login the consoles use) read and append audit events, never change them.

    Triggers stop UPDATE/DELETE/TRUNCATE, but a table's owner may disable triggers; a role that only holds
    SELECT and INSERT can do neither. Returns the statements run. Needs an administrator's connection.
    """
    if database.dialect != "postgresql":
        raise UserError("table privileges exist only on PostgreSQL; on SQLite the triggers guard the audit log")
    if not _ROLE.match(role):
        raise UserError(f"{role!r} is not a PostgreSQL role name (letters, digits and _ only)")
    try:
        with database.engine.begin() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}).first() is None:
                raise UserError(f"there is no PostgreSQL role {role!r}: create it first (CREATE ROLE {role} LOGIN)")
            owner = conn.exec_driver_sql(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'audit_events'::regclass").scalar_one()
            if owner == role:
                raise UserError(f"the role {role!r} owns the audit table, so it could switch the guards off: let the "
                                "consoles log in as a role that does not own the tables")
            statements = []
            for table in ("audit_events", "audit_checkpoints"):  # the trail and the auditor's signatures over it
                statements += [
                    f'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} FROM PUBLIC, "{role}"',
                    f'GRANT SELECT, INSERT ON {table} TO "{role}"',
                ]
            statements.append(f'GRANT USAGE, SELECT ON SEQUENCE audit_checkpoints_id_seq TO "{role}"')
            for statement in statements:
                conn.exec_driver_sql(statement)
    except SQLAlchemyError as exc:
        raise UserError(f"cannot restrict the audit table's privileges: {first_line(exc)}") from None
    return statements

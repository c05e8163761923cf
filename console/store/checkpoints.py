"""The audit_checkpoints table: store a signed checkpoint together with its audit event, and read them back.

A checkpoint is written in one transaction that holds the audit trail's append lock, so the head it signs is the
head when it is stored, and the `audit_checkpoint` event recording it is the very next event (the next checkpoint
covers it). Signing happens in the caller (console/services/audit_checkpoints.py): no key reaches this module.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from console.domain.audit import GENESIS_HASH, AuditEntry, ChainWalker
from console.domain.checkpoints import BadCheckpoint, Checkpoint, checkpoint_from
from console.errors import UserError, first_line
from console.store.audit import PG_APPEND_LOCK, AuditLog, AuditUnavailable, connection_lost, events
from console.store.models import AuditCheckpointRow

checkpoints = AuditCheckpointRow.__table__
_ALL = (events.c.seq, events.c.occurred_at, events.c.username, events.c.workstation, events.c.action,
        events.c.outcome, events.c.camera_id, events.c.incident_id, events.c.details, events.c.prev_hash,
        events.c.hash)  # ChainWalker.feed's column order


class ChainNotSigned(UserError):
    """The chain does not hold together up to its head, so no checkpoint was signed (the message says where)."""


def stored_checkpoints(log: AuditLog) -> list[tuple[int, Checkpoint | str]]:
    """Every stored checkpoint in the order written: (row id, the checkpoint, or why the row is malformed)."""
    try:
        with log.database.engine.connect() as conn:
            rows = conn.execute(select(checkpoints).order_by(checkpoints.c.id)).all()
    except SQLAlchemyError as exc:
        raise UserError(f"cannot read the audit checkpoints: {first_line(exc)}") from None
    found: list[tuple[int, Checkpoint | str]] = []
    for row in rows:
        try:
            found.append((row.id, checkpoint_from({**row._mapping, "key": row.key_fingerprint})))
        except BadCheckpoint as exc:
            found.append((row.id, str(exc)))
    return found


def write_checkpoint(log: AuditLog, walker: ChainWalker, sign: Callable[[int, str, int], Checkpoint],
                     entry_for: Callable[[Checkpoint], AuditEntry]) -> Checkpoint:
    """Sign the head and store it with its audit event, in one transaction under the append lock.

    `walker` has walked the chain up to some event without the lock; the events written since are fed to it
    under the lock, so what is signed is an intact chain up to the current head. `sign(seq, hash, count)` makes
    the checkpoint; `entry_for(checkpoint)` the audit event that records it. Raises ChainNotSigned when the chain
    is broken, AuditUnavailable when nothing could be written.
    """
    try:
        with log.database.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_APPEND_LOCK})")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # no append between reading the head and signing it
            newer = conn.execute(select(*_ALL).where(events.c.seq > walker.last_good_seq).order_by(events.c.seq))
            walker.feed(newer)
            result = walker.result()
            if not result.ok:
                raise ChainNotSigned(f"no checkpoint was signed: {result.summary()}")
            count = conn.execute(select(func.count()).select_from(events)).scalar_one()
            seq, digest = (result.last_seq, result.last_hash) if result.last_seq is not None else (0, GENESIS_HASH)
            checkpoint = sign(seq, digest, count)
            conn.execute(checkpoints.insert(), dict(
                seq=checkpoint.seq, hash=checkpoint.hash, count=checkpoint.count, signed_at=checkpoint.signed_at,
                key_fingerprint=checkpoint.key, signature=checkpoint.signature))
            log.append(entry_for(checkpoint), conn=conn)
            conn.commit()
    except SQLAlchemyError as exc:
        raise AuditUnavailable(f"the audit checkpoint could not be stored: {first_line(exc)}",
                               connection_lost(exc)) from None
    return checkpoint


def events_after(log: AuditLog, seq: int, batch: int = 5000):
    """Rows (ChainWalker.feed's columns) of the events after `seq`, in order, batch by batch."""
    after = seq
    while True:
        try:
            with log.database.engine.connect() as conn:
                rows = conn.execute(select(*_ALL).where(events.c.seq > after).order_by(events.c.seq)
                                    .limit(batch)).all()
        except SQLAlchemyError as exc:
            raise UserError(f"cannot read the audit log: {first_line(exc)}") from None
        if rows:
            yield rows
        if len(rows) < batch:
            return
        after = rows[-1].seq

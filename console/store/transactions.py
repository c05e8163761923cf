"""Units of work the services run their store calls in, and the store's errors under the names services catch.

A service never begins a transaction or names a driver error itself: it asks for `audited_transaction` (a change and
its audit event commit together or not at all), `write_transaction` (the write lock first, so what it reads stays
current until the commit) or `transaction`, passes the connection to store functions, and catches `StoreError`
(the database did not answer or refused) and `DuplicateRecord` (a unique key another writer took first).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from console.errors import UserError
from console.store.audit import AuditUnavailable, connection_lost
from console.store.db import Database

__all__ = ["Connection", "DuplicateRecord", "PrivilegeRefused", "StoreError", "answers", "audited_transaction",
           "transaction", "write_transaction"]

StoreError = SQLAlchemyError  # any error the database or its driver raised
DuplicateRecord = IntegrityError  # a unique key (or another constraint) refused the row


class PrivilegeRefused(UserError):
    """The database role this console connects as may not make this change (PostgreSQL: permission denied)."""


@contextmanager
def transaction(database: Database) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with database.engine.begin() as conn:
        yield conn


@contextmanager
def write_transaction(database: Database) -> Iterator[Connection]:
    """One transaction that holds the write lock from its first statement (SQLite: BEGIN IMMEDIATE; PostgreSQL's row
    locks are taken by the reads that ask for them), so nothing another writer commits slips in between."""
    with database.engine.begin() as conn:
        if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


@contextmanager
def audited_transaction(database: Database) -> Iterator[Connection]:
    """One transaction for a change and its audit event; a failed commit means neither happened, and says so."""
    try:
        with database.engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        lines = str(getattr(exc, "orig", None) or exc.__class__.__name__).strip().splitlines()
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == "42501":  # insufficient_privilege
            raise PrivilegeRefused(f"the database refused this change: {lines[0] if lines else 'permission denied'}"
                                   ) from None
        raise AuditUnavailable("this was not done because it could not be recorded in the audit log: "
                               f"{lines[0] if lines else exc.__class__.__name__}", connection_lost(exc)) from None


def answers(database: Database) -> None:
    """Return when the database answers a trivial query (SELECT 1); raise StoreError when it does not."""
    with database.engine.connect() as conn:
        conn.execute(text("SELECT 1"))

"""PostgreSQL table privileges: a console role that may read and append audit events, and nothing else."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from console.cli import main
from console.domain.audit import Action, AuditEntry
from console.errors import UserError
from console.store.audit import AuditLog, restrict_privileges
from console.store.db import Database, open_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def console_role(pg_url):
    """A login role that does not own the tables, as the consoles should use; dropped afterwards."""
    role = f"rtic_console_{uuid.uuid4().hex[:8]}"
    admin = open_database(pg_url, create=True)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    engine = create_engine(make_url(pg_url).set(username=role, password=None))
    try:
        yield admin, Database(engine=engine, url=pg_url), role
    finally:
        engine.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.close()


def _refused(database, statement, words):
    with pytest.raises(DBAPIError) as caught:
        with database.engine.begin() as conn:
            conn.execute(text(statement))
    assert words in str(caught.value.orig)


def test_restricted_role_appends_but_cannot_change_or_unguard(console_role, capsys):
    admin, console, role = console_role
    AuditLog(admin).append(AuditEntry(Action.LOGIN, "alice", "ws-1"))
    assert main(["audit", "restrict", "--db", admin.url, "--role", role]) == 0
    assert role in capsys.readouterr().out
    log = AuditLog(console)
    record = log.append(AuditEntry(Action.SEARCH_NEAR, "alice", "ws-1"))
    assert record.seq == 2 and log.verify().ok
    _refused(console, "UPDATE audit_events SET username = 'mallory'", "permission denied")
    _refused(console, "DELETE FROM audit_events", "permission denied")
    _refused(console, "TRUNCATE audit_events", "permission denied")
    _refused(console, "ALTER TABLE audit_events DISABLE TRIGGER USER", "must be owner")
    _refused(console, "DROP TRIGGER audit_events_no_update_delete ON audit_events", "must be owner")
    assert AuditLog(admin).verify().checked == 2


def test_restrict_refuses_bad_roles(console_role, sqlite_url):
    admin, _console, _role = console_role
    with pytest.raises(UserError, match="not a PostgreSQL role name"):
        restrict_privileges(admin, 'x"; DROP TABLE audit_events; --')
    with pytest.raises(UserError, match="there is no PostgreSQL role"):
        restrict_privileges(admin, "no_such_role_here")
    owner = admin.engine.url.username
    with pytest.raises(UserError, match="owns the audit table"):
        restrict_privileges(admin, owner)
    sqlite = open_database(sqlite_url, create=True)
    with pytest.raises(UserError, match="only on PostgreSQL"):
        restrict_privileges(sqlite, "anyone")
    sqlite.close()

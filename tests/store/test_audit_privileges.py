"""PostgreSQL table privileges: a console role that may read and append audit events, and nothing else."""

from __future__ import annotations

import json
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


def test_a_console_role_with_granted_privileges_does_its_work_and_nothing_more(console_role, capsys):
    from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
    from console.domain.changes import ChangeKind
    from console.domain.owners import OwnerContact, OwnerKind
    from console.store import changes as feed
    from console.store import registry as repo
    from console.store.secrets import ContactCipher, load_contact_key
    from console.store.spatial import nearby_cameras

    admin, console, role = console_role
    cipher = ContactCipher(load_contact_key())
    assert main(["db", "grant", "--db", admin.url, "--role", role]) == 0
    assert f'GRANT SELECT, INSERT ON "audit_events" TO "{role}"' in json.loads(capsys.readouterr().out)["statements"]

    # What a console does: open the registry (schema check), add and find a camera, announce it, audit it.
    with console.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact("Ana Rivera", phone="413-555-0101"))
        site = repo.add_site(conn, owner, "Residence", "5 Elm St", 42.15, -72.6)
        camera = repo.add_camera(conn, cipher, Camera(None, site, "porch", 42.15, -72.6, "5 Elm St", Capability.LIVE,
                                                      SharingMode.ALWAYS,
                                                      streams=(Stream(StreamProtocol.RTSP, "rtsp://10.0.0.2/a"),)),
                                 owner)
        feed.record_change(conn, ChangeKind.CAMERA, camera, "ws-1")
    with console.engine.connect() as conn:
        assert [c.id for c in nearby_cameras(conn, 42.15, -72.6, 50)] == [camera]
        assert feed.changes_since(conn, 0)[-1].record_id == camera
    AuditLog(console).append(AuditEntry(Action.REGISTRY_CHANGE, "alice", "ws-1", camera_id=camera))
    as_console = make_url(admin.url).set(username=role, password=None).render_as_string(hide_password=False)
    with open_database(as_console) as opened:  # the schema check a console makes at start reads alembic_version
        assert opened.dialect == "postgresql"

    # What it may not do: delete registry rows, rewrite the change feed or the trail, change the schema.
    _refused(console, f"DELETE FROM cameras WHERE id = {camera}", "permission denied")
    _refused(console, "UPDATE changes SET kind = 'x'", "permission denied")
    _refused(console, "UPDATE audit_events SET username = 'mallory'", "permission denied")
    _refused(console, "CREATE TABLE stash (x int)", "permission denied")
    _refused(console, "UPDATE alembic_version SET version_num = '9999'", "permission denied")


def test_verify_reports_privileges_that_let_the_consoles_role_change_the_trail(console_role, capsys):
    from console.store.audit_guards import guard_problems

    admin, _console, role = console_role
    with admin.engine.begin() as conn:
        conn.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON audit_events TO "{role}"'))
        conn.execute(text(f'GRANT DELETE ON audit_checkpoints TO "{role}"'))
    assert main(["audit", "verify", "--db", admin.url, "--role", role]) == 1
    out = capsys.readouterr().out
    assert (f"PRIVILEGE: the role '{role}' may UPDATE, DELETE, TRUNCATE audit_events: run `rtic-console db grant "
            f"--role {role}` as the tables' owner") in out
    assert f"PRIVILEGE: the role '{role}' may DELETE audit_checkpoints" in out
    assert any(role in p for p in guard_problems(admin))  # without --role every console-like login role is checked
    assert main(["db", "grant", "--db", admin.url, "--role", role]) == 0
    capsys.readouterr()
    assert guard_problems(admin, role) == []
    assert main(["audit", "verify", "--db", admin.url, "--role", role]) == 0
    owner = admin.engine.url.username
    assert "is a superuser" in guard_problems(admin, owner)[0]
    with pytest.raises(UserError, match="there is no PostgreSQL role"):
        guard_problems(admin, "no_such_role_here")


def test_the_restricted_role_appends_checkpoints_but_cannot_change_them(console_role, tmp_path):
    from console.services.audit_checkpoints import CheckpointService, keygen, load_signer

    admin, console, role = console_role
    assert main(["db", "grant", "--db", admin.url, "--role", role]) == 0
    keygen(tmp_path / "k")
    CheckpointService(AuditLog(console)).checkpoint(load_signer(tmp_path / "k"), "auditor", "ws-1")
    for statement in ("UPDATE audit_checkpoints SET seq = 0", "DELETE FROM audit_checkpoints",
                      "TRUNCATE audit_checkpoints"):
        _refused(console, statement, "permission denied")
    _refused(admin, "DELETE FROM audit_checkpoints", "append-only")  # even the owner meets the trigger

"""PostgreSQL: the consoles' least-privilege role signs people in but cannot change accounts (issue 14).

`db grant` leaves that role only SELECT on `users`; what signing in writes goes to `sign_ins`, which it may write.
Run against the real server as that role: `users role demo-dispatcher admin` and a raw UPDATE are refused; sign-in,
its failure count and its lockout still work; the same command run with the owner's URL works.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from console.cli import main, signin
from console.domain.users import Role
from console.services.accounts import ACCOUNTS_NEED_OWNER, AccountService
from console.services.auth import AuthService, LoginFailed
from console.store.audit import AuditLog
from console.store.db import Database, open_database
from console.errors import UserError
from console.services.field_copy import FieldCopy
from console.services.field_copy_file import KdfParams
from console.services.field_login import FieldAuthService
from console.services.resilience import ResilientAudit
from console.store.field_copy import FIELD_COPY_PASSWORD
from console.store.journal import AuditJournal
from console.store.users import get_user

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery staple"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def granted(pg_url, tmp_path, monkeypatch):
    """(owner's database, the consoles' database, the consoles' URL) after `db grant`, with two accounts."""
    role = f"rtic_console_{uuid.uuid4().hex[:8]}"
    admin = open_database(pg_url, create=True)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    accounts = AccountService(admin, AuditLog(admin), hasher=CHEAP)
    now = datetime.now(timezone.utc) - timedelta(days=1)
    accounts.create_first_admin("demo-admin", PASSWORD, now)
    accounts.add_user("os:test", "demo-dispatcher", Role.DISPATCHER, PASSWORD, now)
    assert main(["db", "grant", "--db", admin.url, "--role", role]) == 0
    url = make_url(pg_url).set(username=role, password=None).render_as_string(hide_password=False)
    engine = create_engine(url)
    monkeypatch.setattr(signin, "password_hasher", lambda: CHEAP)
    path = tmp_path / "admin.password"
    path.write_text(PASSWORD)
    path.chmod(0o600)
    monkeypatch.setenv("RTIC_PASSWORD_FILE", str(path))
    try:
        yield admin, Database(engine=engine, url=url), url
    finally:
        engine.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.close()


def _role(database, name):
    with database.engine.connect() as conn:
        return get_user(conn, name).role


def test_the_consoles_role_cannot_change_accounts(granted, capsys, monkeypatch):
    admin, console, url = granted
    status = main(["users", "role", "demo-dispatcher", "admin", "--user", "demo-admin", "--db", url])
    assert status == 2 and capsys.readouterr().err == f"rtic-console: {ACCOUNTS_NEED_OWNER}\n"
    assert _role(admin, "demo-dispatcher") is Role.DISPATCHER
    for statement in ("UPDATE users SET role = 'admin' WHERE username = 'demo-dispatcher'",
                      "UPDATE users SET locked_at = NULL", "DELETE FROM users",
                      "INSERT INTO users (username, display_name, role, password_hash, must_change_password, "
                      "created_at) VALUES ('mallory', 'm', 'admin', 'x', false, now())"):
        with pytest.raises(DBAPIError) as refused:
            with console.engine.begin() as conn:
                conn.execute(text(statement))
        assert "permission denied for table users" in str(refused.value.orig)
    # The same command with the owner's URL (RTIC_ADMIN_DATABASE_URL, no --db) is how accounts are changed.
    monkeypatch.setenv("RTIC_ADMIN_DATABASE_URL", admin.url)
    assert main(["users", "role", "demo-dispatcher", "detective", "--user", "demo-admin"]) == 0
    assert capsys.readouterr().out == "demo-dispatcher is now detective\n"
    assert _role(admin, "demo-dispatcher") is Role.DETECTIVE


def test_sign_in_still_works_as_the_consoles_role(granted):
    admin, console, _ = granted
    auth = AuthService(console, AuditLog(console), hasher=CHEAP, workstation="ws-1")
    now = datetime.now(timezone.utc)
    session = auth.login("demo-dispatcher", PASSWORD, now, notice_acknowledged=True)
    assert session.user.last_login_at == now
    auth.change_password(session, PASSWORD, "a new and longer passphrase", now)  # the user's own change
    assert auth.login("demo-dispatcher", "a new and longer passphrase", now, notice_acknowledged=True)
    for _ in range(5):
        with pytest.raises(LoginFailed):
            auth.login("demo-dispatcher", "wrong password here", now, notice_acknowledged=True)
    with admin.engine.connect() as conn:
        user = get_user(conn, "demo-dispatcher")
    assert user.state == "locked" and user.lock_reason.value == "failed_logins"
    AccountService(admin, AuditLog(admin), hasher=CHEAP).unlock("os:test", "demo-dispatcher", now)
    assert auth.login("demo-dispatcher", "a new and longer passphrase", now, notice_acknowledged=True)


# --- password hashes never reach the consoles' role (migration 0013) ------------------------------------------

def _hash_of(admin, name):
    with admin.engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(s.password_hash, u.password_hash) FROM users u "
                                 "LEFT JOIN sign_ins s ON s.user_id = u.id WHERE u.username = :u"),
                            {"u": name}).scalar_one()


def _failures(admin, name):
    with admin.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM login_failures WHERE username = :u"), {"u": name}).scalar_one()


@pytest.mark.parametrize("statement", [
    "SELECT password_hash FROM users", "SELECT * FROM users", "SELECT password_hash FROM sign_ins",
    "SELECT * FROM sign_ins", "UPDATE users SET password_hash = 'x'", "UPDATE sign_ins SET password_hash = 'x'",
    "UPDATE sign_ins SET password_hash = NULL",
    "INSERT INTO sign_ins (user_id, password_hash) VALUES (999999, 'x')",
])
def test_the_consoles_role_can_neither_read_nor_write_a_password_hash(granted, statement):
    _, console, _ = granted
    with pytest.raises(DBAPIError) as refused:
        with console.engine.begin() as conn:
            conn.execute(text(statement))
    assert "permission denied for table" in str(refused.value.orig)


def test_the_verifier_is_parameters_and_salt_never_the_digest(granted):
    admin, console, _ = granted
    stored = _hash_of(admin, "demo-dispatcher")
    with console.engine.connect() as conn:
        params, length = conn.execute(text("SELECT * FROM rtic_password_verifier('demo-dispatcher')")).one()
        assert conn.execute(text("SELECT * FROM rtic_password_verifier('nobody')")).first() is None
        user = get_user(conn, "demo-dispatcher")  # every other column is still readable
    digest = stored.rsplit("$", 1)[1]
    assert stored == f"{params}${digest}" and length == len(digest) and digest not in params
    assert user.role is Role.DISPATCHER


def test_guesses_through_the_functions_are_failed_logins(granted):
    """A hostile workstation calling the functions directly: every wrong digest is counted, and a password cannot
    be set without the digest of the one in force."""
    admin, console, _ = granted
    before = _hash_of(admin, "demo-dispatcher")
    now = datetime.now(timezone.utc)
    with console.engine.begin() as conn:
        for guess in ("AAAA", "", None):
            assert conn.execute(text("SELECT rtic_password_matches('demo-dispatcher', :d, :now, 'mallory-ws')"),
                                {"d": guess, "now": now}).scalar_one() is False
        assert conn.execute(text("SELECT rtic_set_own_password('demo-dispatcher', 'AAAA', :h, :now, 'mallory-ws')"),
                            {"h": CHEAP.hash("mallory's password"), "now": now}).scalar_one() is False
    assert _failures(admin, "demo-dispatcher") == 4 and _hash_of(admin, "demo-dispatcher") == before
    with pytest.raises(DBAPIError, match="not an argon2id password hash"):
        with console.engine.begin() as conn:
            conn.execute(text("SELECT rtic_set_own_password('demo-dispatcher', 'AAAA', 'plain', :now, 'ws')"),
                         {"now": now})


def test_reset_change_and_rehash_as_the_consoles_role(granted):
    admin, console, _ = granted
    now = datetime.now(timezone.utc)
    temporary = AccountService(admin, AuditLog(admin), hasher=CHEAP).reset_password("os:test", "demo-dispatcher",
                                                                                      now)  # the owner's path
    auth = AuthService(console, AuditLog(console), hasher=CHEAP, workstation="ws-1")
    session = auth.login("demo-dispatcher", temporary, now, notice_acknowledged=True)
    assert session.user.must_change_password
    with pytest.raises(UserError, match="the current password is wrong"):
        auth.change_password(session, "not the temporary one", "a new and longer passphrase", now)
    assert _failures(admin, "demo-dispatcher") == 1  # a wrong current password counts as a failed login
    auth.change_password(session, temporary, "a new and longer passphrase", now)
    session = auth.login("demo-dispatcher", "a new and longer passphrase", now, notice_acknowledged=True)
    assert not session.user.must_change_password
    # A console with stronger parameters rehashes the password in force, through the function.
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    AuthService(console, AuditLog(console), hasher=stronger, workstation="ws-1").login(
        "demo-dispatcher", "a new and longer passphrase", now, notice_acknowledged=True)
    assert "m=16,t=2" in _hash_of(admin, "demo-dispatcher")
    assert auth.login("demo-dispatcher", "a new and longer passphrase", now, notice_acknowledged=True)


def test_a_field_copy_made_as_the_consoles_role_signs_in_offline(granted, tmp_path):
    admin, console, _ = granted
    now = datetime.now(timezone.utc)
    with console.engine.connect() as conn:
        user = get_user(conn, "demo-dispatcher")
    copy = FieldCopy(tmp_path / "field.rtic", KdfParams(time_cost=1, memory_cost=8, parallelism=1))
    copy.refresh(console, user, now, "field-laptop-7", AuditLog(console), seal=copy.seal_for(PASSWORD))
    sink = ResilientAudit(AuditLog(console), AuditJournal(tmp_path / "journal.db"))
    laptop = FieldAuthService(copy, sink, hasher=CHEAP, workstation="field-laptop-7")
    try:
        for attempt in range(5):
            with pytest.raises(LoginFailed):
                laptop.login("demo-dispatcher", f"wrong password {attempt}", now, notice_acknowledged=True)
        with pytest.raises(LoginFailed, match="locked"):
            laptop.login("demo-dispatcher", PASSWORD, now, notice_acknowledged=True)
        fresh = FieldAuthService(copy, sink, hasher=CHEAP, workstation="field-laptop-7")
        session = fresh.login("demo-dispatcher", PASSWORD, now, notice_acknowledged=True)
        assert session.user.username == "demo-dispatcher"
        with fresh.field.database.engine.connect() as conn:
            assert conn.execute(text("SELECT password_hash FROM users")).scalars().all() == [FIELD_COPY_PASSWORD]
            assert conn.execute(text("SELECT password_hash FROM sign_ins")).scalars().all() == [None]
        with pytest.raises(LoginFailed):
            fresh.unlock_screen(session, "wrong password again", now)
        assert fresh.unlock_screen(session, PASSWORD, now)
    finally:
        for auth in (laptop, locals().get("fresh")):
            if auth is not None and auth.field is not None:
                auth.field.close()

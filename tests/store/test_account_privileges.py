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

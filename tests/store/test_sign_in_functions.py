"""A hostile workstation cannot erase its failed logins, lift a lockout or replay a TOTP step (migration 0015).

Run on the real PostgreSQL server as the consoles' role made by `db grant`: the raw writes are refused, the functions
refuse to act without a password matched in the same transaction, and signing in, the lockout, an administrator's
unlock and the replay guard still work through them. The last test runs the store's rules on both backends.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from console.domain.users import Role
from console.services.accounts import AccountService
from console.services.auth import AuthService, LoginFailed, _digest
from console.store import users as repo
from console.store.audit import AuditLog
from console.store.secrets import ContactCipher, load_contact_key
from tests.store import test_account_privileges as privileges

CHEAP, PASSWORD = privileges.CHEAP, privileges.PASSWORD
granted = privileges.granted  # the fixture: the owner's and the consoles' databases after `db grant`

WRONG = "wrong password here"


def _user_id(admin, name="demo-dispatcher"):
    with admin.engine.connect() as conn:
        return repo.get_user(conn, name).id


def _failures(admin, name="demo-dispatcher"):
    with admin.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM login_failures WHERE username = :u"), {"u": name}).scalar_one()


def _state(admin, name="demo-dispatcher"):
    with admin.engine.connect() as conn:
        return repo.get_user(conn, name).state


def _right_digest(conn, name="demo-dispatcher"):
    return _digest(repo.password_verifier(conn, name), PASSWORD)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "DELETE FROM login_failures", "DELETE FROM login_failures WHERE username = 'demo-dispatcher'",
    "UPDATE login_failures SET at = at - interval '1 day'", "UPDATE login_failures SET username = 'nobody'",
    "UPDATE sign_ins SET locked_at = NULL", "UPDATE sign_ins SET totp_last_step = 0",
    "UPDATE sign_ins SET totp_last_step = NULL", "UPDATE sign_ins SET last_login_at = now()",
    "INSERT INTO sign_ins (user_id, locked_at) VALUES (999999, NULL)",
    "SELECT * FROM password_matches", "INSERT INTO password_matches (username, txid) VALUES ('x', txid_current())",
    "DELETE FROM password_matches",
])
def test_the_consoles_role_cannot_erase_failures_unlock_or_rewind_a_step(granted, statement):
    _, console, _ = granted
    with pytest.raises(DBAPIError) as refused:
        with console.engine.begin() as conn:
            conn.execute(text(statement))
    assert "permission denied for table" in str(refused.value.orig)


@pytest.mark.postgres
def test_the_database_locks_after_five_wrong_digests_and_keeps_the_lock(granted):
    """Wrong digests sent straight to the function (no service, no lock call of the console's) lock the account; then
    even the right digest is refused and counted, rtic_record_login does nothing, and only an administrator unlocks."""
    admin, console, _ = granted
    user_id, now = _user_id(admin), datetime.now(timezone.utc)
    with console.engine.begin() as conn:
        for guess in range(5):
            assert conn.execute(text("SELECT rtic_password_matches('demo-dispatcher', :d, :now, 'mallory-ws')"),
                                {"d": f"AAAA{guess}", "now": now}).scalar_one() is False
    assert _state(admin) == "locked" and _failures(admin) == 5
    with console.engine.begin() as conn:
        right = _right_digest(conn)
        assert conn.execute(text("SELECT rtic_password_matches('demo-dispatcher', :d, :now, 'mallory-ws')"),
                            {"d": right, "now": now}).scalar_one() is False
        assert conn.execute(text("SELECT rtic_record_login(:i, :now)"), {"i": user_id, "now": now}).scalar_one() \
            is False
        assert conn.execute(text("SELECT rtic_lock_after_failures(:i, :now)"),
                            {"i": user_id, "now": now}).scalar_one() is True  # already enough: stays locked
    assert _state(admin) == "locked" and _failures(admin) == 6
    auth = AuthService(console, AuditLog(console), hasher=CHEAP, workstation="ws-1")
    with pytest.raises(LoginFailed, match="locked"):
        auth.login("demo-dispatcher", PASSWORD, now, notice_acknowledged=True)
    AccountService(admin, AuditLog(admin), hasher=CHEAP).unlock("os:test", "demo-dispatcher", now)
    assert _failures(admin) == 0
    assert auth.login("demo-dispatcher", PASSWORD, now, notice_acknowledged=True).user.is_active


@pytest.mark.postgres
def test_failures_are_cleared_only_after_a_match_in_the_same_transaction(granted):
    admin, console, _ = granted
    user_id, now = _user_id(admin), datetime.now(timezone.utc)
    auth = AuthService(console, AuditLog(console), hasher=CHEAP, workstation="ws-1")
    for _ in range(4):
        with pytest.raises(LoginFailed):
            auth.login("demo-dispatcher", WRONG, now, notice_acknowledged=True)
    with console.engine.begin() as conn:  # no match: nothing cleared, nothing noted
        assert conn.execute(text("SELECT rtic_record_login(:i, :now)"), {"i": user_id, "now": now}).scalar_one() \
            is False
    with console.engine.begin() as conn:  # a match in another transaction does not count for this one
        assert conn.execute(text("SELECT rtic_password_matches('demo-dispatcher', :d, :now, 'ws')"),
                            {"d": _right_digest(conn), "now": now}).scalar_one() is True
    with console.engine.begin() as conn:
        assert conn.execute(text("SELECT rtic_record_login(:i, :now)"), {"i": user_id, "now": now}).scalar_one() \
            is False
    assert _failures(admin) == 4
    with console.engine.begin() as conn:  # a lock call with too few failures does nothing
        assert conn.execute(text("SELECT rtic_lock_after_failures(:i, :now)"),
                            {"i": user_id, "now": now}).scalar_one() is False
    assert _state(admin) == "active"
    assert auth.login("demo-dispatcher", PASSWORD, now, notice_acknowledged=True).user.last_login_at == now
    assert _failures(admin) == 0  # the real sign-in, through the functions, cleared them


@pytest.mark.postgres
def test_five_wrong_passwords_lock_and_an_administrator_unlocks_as_the_consoles_role(granted):
    admin, console, _ = granted
    now = datetime.now(timezone.utc)
    auth = AuthService(console, AuditLog(console), hasher=CHEAP, workstation="ws-1")
    for attempt in range(5):
        with pytest.raises(LoginFailed) as failed:
            auth.login("demo-dispatcher", WRONG, now + timedelta(seconds=attempt), notice_acknowledged=True)
    assert "this account is locked" in str(failed.value) and _state(admin) == "locked"
    with pytest.raises(LoginFailed, match="locked after too many failed logins"):
        auth.login("demo-dispatcher", PASSWORD, now + timedelta(days=1), notice_acknowledged=True)
    AccountService(admin, AuditLog(admin), hasher=CHEAP).unlock("os:test", "demo-dispatcher", now + timedelta(days=1))
    assert auth.login("demo-dispatcher", PASSWORD, now + timedelta(days=1), notice_acknowledged=True).user.is_active


@pytest.mark.postgres
def test_a_totp_step_is_accepted_once_and_only_forward(granted):
    admin, console, _ = granted
    cipher = ContactCipher(load_contact_key())
    now = datetime.now(timezone.utc).replace(microsecond=0)
    uri = AccountService(admin, AuditLog(admin), cipher, CHEAP).enable_totp("os:test", "demo-dispatcher", now)
    totp, user_id = pyotp.parse_uri(uri), _user_id(admin)
    auth = AuthService(console, AuditLog(console), cipher, CHEAP, workstation="ws-1")
    code = totp.at(now)
    assert auth.login("demo-dispatcher", PASSWORD, now, totp_code=code, notice_acknowledged=True)
    with pytest.raises(LoginFailed, match="already used"):
        auth.login("demo-dispatcher", PASSWORD, now, totp_code=code, notice_acknowledged=True)
    with console.engine.connect() as conn:
        step = repo.totp_secret_ciphertext(conn, user_id)[1]
    assert step is not None
    with console.engine.begin() as conn:  # even with the password matched: never backwards, never the same step
        assert conn.execute(text("SELECT rtic_password_matches('demo-dispatcher', :d, :now, 'ws')"),
                            {"d": _right_digest(conn), "now": now}).scalar_one() is True
        for earlier in (step, step - 1, 0):
            assert conn.execute(text("SELECT rtic_use_totp_step(:i, :s)"),
                                {"i": user_id, "s": earlier}).scalar_one() is False
    with console.engine.begin() as conn:  # without a match, not even forward (no pushing the step past the codes)
        assert conn.execute(text("SELECT rtic_use_totp_step(:i, :s)"),
                            {"i": user_id, "s": step + 10_000}).scalar_one() is False
    with console.engine.connect() as conn:
        assert repo.totp_secret_ciphertext(conn, user_id)[1] == step
    later = now + timedelta(seconds=totp.interval)
    assert auth.login("demo-dispatcher", PASSWORD, later, totp_code=totp.at(later), notice_acknowledged=True)


def test_the_store_rules_on_both_backends(database):
    """SQLite keeps the same rules in Python behind the same functions: forward-only steps, a lock only with enough
    failures, a lock kept until an administrator's unlock."""
    now = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)
    with database.engine.begin() as conn:
        user_id = repo.add_user(conn, "erin", "Erin", Role.DISPATCHER, CHEAP.hash(PASSWORD), now)
    with database.engine.begin() as conn:
        digest = _digest(repo.password_verifier(conn, "erin"), PASSWORD)
        assert repo.password_matches(conn, "erin", digest, now, "ws")
        assert repo.set_totp_last_step(conn, user_id, 100) and not repo.set_totp_last_step(conn, user_id, 100)
        assert not repo.set_totp_last_step(conn, user_id, 99) and repo.set_totp_last_step(conn, user_id, 101)
        for _ in range(4):
            assert not repo.password_matches(conn, "erin", "AAAA", now, "ws")
        assert not repo.lock_after_failures(conn, user_id, now)
        assert repo.get_user(conn, "erin").state == "active"
        assert not repo.password_matches(conn, "erin", "AAAA", now, "ws")
        assert repo.lock_after_failures(conn, user_id, now)
        assert repo.get_user(conn, "erin").state == "locked"
        assert repo.totp_secret_ciphertext(conn, user_id)[1] == 101
    with database.engine.begin() as conn:
        repo.unlock(conn, user_id, now)
        assert repo.get_user(conn, "erin").state == "active" and repo.failures_since(conn, "erin", now - timedelta(1)) == []
        assert repo.password_matches(conn, "erin", digest, now, "ws") and repo.record_login(conn, user_id, now)


def test_migration_0015_down_to_0014_and_up_again(db_url):
    """Down: the table and functions are gone and 0013's rtic_password_matches is back (it still counts a failure);
    up again: the lock check is there."""
    from alembic import command

    from console.store import db as store_db
    from tests.store.test_migration_0008 import config

    database = store_db.open_database(db_url, create=True)
    try:
        command.downgrade(config(database), "0014")
        with database.engine.connect() as conn:
            assert not inspect(conn).has_table("password_matches")
            if conn.dialect.name == "postgresql":
                assert conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname IN ('rtic_record_login', "
                                         "'rtic_use_totp_step', 'rtic_lock_after_failures', 'rtic_matched')")
                                    ).scalar_one() == 0
                source = conn.execute(text("SELECT prosrc FROM pg_proc WHERE proname = 'rtic_password_matches'")
                                      ).scalar_one()
                assert "password_matches" not in source and "login_failures" in source
        command.upgrade(config(database), "head")
        with database.engine.connect() as conn:
            assert inspect(conn).has_table("password_matches")
        test_the_store_rules_on_both_backends(database)
    finally:
        database.close()

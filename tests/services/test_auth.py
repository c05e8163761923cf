"""Logging in: the use notice, passwords, lockout after 5 failures in 15 minutes, disuse, TOTP, idle lock."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from console.domain.audit import Action, Outcome
from console.domain.users import IdlePolicy, LockReason, Role
from console.services.auth import LoginFailed, NoticeNotAcknowledged, SecondFactorRequired
from console.store import users as user_store
from console.store.audit import AuditUnavailable
from tests.services.conftest import NOW, PASSWORD, audit_rows, refuse_audit_writes


@pytest.fixture
def dana(accounts):
    return accounts.add_user("os:test", "dana", Role.DISPATCHER, PASSWORD, NOW - timedelta(days=1))


def login(auth, password=PASSWORD, at=NOW, code=None, name="dana"):
    return auth.login(name, password, at, totp_code=code, notice_acknowledged=True)


def test_login_needs_the_notice_acknowledged(database, auth, dana):
    with pytest.raises(NoticeNotAcknowledged, match="use notice"):
        auth.login("dana", PASSWORD, NOW)
    assert audit_rows(database, Action.LOGIN) == []
    session = login(auth)
    assert (session.user.username, session.user.last_login_at, session.workstation) == ("dana", NOW, "rtic-ws-1")
    [event] = audit_rows(database, Action.LOGIN)
    assert event["details"] == {"role": "dispatcher", "second_factor": False, "notice": "acknowledged"}


def test_password_hash_is_argon2id_and_never_in_a_user(database, dana):
    with database.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users WHERE username = 'dana'").scalar_one()
        params, length = user_store.password_verifier(conn, "dana")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert "argon2" not in repr(dana)
    # The verifier is the hash without its digest: what a console needs to compute the digest, never the digest.
    assert stored == f"{params}${stored.rsplit('$', 1)[1]}" and length == len(stored.rsplit("$", 1)[1])
    assert stored.rsplit("$", 1)[1] not in params


def test_wrong_password_and_unknown_user_read_the_same(database, auth, dana):
    for name, password in (("dana", "wrong password here"), ("nobody", PASSWORD)):
        with pytest.raises(LoginFailed) as failed:
            login(auth, password, name=name)
        assert str(failed.value) == "wrong username or password"
    events = audit_rows(database, Action.LOGIN_FAILED)
    assert [(e["username"], e["outcome"], e["details"]["why"]) for e in events] == [
        ("dana", Outcome.DENIED, "wrong_password"), ("nobody", Outcome.DENIED, "unknown_user")]
    assert PASSWORD not in str(audit_rows(database))


def test_five_failures_in_fifteen_minutes_lock_until_an_admin_unlocks(database, auth, accounts, dana):
    for minute in range(4):
        with pytest.raises(LoginFailed):
            login(auth, "wrong password here", NOW + timedelta(minutes=minute * 3))
    with pytest.raises(LoginFailed, match="locked: ask an administrator"):
        login(auth, "wrong password here", NOW + timedelta(minutes=12))
    assert len(audit_rows(database, Action.LOCKOUT)) == 1
    with pytest.raises(LoginFailed, match="locked after too many failed logins"):
        login(auth, PASSWORD, NOW + timedelta(days=2))  # the right password does not help, nor does waiting
    assert accounts.user("dana").lock_reason is LockReason.FAILED_LOGINS
    accounts.unlock("os:admin", "dana", NOW + timedelta(days=2))
    assert login(auth, at=NOW + timedelta(days=2)).user.is_active


def test_failures_spread_beyond_fifteen_minutes_do_not_lock(auth, accounts, dana):
    for minute in (0, 4, 8, 12, 16, 20):
        with pytest.raises(LoginFailed):
            login(auth, "wrong password here", NOW + timedelta(minutes=minute))
    assert not accounts.user("dana").is_locked  # never 5 within any 15 minutes


def test_a_good_login_clears_the_failure_count(auth, accounts, dana):
    for minute in range(4):
        with pytest.raises(LoginFailed):
            login(auth, "wrong password here", NOW + timedelta(minutes=minute))
    login(auth, at=NOW + timedelta(minutes=5))
    with pytest.raises(LoginFailed):
        login(auth, "wrong password here", NOW + timedelta(minutes=6))
    assert not accounts.user("dana").is_locked


def test_ninety_days_unused_disables_the_account(database, auth, accounts, dana):
    login(auth)
    with pytest.raises(LoginFailed, match="not used for 90 days"):
        login(auth, at=NOW + timedelta(days=90))
    assert accounts.user("dana").is_disabled
    assert [e["details"]["change"] for e in audit_rows(database, Action.USER_CHANGE)][-1] == "disabled"
    accounts.unlock("os:admin", "dana", NOW + timedelta(days=91))
    assert login(auth, at=NOW + timedelta(days=91)).user.is_active


def test_disable_disused_sweep(accounts, dana):
    accounts.add_user("os:test", "fresh", Role.DETECTIVE, PASSWORD, NOW + timedelta(days=80))
    assert accounts.disable_disused(NOW + timedelta(days=89)) == ["dana"]
    assert accounts.disable_disused(NOW + timedelta(days=89)) == []
    assert accounts.user("fresh").is_active


def test_totp_second_factor_and_no_replay(database, auth, accounts, dana):
    uri = accounts.enable_totp("os:admin", "dana", NOW)
    totp = pyotp.parse_uri(uri)
    with pytest.raises(SecondFactorRequired):
        login(auth)
    with pytest.raises(LoginFailed, match="wrong or already used"):
        login(auth, code="000000" if totp.at(NOW) != "000000" else "111111")
    code = totp.at(NOW)
    assert login(auth, code=code).user.totp_enabled
    with pytest.raises(LoginFailed, match="already used"):
        login(auth, code=code, at=NOW + timedelta(seconds=5))
    assert login(auth, code=totp.at(NOW + timedelta(seconds=30)), at=NOW + timedelta(seconds=30))
    with database.engine.connect() as conn:
        blob, _ = user_store.totp_secret_ciphertext(conn, dana.id)
    assert totp.secret.encode() not in blob


def test_audit_refusing_writes_refuses_the_login(database, auth, dana):
    refuse_audit_writes(database)
    with pytest.raises(AuditUnavailable, match="audit"):
        login(auth)
    with database.engine.connect() as conn:
        assert user_store.get_user(conn, "dana").last_login_at is None


def test_idle_lock_logout_and_unlock_screen(database, auth, dana):
    session = login(auth)
    assert auth.idle_policy == IdlePolicy(30)
    auth.idle_lock(session, NOW + timedelta(minutes=1), NOW + timedelta(minutes=31))
    with pytest.raises(LoginFailed):
        auth.unlock_screen(session, "wrong password here", NOW + timedelta(minutes=32))
    resumed = auth.unlock_screen(session, PASSWORD, NOW + timedelta(minutes=33))
    assert resumed.started_at == NOW
    auth.logout(resumed, NOW + timedelta(minutes=40))
    actions = [e["action"] for e in audit_rows(database)]
    assert actions[-5:] == [Action.LOGIN, Action.IDLE_LOCK, Action.LOGIN_FAILED, Action.LOGIN, Action.LOGOUT]
    assert audit_rows(database, Action.IDLE_LOCK)[0]["details"] == {"idle_minutes": 30.0, "policy_minutes": 30}
    assert audit_rows(database, Action.LOGOUT)[0]["details"] == {"minutes": 40.0}


def test_change_password(auth, dana):
    session = login(auth)
    with pytest.raises(Exception, match="current password is wrong"):
        auth.change_password(session, "not my password", "a brand new passphrase", NOW)
    auth.change_password(session, PASSWORD, "a brand new passphrase", NOW)
    assert login(auth, "a brand new passphrase")


@pytest.mark.parametrize("params, length", [
    ("$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHRzYWx0", 43),  # memory beyond the bound: not computed
    ("$argon2id$v=19$m=8,t=100000,p=1$c2FsdHNhbHRzYWx0", 43),
    ("$argon2id$v=19$m=8,t=1,p=1$c2FsdA", 43),  # a salt too short
    ("$argon2id$v=19$m=8,t=1,p=1$not base64!", 43),
    ("$argon2id$v=19$m=8,t=1$c2FsdHNhbHRzYWx0", 43),
    ("$bcrypt$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0", 43),
    ("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0", 100000),
    ("", 0), ("$$$$", 1),
])
def test_a_hostile_or_damaged_verifier_is_a_wrong_password_not_a_crash(params, length):
    from console.services.auth import _digest

    assert _digest((params, length), PASSWORD) is None


def test_the_digest_is_the_one_argon2_cffi_stores():
    from argon2 import PasswordHasher

    from console.services.auth import _digest

    stored = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    params, _, digest = stored.rpartition("$")
    assert _digest((params, len(digest)), PASSWORD) == digest
    assert _digest((params, len(digest)), PASSWORD + "x") != digest

"""The user store on SQLite and PostgreSQL: round trips, the failure window, unlock clearing failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from console.domain.users import LockReason, Role
from console.store import users as store

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)


def test_round_trip_keeps_the_hash_out_of_the_user(database):
    with database.engine.begin() as conn:
        uid = store.add_user(conn, "dana", "Dana Cruz", Role.DETECTIVE, "$argon2id$fake", NOW)
        user = store.get_user(conn, "dana")
        assert (user.id, user.role, user.created_at, user.state) == (uid, Role.DETECTIVE, NOW, "active")
        assert "argon2" not in repr(user)
        assert store.password_verifier(conn, "dana") is None  # not a hash a console can compute with
        assert store.get_user(conn, "nobody") is None and store.count_users(conn) == 1
        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                store.add_user(conn, "dana", "Other", Role.ADMIN, "x", NOW)


def test_failures_window_lock_and_unlock(database):
    with database.engine.begin() as conn:
        uid = store.add_user(conn, "dana", "Dana", Role.DISPATCHER, "h", NOW)
        for minutes in (20, 10, 5, 1):
            store.record_failure(conn, "dana", NOW - timedelta(minutes=minutes), "ws")
        assert store.failures_since(conn, "dana", NOW - timedelta(minutes=15)) == [
            NOW - timedelta(minutes=m) for m in (10, 5, 1)]
        # A lock after failed sign-ins needs the policy's failures in the window (migration 0015): three are not enough.
        store.lock(conn, uid, LockReason.FAILED_LOGINS, NOW)
        assert store.get_user_by_id(conn, uid).state == "active"
        for minutes in (4, 2):
            store.record_failure(conn, "dana", NOW - timedelta(minutes=minutes), "ws")
        store.lock(conn, uid, LockReason.FAILED_LOGINS, NOW)
        locked = store.get_user_by_id(conn, uid)
        assert (locked.locked_at, locked.lock_reason, locked.state) == (NOW, LockReason.FAILED_LOGINS, "locked")
        store.unlock(conn, uid, NOW + timedelta(hours=1))
        again = store.get_user_by_id(conn, uid)
        assert (again.state, again.reenabled_at) == ("active", NOW + timedelta(hours=1))
        assert store.failures_since(conn, "dana", NOW - timedelta(days=1)) == []


def test_password_functions_behave_alike_on_both_backends(database):
    """The store's password interface (SQL functions of migration 0013 on PostgreSQL, Python on SQLite): the
    verifier is the hash without its digest, a wrong digest is a recorded failure, the own password needs the digest
    of the one in force and ends a required change, a directory account has no local password."""
    from argon2 import PasswordHasher

    from console.services.auth import _digest

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with database.engine.begin() as conn:
        uid = store.add_user(conn, "dana", "Dana", Role.DISPATCHER, cheap.hash("first password"), NOW,
                             must_change_password=True)
        verifier = store.password_verifier(conn, "dana")
        good, bad = _digest(verifier, "first password"), _digest(verifier, "wrong password")
        assert good != bad and store.password_matches(conn, "dana", good, NOW, "ws")
        assert not store.password_matches(conn, "dana", bad, NOW, "ws")
        assert not store.password_matches(conn, "dana", None, NOW, "ws")
        assert not store.password_matches(conn, "nobody", good, NOW, "ws")
        assert len(store.failures_since(conn, "dana", NOW - timedelta(minutes=1))) == 2
        assert store.failures_since(conn, "nobody", NOW - timedelta(minutes=1)) == [NOW]
        new_hash = cheap.hash("second password")
        assert not store.set_own_password(conn, "dana", bad, new_hash, NOW, "ws")
        assert store.get_user_by_id(conn, uid).must_change_password
        assert len(store.failures_since(conn, "dana", NOW - timedelta(minutes=1))) == 3
        with pytest.raises(Exception, match="argon2id"):
            with conn.begin_nested():
                store.set_own_password(conn, "dana", good, "plain text", NOW, "ws")
        assert store.set_own_password(conn, "dana", good, new_hash, NOW, "ws")
        assert not store.get_user_by_id(conn, uid).must_change_password
        assert store.password_verifier(conn, "dana")[0] == new_hash.rsplit("$", 1)[0]
        store.save_directory_user(conn, "dir-user", "Dir", Role.DETECTIVE, "uid=dir-user", NOW)
        assert store.password_verifier(conn, "dir-user") is None
        assert not store.set_own_password(conn, "dir-user", None, new_hash, NOW, "ws")

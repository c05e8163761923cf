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
        store.lock(conn, uid, LockReason.FAILED_LOGINS, NOW)
        locked = store.get_user_by_id(conn, uid)
        assert (locked.locked_at, locked.lock_reason, locked.state) == (NOW, LockReason.FAILED_LOGINS, "locked")
        store.unlock(conn, uid, NOW + timedelta(hours=1))
        again = store.get_user_by_id(conn, uid)
        assert (again.state, again.reenabled_at) == ("active", NOW + timedelta(hours=1))
        assert store.failures_since(conn, "dana", NOW - timedelta(days=1)) == []

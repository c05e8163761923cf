"""Migration 0013 (password functions) on both backends: down to 0012 and up again; an account whose user had
chosen their own password before 0013 no longer reads as needing a change (the console cannot see that hash any more),
one still on an administrator's temporary password does; the functions come and go on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from sqlalchemy import text

from console.domain.users import Role
from console.store import db as store_db
from console.store import users as store
from tests.store.test_migration_0008 import config

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)


def _functions(database) -> int:
    if database.dialect != "postgresql":
        return 0
    with database.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname IN ('rtic_password_verifier', "
                                 "'rtic_password_matches', 'rtic_set_own_password')")).scalar_one()


def test_down_to_0012_and_up_again(db_url):
    database = store_db.open_database(db_url, create=True)
    try:
        expected = 3 if database.dialect == "postgresql" else 0
        assert _functions(database) == expected
        command.downgrade(config(database), "0012")
        assert _functions(database) == 0
        with database.engine.begin() as conn:  # as 0012 stored them: the own hash in sign_ins, the flag left set
            chose = store.add_user(conn, "chose", "C", Role.DISPATCHER, "$argon2id$admin", NOW, True)
            waits = store.add_user(conn, "waits", "W", Role.DISPATCHER, "$argon2id$admin", NOW, True)
            conn.execute(text("UPDATE sign_ins SET password_hash = '$argon2id$own' WHERE user_id = :i"), {"i": chose})
        command.upgrade(config(database), "head")
        assert _functions(database) == expected
        with database.engine.connect() as conn:
            assert not store.get_user_by_id(conn, chose).must_change_password
            assert store.get_user_by_id(conn, waits).must_change_password
    finally:
        database.close()

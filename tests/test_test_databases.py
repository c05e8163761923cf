"""The suite's own databases (tests/conftest.py): the PostgreSQL template is named by the migrations it holds, a test
of migrations still starts from an empty database, and each test's database is its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

import console.store.db
from console.store.db import current_revision, head_revision, open_database
from tests.conftest import migrations_digest

MIGRATIONS = Path(console.store.db.__file__).resolve().parent / "migrations"


def test_a_new_or_changed_migration_gets_a_new_template(tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert migrations_digest(copy) == migrations_digest()
    head = sorted((copy / "versions").glob("0*.py"))[-1]
    head.write_text(head.read_text() + "\n# one more statement\n")
    changed = migrations_digest(copy)
    (copy / "versions" / "0099_more.py").write_text("revision = '0099'\n")
    added = migrations_digest(copy)
    assert len({migrations_digest(), changed, added}) == 3


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_template_is_at_the_head_and_named_by_the_migrations(pg_template, pg_migrated_url):
    assert pg_template == f"rtic_template_{migrations_digest()}"
    with open_database(pg_migrated_url) as database:  # no create=True: it must already be at the head
        assert current_revision(database) == head_revision()


@pytest.mark.postgres
def test_a_migration_test_starts_from_an_empty_database(pg_url):
    assert _tables(pg_url) == []
    with open_database(pg_url, create=True) as database:
        assert current_revision(database) == head_revision()


def test_db_url_is_empty_unless_the_test_uses_database(db_url):
    if db_url.startswith("sqlite"):
        assert not Path(db_url.removeprefix("sqlite:///")).exists()
    else:
        assert _tables(db_url) == []


def test_each_test_database_is_its_own(database, db_url):
    assert database.url == db_url
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE written_by_a_test (x integer)"))
    assert "written_by_a_test" in _tables(db_url)


def test_and_starts_without_what_the_test_before_wrote(database, db_url):
    assert "written_by_a_test" not in _tables(db_url) and "audit_events" in _tables(db_url)

"""Shared fixtures: fresh settings and data folders, and the store on BOTH backends (SQLite and PostgreSQL).

The PostgreSQL tests use the real server on 127.0.0.1:5432 (RTIC_TEST_PG_ADMIN_URL to change): each test
gets a database of its own, created and dropped here. A server that does not answer, or refuses the password, FAILS
those tests with the cause (tests/support/backends.py: skipped only on request, `RTIC_TEST_SKIP=postgresql`).
"""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from tests.support import backends
from tests.support.backends import PG_ADMIN_URL

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def pytest_configure(config):
    backends.check_settings()


def pytest_terminal_summary(terminalreporter):
    backends.report(terminalreporter)


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path_factory, monkeypatch):
    """No test touches the real user's data folder, database or contact key."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("RTIC_CONTACT_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.delenv("RTIC_DATABASE_URL", raising=False)
    monkeypatch.delenv("RTIC_CONTACT_KEY_FILE", raising=False)


def _pg_admin_engine():
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def _pg_database_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def migrations_digest(folder=None) -> str:
    """A digest of every file of the migrations folder (names and contents): a new or changed migration changes it."""
    import hashlib
    from pathlib import Path

    import console.store.db

    folder = Path(folder or Path(console.store.db.__file__).resolve().parent / "migrations")
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def pg_template():
    """The name of a PostgreSQL database migrated to the head of THIS tree's migrations, made once and kept on the
    server between runs: `rtic_template_<digest of the migrations folder>`, so a changed migration gets a new one.

    It is built under a temporary name and renamed when complete (a run stopped half-way leaves no half-migrated
    template), under an advisory lock (two test runs at once build it once)."""
    backends.require("postgresql")
    from sqlalchemy import text

    from console.store.db import open_database

    name = f"rtic_template_{migrations_digest()}"
    admin = _pg_admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(hashtext('rtic_test_template'))"))
            try:
                exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
                if not exists:
                    building = f"rtic_building_{uuid.uuid4().hex[:12]}"
                    conn.execute(text(f'CREATE DATABASE "{building}"'))
                    try:
                        open_database(_pg_database_url(building), create=True).close()
                        conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
                    except BaseException:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
                        raise
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext('rtic_test_template'))"))
    finally:
        admin.dispose()
    return name


@pytest.fixture(scope="session")
def _empty_databases():
    from tests.support.pg_databases import DatabaseMaker

    maker = DatabaseMaker(PG_ADMIN_URL)
    yield maker
    maker.close()


@pytest.fixture(scope="session")
def _migrated_databases(pg_template):
    from tests.support.pg_databases import DatabaseMaker

    maker = DatabaseMaker(PG_ADMIN_URL, template=pg_template)
    yield maker
    maker.close()


def _pg_database(request, maker: str):
    backends.require("postgresql")
    databases = request.getfixturevalue(maker)
    name = databases.take()
    try:
        yield _pg_database_url(name)
    finally:
        databases.drop(name)


@pytest.fixture
def pg_url(request):
    """The URL of a new, EMPTY PostgreSQL database (no schema: for tests of migrations and of first start), dropped
    after the test (made while the test before ran: tests/support/pg_databases.py)."""
    yield from _pg_database(request, "_empty_databases")


@pytest.fixture
def pg_migrated_url(request):
    """The URL of a new PostgreSQL database already at the head migration (a copy of the session's template: a
    fraction of the time migrating takes, made while the test before ran), dropped after the test."""
    yield from _pg_database(request, "_migrated_databases")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    """A SQLite registry file migrated to the head once per session (copied by `migrated_db_url`)."""
    from console.store.db import open_database

    path = tmp_path_factory.mktemp("sqlite-template") / "registry.db"
    open_database(f"sqlite:///{path}", create=True).close()  # the last connection closed: no -wal file is left
    return path


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'registry.db'}"


def _sqlite_copy(request, tmp_path) -> str:
    import shutil

    path = tmp_path / "registry.db"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A URL for a new database, once per backend: empty, or, when the test also uses `database`, that database
    (a copy of the session's migrated template instead of migrating it again)."""
    migrated = "database" in request.fixturenames
    if request.param == "sqlite":
        return _sqlite_copy(request, tmp_path) if migrated else request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_migrated_url" if migrated else "pg_url")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_db_url(request, tmp_path):
    """A URL for a new database already at the head migration, once per backend (a copy of a template)."""
    if request.param == "sqlite":
        return _sqlite_copy(request, tmp_path)
    return request.getfixturevalue("pg_migrated_url")


@pytest.fixture
def database(db_url):
    """An open, migrated, empty database on each backend (a copy of the session's migrated template)."""
    from console.store.db import open_database

    db = open_database(db_url, create=True)
    yield db
    db.close()

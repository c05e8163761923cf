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


@pytest.fixture
def pg_url():
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    backends.require("postgresql")
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"rtic_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request):
    """A URL for a new, empty database, once per backend."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def database(db_url):
    """An open, migrated, empty database on each backend."""
    from console.store.db import open_database

    db = open_database(db_url, create=True)
    yield db
    db.close()

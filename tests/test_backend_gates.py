"""A missing backend fails the run and says why; it is skipped only when asked for by name, and that is reported.

Each case runs pytest on two PostgreSQL store tests in a child process, pointed at a server that is not there or
that refuses the password (the shared server trusts loopback, so a wrong password cannot be shown on it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.pg_refusing_server import RefusingPostgres

ROOT = Path(__file__).resolve().parent.parent
PG_TESTS = ["tests/store/test_store.py::test_a_missing_postgresql_database_is_explained",
            "tests/store/test_store.py::test_an_empty_postgresql_database_must_be_upgraded_explicitly"]


def _pytest(admin_url: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RTIC_TEST_")}
    environment.update(env, RTIC_TEST_PG_ADMIN_URL=admin_url, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pytest", *PG_TESTS, "-q", "-p", "no:cacheprovider", "-rfEs"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def test_a_wrong_postgresql_password_fails_with_that_sentence():
    with RefusingPostgres() as server:
        run = _pytest(server.url(), RTIC_TEST_REQUIRE="postgresql")
    assert run.returncode == 1, run.stdout[-3000:]
    assert "2 errors" in run.stdout  # failed in set-up: the fixture that needs the server
    assert (f"required backend postgresql is missing: the PostgreSQL server at 127.0.0.1:{server.port} refused the "
            f"password of user 'postgres'") in run.stdout


def test_no_postgresql_server_fails_and_says_so():
    port = _closed_port()
    run = _pytest(f"postgresql+psycopg://postgres:postgres@127.0.0.1:{port}/postgres")  # unset: every one required
    assert run.returncode == 1, run.stdout[-3000:]
    assert "2 errors" in run.stdout  # failed in set-up: the fixture that needs the server
    assert f"required backend postgresql is missing: no PostgreSQL server answers at 127.0.0.1:{port}" in run.stdout
    assert "pg_ctlcluster --skip-systemctl-redirect 15 main start" in run.stdout


def test_skipping_is_possible_only_by_name_and_is_reported():
    port = _closed_port()
    run = _pytest(f"postgresql+psycopg://postgres:postgres@127.0.0.1:{port}/postgres", RTIC_TEST_SKIP="postgresql")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "2 skipped" in run.stdout
    assert "postgresql: 2 test(s) skipped on request; this run does not test postgresql" in run.stdout


def test_a_misspelt_backend_name_stops_the_run():
    run = _pytest("postgresql+psycopg://postgres:postgres@127.0.0.1:1/postgres", RTIC_TEST_SKIP="postgres")
    assert run.returncode != 0
    assert "RTIC_TEST_SKIP names unknown backends postgres" in run.stdout + run.stderr


def test_a_missing_slapd_fails_the_directory_tests_and_says_so(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RTIC_TEST_")}
    environment.update(RTIC_TEST_SLAPD_DIR=str(tmp_path), RTIC_TEST_REQUIRE="slapd", PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/directory/test_slapd_fixture.py", "-q", "-p",
                          "no:cacheprovider", "-rfEs"], cwd=ROOT, env=environment, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1, run.stdout[-3000:]
    assert "1 error" in run.stdout
    assert "required backend slapd is missing: the program slapd is not installed (Debian package slapd)" in run.stdout

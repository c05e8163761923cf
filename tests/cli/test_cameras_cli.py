"""`rtic-console demo` and `cameras near` as a user runs them: the command line (in this process, tests/support/cli.py),
real databases. The real process is tests/cli/test_entry_point.py."""

from __future__ import annotations

import base64
import json
import os
import shutil
import uuid

import pytest

from console.domain.geo import haversine_m
from console.domain.users import Role
from tests.support.cli import run_cli as run


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo_made_once(request, tmp_path_factory):
    """(backend, the demo registry made once for this module, its summary, its contact key): each test gets a copy."""
    from sqlalchemy import create_engine, text

    from console.cli import signin
    from tests.cli.conftest import CHEAP
    from tests.conftest import _pg_database_url
    from tests.support import backends
    from tests.support.backends import PG_ADMIN_URL

    folder = tmp_path_factory.mktemp("demo")
    key = base64.b64encode(os.urandom(32)).decode()
    env = {"XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config"),
           "XDG_CACHE_HOME": str(folder / "cache"), "RTIC_CONTACT_KEY": key, "RTIC_DATABASE_URL": None,
           "RTIC_CONTACT_KEY_FILE": None, "RTIC_PASSWORD_FILE": None}
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'demo.db'}"
    else:
        backends.require("postgresql")
        name = f"rtic_test_demo_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = _pg_database_url(name)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(signin, "password_hasher", lambda: CHEAP)
            done = run("demo", "--db", url, "--cameras", "800", "--seed", "3", env=env)
        assert done.returncode == 0, done.stderr
        yield request.param, url, json.loads(done.stdout), key
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture
def demo(demo_made_once, tmp_path, monkeypatch):
    """(URL, summary) of a copy of the demo registry (800 cameras, seed 3, an account per role) for this test alone,
    with the demo's contact key in RTIC_CONTACT_KEY."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.conftest import _pg_database_url
    from tests.support.backends import PG_ADMIN_URL

    backend, source, summary, key = demo_made_once
    monkeypatch.setenv("RTIC_CONTACT_KEY", key)
    if backend == "sqlite":
        shutil.copyfile(source.removeprefix("sqlite:///"), tmp_path / "registry.db")
        yield f"sqlite:///{tmp_path / 'registry.db'}", summary
        return
    name = f"rtic_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(source).database}"'))
        yield _pg_database_url(name), summary
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def demo_url(demo, tmp_path, monkeypatch):
    """The demo database, with demo-dispatcher's printed password in RTIC_PASSWORD_FILE (mode 0600)."""
    db_url, summary = demo
    password = tmp_path / "dispatcher.password"
    password.write_text(summary["accounts"]["demo-dispatcher"] + "\n")
    password.chmod(0o600)
    monkeypatch.setenv("RTIC_PASSWORD_FILE", str(password))
    assert summary["cameras"] == 800 and summary["live_capable"] + summary["registered_only"] == 800
    assert set(summary["accounts"]) == {f"demo-{role.value}" for role in Role}
    assert len(set(summary["accounts"].values())) == len(Role)  # a fresh password each
    return db_url


def test_demo_accounts_can_log_in_and_the_demo_is_audited(demo):
    from datetime import datetime, timezone

    from console.services.auth import AuthService
    from console.store.audit import AuditLog
    from console.store.db import open_database

    db_url, summary = demo
    done = run("audit", "verify", "--db", db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    database = open_database(db_url)
    try:
        audit = AuditLog(database)
        actions = [r.action for r in audit.query()]
        assert actions[0] == "demo_created" and actions.count("user_change") >= len(Role)
        session = AuthService(database, audit).login("demo-dispatcher", summary["accounts"]["demo-dispatcher"],
                                                     datetime.now(timezone.utc), notice_acknowledged=True)
        assert session.user.username == "demo-dispatcher"
    finally:
        database.close()


def test_cameras_near_as_json_nearest_first(demo_url):
    done = run("cameras", "near", "42.1487", "-72.6079", "--radius", "400", "--json", "--db", demo_url,
               "--user", "demo-dispatcher")
    assert done.returncode == 0, done.stderr
    cameras = json.loads(done.stdout)
    assert cameras, "the demo registry has cameras near the centre of Chicopee"
    for camera in cameras:
        assert {"id", "label", "lat", "lon", "distance_m", "capability", "sharing_mode"} <= camera.keys()
        assert camera["distance_m"] == pytest.approx(haversine_m(42.1487, -72.6079, camera["lat"], camera["lon"]), abs=0.01)
        assert camera["distance_m"] <= 400
    assert [c["distance_m"] for c in cameras] == sorted(c["distance_m"] for c in cameras)
    live = run("cameras", "near", "42.1487", "-72.6079", "--radius", "400", "--json", "--live-only", "--db", demo_url,
               "--user", "demo-dispatcher")
    live_ids = [c["id"] for c in json.loads(live.stdout)]
    assert live_ids == [c["id"] for c in cameras if c["capability"] == "live"]
    from console.store.audit import AuditLog
    from console.store.db import open_database

    with open_database(demo_url) as database:
        searches = AuditLog(database).query(actions=("search_near",))
    assert [(s.username, s.details["radius_m"], s.details["found"]) for s in searches] == [
        ("demo-dispatcher", 400.0, len(cameras)), ("demo-dispatcher", 400.0, len(live_ids))]
    assert all(s.details["os_user"] for s in searches)


def test_demo_on_a_database_in_use_needs_an_administrator(demo_url):
    done = run("demo", "--db", demo_url, "--cameras", "10")
    assert done.returncode == 2 and done.stderr == (
        "rtic-console: `rtic-console demo` needs a signed-in console account: give --user NAME (the password is "
        "asked on the terminal, or read from the file named by RTIC_PASSWORD_FILE)\n")
    done = run("demo", "--db", demo_url, "--cameras", "10", "--user", "demo-dispatcher")
    assert done.returncode == 2 and "the dispatcher role cannot run `rtic-console demo`" in done.stderr


def test_the_environment_variable_selects_the_database(demo_url):
    done = run("cameras", "near", "42.1487", "-72.6079", "--radius", "300", "--user", "demo-dispatcher",
               env={"RTIC_DATABASE_URL": demo_url})
    assert done.returncode == 0, done.stderr
    assert "nearest first" in done.stdout and "ADDRESS" in done.stdout


@pytest.mark.parametrize("args,message", [
    (["95", "-72.6", "--radius", "100"], "latitude 95 is out of range"),
    (["42.1", "-190", "--radius", "100"], "longitude -190 is out of range"),
    (["42.1", "-72.6", "--radius", "-5"], "radius -5 is out of range"),
    (["42.1", "-72.6", "--radius", "100", "--limit", "9" * 40], "--limit " + "9" * 40 + " is out of range"),
    (["42.1", "-72.6", "--radius", "lots"], "radius 'lots' is not a number"),
    (["42.1", "-72.6", "--radius", "100", "--db", "oracle://scott@db/x"], "unsupported database"),
    (["42.1", "-72.6", "--radius", "100", "--db", "sqlite:////nonexistent/folder/x.db"], "no database at"),
    (["42.1", "-72.6", "--radius", "100", "--db",
      "postgresql+psycopg://postgres@127.0.0.1:5432/rtic_no_such_db"], 'database "rtic_no_such_db" does not exist'),
])
def test_bad_input_is_one_clear_line_and_exit_status_2(args, message):
    done = run("cameras", "near", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


"""Opening, creating and migrating the store on both backends; what the registry keeps and how."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
from console.domain.owners import OwnerContact, OwnerKind
from console.errors import StoreUnavailable, UserError
from console.services.demo import generate_demo
from console.store import db as store_db
from console.store import registry as repo
from console.store.models import Base
from console.store.secrets import ContactCipher

CIPHER = ContactCipher(b"s" * 32)


def test_a_new_database_is_created_at_the_latest_schema(database):
    assert store_db.current_revision(database) == store_db.head_revision()


def test_models_and_migrations_agree(database):
    """The migrations create exactly what the models describe (no drift either way)."""
    def keep(obj, name, type_, reflected, compare_to):
        # The spatial index is dialect-specific DDL that the models cannot express (see store/spatial.py).
        spatial = (type_ == "table" and name.startswith("camera_rtree")) or (type_, name) == ("index", "ix_cameras_point")
        return not spatial

    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": keep, "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_opening_again_is_a_no_op_and_keeps_the_data(db_url):
    first = store_db.open_database(db_url, create=True)
    with first.engine.begin() as conn:
        owner = repo.add_owner(conn, CIPHER, OwnerKind.RESIDENT, OwnerContact("A B"))
    first.close()
    again = store_db.open_database(db_url)
    with again.engine.connect() as conn:
        assert repo.get_owner(conn, CIPHER, owner).contact.name == "A B"
    again.close()


def test_a_missing_sqlite_file_is_not_created_by_accident(tmp_path):
    path = tmp_path / "nothing.db"
    with pytest.raises(StoreUnavailable, match="no database at"):
        store_db.open_database(f"sqlite:///{path}")
    assert not path.exists()


@pytest.mark.parametrize("url,message", [
    ("foo://bar", "unsupported database"),
    ("not a url", "unknown database URL"),
    ("mysql://root@127.0.0.1/test", "unsupported database"),
])
def test_unusable_urls_are_explained(url, message):
    with pytest.raises(UserError, match=message):
        store_db.open_database(url)


def test_a_missing_postgresql_database_is_explained(pg_url):
    missing = pg_url.rsplit("/", 1)[0] + "/rtic_no_such_database"
    with pytest.raises(StoreUnavailable, match="does not exist"):
        store_db.open_database(missing)


def test_an_empty_postgresql_database_must_be_upgraded_explicitly(pg_url):
    with pytest.raises(StoreUnavailable, match="db upgrade"):
        store_db.open_database(pg_url)
    store_db.open_database(pg_url, create=True).close()
    store_db.open_database(pg_url).close()


def test_a_newer_schema_is_refused(database):
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(UserError, match="newer schema"):
        store_db.open_database(database.url)


def test_the_revisions_read_without_alembic_are_alembics():
    script = ScriptDirectory(str(store_db._MIGRATIONS))
    assert store_db.head_revision() == script.get_current_head()
    assert store_db._revisions() == {rev.revision: rev.down_revision for rev in script.walk_revisions()}


def test_opening_an_up_to_date_registry_does_not_import_alembic(db_url):
    store_db.open_database(db_url, create=True).close()
    check = ("import sys; from console.store.db import open_database, current_revision, head_revision; "
             f"db = open_database({db_url!r}); assert current_revision(db) == head_revision(); db.close(); "
             "assert 'alembic' not in sys.modules, 'alembic was imported'")
    root = Path(store_db.__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", check], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_sqlite_runs_in_wal_mode_with_durable_commits(sqlite_url):
    database = store_db.open_database(sqlite_url, create=True)
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.close()


def test_times_come_back_as_aware_utc(database):
    when = datetime(2026, 3, 8, 6, 59, 59, 123000, tzinfo=timezone(timedelta(hours=-5)))
    from console.domain.incidents import Incident

    with database.engine.begin() as conn:
        incident_id = repo.add_incident(conn, Incident(None, "CHI-1", "Test", 2, "1 Main St", 42.1, -72.6, when))
        back = repo.get_incident(conn, incident_id)
    assert back.opened_at == when and back.opened_at.tzinfo == timezone.utc


def test_stream_credentials_are_split_off_and_encrypted(database):
    url = "rtsp://viewer:s3cret-Pa55@gw-1.example.net:8554/cam1/main"
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, CIPHER, OwnerKind.BUSINESS, OwnerContact("Shop Owner", phone="413-555-0100"))
        site = repo.add_site(conn, owner, "Shop", "1 Main St", 42.1, -72.6)
        camera_id = repo.add_camera(conn, CIPHER, Camera(None, site, "Door", 42.1, -72.6, "", Capability.LIVE,
                                                         SharingMode.ALWAYS, streams=(Stream(StreamProtocol.RTSP, url),)),
                                    owner)
        camera = repo.get_camera(conn, camera_id)
        stored = conn.execute(text("SELECT url, credential_ciphertext FROM streams")).one()
        assert repo.stream_credentials(conn, CIPHER, camera.streams[0].id) == ("viewer", "s3cret-Pa55")
    assert camera.streams[0].url == "rtsp://gw-1.example.net:8554/cam1/main"
    assert camera.streams[0].has_credentials
    assert b"s3cret" not in bytes(stored.credential_ciphertext) and "s3cret" not in stored.url


def test_a_different_key_cannot_read_contacts(database):
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, CIPHER, OwnerKind.RESIDENT, OwnerContact("Maria Lopez", phone="413-555-0101"))
        blob = conn.execute(text("SELECT contact_ciphertext FROM owners")).scalar_one()
        with pytest.raises(UserError, match="encrypted under contact key"):
            ContactCipher(b"x" * 32).decrypt(bytes(blob))
        # A list or detail shows the record as unreadable instead of failing (tests/services/test_unreadable.py).
        shown = repo.get_owner(conn, ContactCipher(b"x" * 32), owner).contact
        assert shown.name == "(unreadable)" and not shown.readable and shown.phone == ""


def test_demo_is_deterministic_and_realistic(db_url, sqlite_url, tmp_path):
    now = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    first = store_db.open_database(db_url, create=True)
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    second = store_db.open_database(other_url, create=True)
    summary = generate_demo(first, CIPHER, cameras=600, seed=7, now=now)
    generate_demo(second, CIPHER, cameras=600, seed=7, now=now)
    query = "SELECT id, label, lat, lon, capability, sharing_mode, status FROM cameras ORDER BY id"
    with first.engine.connect() as a, second.engine.connect() as b:
        rows_a, rows_b = a.execute(text(query)).all(), b.execute(text(query)).all()
        incidents = repo.open_incidents(a)
        owner = repo.get_owner(a, CIPHER, 1)
    assert [tuple(r) for r in rows_a] == [tuple(r) for r in rows_b]
    assert summary["cameras"] == len(rows_a) == 600
    live = sum(r.capability == "live" for r in rows_a) / len(rows_a)
    assert 0.2 < live < 0.4
    assert {r.sharing_mode for r in rows_a if r.capability == "live"} == {"never", "on_alert", "always"}
    assert {r.sharing_mode for r in rows_a if r.capability == "registered"} == {"never"}
    assert all(abs(r.lat - 42.1487) < 0.05 and abs(r.lon + 72.6079) < 0.05 for r in rows_a)
    assert len(incidents) == summary["open_incidents"] >= 3
    assert owner.is_demo and owner.contact.phone.startswith("413-555-01")
    first.close()
    second.close()


def test_demo_refuses_a_registry_that_has_cameras(database):
    generate_demo(database, CIPHER, cameras=50, seed=1)
    with pytest.raises(UserError, match="already holds a registry"):
        generate_demo(database, CIPHER, cameras=50, seed=1)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cameras")).scalar_one() == 50


def test_demo_ids_continue_after_the_bulk_load(database):
    """Sequences move past the bulk-loaded ids, so the next registration gets a fresh id."""
    generate_demo(database, CIPHER, cameras=30, seed=1)
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, CIPHER, OwnerKind.RESIDENT, OwnerContact("New Owner"))
        largest = conn.execute(select(repo.owners.c.id).order_by(repo.owners.c.id.desc()).limit(1)).scalar_one()
    assert owner == largest > 1


def test_bulk_loading_restores_the_spatial_trigger_exactly(sqlite_url):
    """The demo's bulk load re-creates the R*Tree trigger as migration 0001 made it, and indexes every camera."""
    from console.store.spatial import nearby_cameras

    database = store_db.open_database(sqlite_url, create=True)
    query = text("SELECT sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    with database.engine.connect() as conn:
        before = conn.execute(query).scalars().all()
    generate_demo(database, CIPHER, cameras=300, seed=2)
    with database.engine.begin() as conn:
        assert conn.execute(query).scalars().all() == before
        indexed = conn.execute(text("SELECT count(*) FROM camera_rtree")).scalar_one()
        owner = repo.add_owner(conn, CIPHER, OwnerKind.RESIDENT, OwnerContact("After Demo"))
        site = repo.add_site(conn, owner, "s", "a", 10.0, 10.0)
        new = repo.add_camera(conn, CIPHER, Camera(None, site, "new", 10.0, 10.0, "", Capability.REGISTERED,
                                                   SharingMode.NEVER), owner)
        assert [c.id for c in nearby_cameras(conn, 10.0, 10.0, 5)] == [new]
    assert indexed == 300
    database.close()

"""Migration 0014 (the units CAD names on an incident) on both backends: down to 0013 and up again; an incident
written before 0014 reads with no units."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from sqlalchemy import inspect, text

from console.store import cad as cad_store
from console.store import db as store_db
from tests.store.test_migration_0008 import config


def columns(database) -> set[str]:
    with database.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("incidents")}


def test_down_to_0013_and_up_again(db_url):
    database = store_db.open_database(db_url, create=True)
    try:
        assert "cad_units" in columns(database)
        command.downgrade(config(database), "0013")
        assert "cad_units" not in columns(database)
        now = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)
        with database.engine.begin() as conn:  # an incident as 0013 stores it
            conn.execute(text("INSERT INTO incidents (cad_number, type, priority, address, lat, lon, opened_at, "
                              "source, version) VALUES ('CAD-1', 'robbery', 1, '1 Main St', 42.1, -72.6, :t, 'eido', 1)"),
                         {"t": now})
        command.upgrade(config(database), "head")
        assert "cad_units" in columns(database)
        with database.engine.connect() as conn:
            incident_id = conn.execute(text("SELECT id FROM incidents WHERE cad_number = 'CAD-1'")).scalar_one()
            assert cad_store.incident_units(conn, incident_id) == []
        for stored, read in (("{not json", []), ('[1, "Unit 2A21", {"a": 1}]', ["Unit 2A21"]), ('"Unit"', [])):
            with database.engine.begin() as conn:
                conn.execute(text("UPDATE incidents SET cad_units = :u WHERE id = :i"), {"u": stored, "i": incident_id})
                assert cad_store.incident_units(conn, incident_id) == read
    finally:
        database.close()

"""Migration 0008 (owner alert incidents) on both backends: down to 0006 and up again keeps the grants and their
incidents' link columns as the models have them; a grant written before 0008 reads with no incident."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from console.store import db as store_db


def config(database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store_db.__file__).resolve().parent / "migrations"))
    cfg.attributes["engine"] = database.engine
    return cfg


def columns(database) -> set[str]:
    with database.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("share_grants")}


def test_down_to_0006_and_up_again(db_url):
    database = store_db.open_database(db_url, create=True)
    try:
        assert {"incident_id", "acknowledged_at", "acknowledged_by"} <= columns(database)
        command.downgrade(config(database), "0006")
        assert not {"incident_id", "acknowledged_at", "acknowledged_by"} & columns(database)
        now = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)
        with database.engine.begin() as conn:  # a grant as 0006 stores it
            conn.execute(text("INSERT INTO share_grants (camera_id, site_id, starts_at, expires_at, source, created_at)"
                              " VALUES (NULL, NULL, :s, :e, 'staff', :s)"), {"s": now, "e": now + timedelta(hours=1)})
        command.upgrade(config(database), "head")
        assert {"incident_id", "acknowledged_at", "acknowledged_by"} <= columns(database)
        with database.engine.connect() as conn:
            row = conn.execute(text("SELECT incident_id, acknowledged_at FROM share_grants")).one()
        assert tuple(row) == (None, None)
    finally:
        database.close()

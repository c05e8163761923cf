"""The registry opened, its contact key proven, and the main window built on it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import platformdirs

from console.app.qt import drain, store_loaded
from console.paths import APP_AUTHOR, APP_NAME, resources_dir, ui_dir
from console.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass
class Console:
    """Everything one window needs, built here and handed down."""

    database: object
    window: object
    settings: Settings

    def close(self, app) -> None:
        self.window.shutdown()
        self.window.deleteLater()
        drain(app)
        if self.window.parts.mbtiles is not None:
            self.window.parts.mbtiles.close()
        self.database.close()


def open_registry(db_url: str | None, keep: dict | None = None):
    """Open the database and prove this workstation's contact key is the agency's (refused with one sentence
    otherwise: console/store/key_check.py); an empty one (first start) gets the demo registry and its accounts
    (returned, or None). The proven cipher is put in `keep["cipher"]`."""
    store_loaded()
    from console.store.db import open_database
    from console.store.key_check import agency_cipher
    from console.store.registry import count_cameras

    database = open_database(db_url, create=True)
    try:
        cipher = agency_cipher(database)
        if keep is not None:
            keep["cipher"] = cipher
        with database.engine.connect() as conn:
            empty = count_cameras(conn) == 0
        if not empty:
            return database, None
        from console.services.demo import create_demo

        log.info("empty registry at %s: creating the demo registry", database.display_url)
        return database, create_demo(database, cipher)["accounts"]
    except BaseException:
        database.close()
        raise


def build_console(db_url: str | None, settings: Settings | None = None, *, remember_layout: bool = True,
                  user_name: str = "not signed in", database=None, database_label: str | None = None,
                  sync_label: str | None = None) -> Console:
    """Open the registry and build the window (not shown). The QApplication must exist."""
    from PySide6.QtCore import QSettings

    from console.geo.mbtiles import MBTiles
    from console.gui.map.view import DEFAULT_CENTER, MapView

    settings = settings or load_settings()
    cache_dir = Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR))
    mbtiles = MBTiles(settings.mbtiles_path) if settings.mbtiles_path else None
    # The page starts loading now (QtWebEngine works in its own processes) while Python imports the store
    # and opens the database: the two overlap instead of adding up at start-up.
    map_view = MapView(resources_dir(), center=DEFAULT_CENTER, theme=settings.theme, tile_url=settings.tile_url,
                       tile_attribution=settings.tile_attribution, mbtiles=mbtiles, user_agent=settings.user_agent,
                       cache_dir=cache_dir)
    try:
        store_loaded()
        from console.gui.main_window import MainWindow, WindowParts
        from console.services.incident_view import IncidentView
        from console.services.registry import RegistryService
        from console.store.secrets import ContactCipher, load_contact_key

        if database is None:
            keep: dict = {}
            database, _ = open_registry(db_url, keep)
            cipher = keep["cipher"]
        else:  # opened, and its key proven, by the caller
            cipher = ContactCipher(load_contact_key())
    except BaseException:
        map_view.close_page()
        raise
    try:
        geocoder = None
        if settings.geocoder_url or settings.geocoder_kind in ("arcgis", "census"):
            from console.geo.geocoder import (
                Geocoder,  # geopy and requests: loaded only when used
            )

            cache = cache_dir / "geocoder.sqlite"
            from console.geo.service_area import load_service_area

            geocoder = Geocoder(settings.geocoder_kind, settings.geocoder_url, settings.user_agent,
                                api_key=settings.geocoder_api_key, timeout_s=settings.geocoder_timeout_s,
                                min_interval_s=settings.geocoder_min_interval_s, cache_path=cache,
                                service_area=load_service_area(settings.service_area))
        window_state = None
        if remember_layout:
            path = Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / "window.ini"
            window_state = QSettings(str(path), QSettings.Format.IniFormat)
        incident_view = IncidentView(RegistryService(database), cipher)
        incident_view.field_copy_max_age = timedelta(days=settings.field_copy_max_age_days)
        parts = WindowParts(
            incident_view=incident_view, settings=settings,
            resources=resources_dir(), ui_dir=ui_dir(), database_label=database_label or database.display_url,
            sync_label=sync_label or ("shared (PostgreSQL)" if database.dialect == "postgresql"
                                      else "this computer only"),
            user_name=user_name, geocoder=geocoder, mbtiles=mbtiles, window_state=window_state,
            cache_dir=cache_dir, map_view=map_view)
        window = MainWindow(parts)
    except BaseException:
        map_view.close_page()
        database.close()
        raise
    return Console(database, window, settings)


def open_registry_or_field(db_url: str | None, keep: dict | None = None):
    """As open_registry; but when the database server does not answer and this computer has a field copy,
    (None, why) so the console starts in field mode on the copy."""
    from console.errors import DatabaseUnreachable

    try:
        return open_registry(db_url, keep)
    except DatabaseUnreachable as exc:
        from console.services.field_copy import default_field_copy_path

        if not default_field_copy_path().exists():
            raise
        log.warning("%s: starting in field mode on the field copy", exc)
        return None, str(exc)

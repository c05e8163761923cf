"""GUI fixtures: the map's URL schemes registered before any QApplication, a small known registry, the real window.

The window is the one `console.app.build_console` builds (real QtWebEngine page, real SQLite file); only the
geocoder is replaced, by a local server speaking the Nominatim protocol (tests/geo/nominatim_server.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

# Before pytest-qt makes the QApplication: QtWebEngine refuses schemes registered later.
from PySide6 import QtWebEngineWidgets  # noqa: F401  (sets the shared-GL attribute before the app exists)

from console.gui.map.schemes import register_schemes
from tests.support.backends import require
from tests.support.rtsp_stream import RtspServer

register_schemes()

CENTRE = (42.1487, -72.6079)


@dataclass
class KnownRegistry:
    url: str
    ids: dict[str, int]
    incident_id: int


@pytest.fixture
def console_settings(tmp_path, monkeypatch):
    """Fresh settings: no machine or user file is read from the real system."""
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(tmp_path / "machine.toml"))
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(tmp_path / "user.toml"))
    from console.settings import load_settings

    return load_settings()


@pytest.fixture
def known_registry(sqlite_url) -> KnownRegistry:
    """Seven cameras at known distances from CENTRE, one of each sharing situation, and one open incident."""
    from console.domain.cameras import (
        Camera,
        CameraStatus,
        Capability,
        FieldOfView,
        SharingMode,
        Stream,
        StreamProtocol,
    )
    from console.domain.grants import GrantSource, ShareGrant
    from console.domain.incidents import Incident
    from console.domain.owners import OwnerContact, OwnerKind
    from console.store import registry as repo
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key
    from tests.support.geometry import destination

    cipher = ContactCipher(load_contact_key())
    database = open_database(sqlite_url, create=True)
    now = datetime.now(timezone.utc)
    plan = {  # name: (bearing, distance m, capability, mode, field of view)
        "always_50m": (0, 50, Capability.LIVE, SharingMode.ALWAYS, FieldOfView(180, 90, 40)),
        "never_80m": (270, 80, Capability.LIVE, SharingMode.NEVER, None),
        "alert_100m": (90, 100, Capability.LIVE, SharingMode.ON_ALERT, FieldOfView(270, 60, 30)),
        "registered_120m": (45, 120, Capability.REGISTERED, SharingMode.NEVER, FieldOfView(0, 70, 25)),
        "no_alert_150m": (180, 150, Capability.LIVE, SharingMode.ON_ALERT, None),
        "always_450m": (0, 450, Capability.LIVE, SharingMode.ALWAYS, None),
        "registered_900m": (200, 900, Capability.REGISTERED, SharingMode.NEVER, None),
    }
    ids = {}
    with database.engine.begin() as conn:
        for name, (bearing, distance, capability, mode, fov) in plan.items():
            lat, lon = destination(*CENTRE, bearing, distance)
            owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT,
                                   OwnerContact(name="Maria Lopez", phone="413-555-0142", email="maria@example.org"))
            site = repo.add_site(conn, owner, f"Home {name}", f"{distance} Test St, Chicopee, MA", lat, lon)
            streams = (Stream(StreamProtocol.RTSP, "rtsp://viewer:s3cret@10.0.0.5/main"),) if capability is Capability.LIVE else ()
            ids[name] = repo.add_camera(conn, cipher, Camera(
                id=None, site_id=site, label=name, lat=lat, lon=lon, address=f"{distance} Test St",
                capability=capability, sharing_mode=mode, status=CameraStatus.ACTIVE, field_of_view=fov,
                streams=streams), owner)
        repo.add_grant(conn, ShareGrant(None, ids["alert_100m"], None, now - timedelta(minutes=5),
                                        now + timedelta(minutes=30), GrantSource.APP))
        incident_id = repo.add_incident(conn, Incident(None, "CAD-1", "Burglary in progress", 1,
                                                       "1 Test St, Chicopee, MA", *CENTRE, now))
    database.close()
    return KnownRegistry(sqlite_url, ids, incident_id)


def close_console(console, qtbot) -> None:
    from PySide6.QtWidgets import QApplication

    console.close(QApplication.instance())


@pytest.fixture
def make_console(qtbot, console_settings):
    """Build real console windows (shown, map loaded); all are closed and their pages deleted afterwards."""
    from console.app import build_console

    made = []

    def make(url: str, settings=None, *, remember_layout: bool = False, wait_ready: bool = True,
             size: tuple[int, int] | None = (1400, 900)):
        console = build_console(url, settings or console_settings, remember_layout=remember_layout)
        made.append(console)
        window = console.window
        if size:
            window.resize(*size)
        window.show()
        if wait_ready and not window.map.ready:
            with qtbot.waitSignal(window.map.sig_ready, timeout=30_000):
                pass
        return console

    yield make
    for console in made:
        close_console(console, qtbot)


# -- live video: a real RTSP server (GStreamer) and the player factory, for the wall and the signed-in console --


@pytest.fixture(scope="module")
def rtsp_server():
    require("gstreamer")
    server = RtspServer().start()
    yield server
    server.stop()


@pytest.fixture
def factory():
    from console.video.factory import PlayerFactory

    f = PlayerFactory()
    yield f
    f.close()


@pytest.fixture
def players(factory):
    """The player factory a signed-in console plays its feeds with (`signed_in(..., players)`)."""
    return factory


def signed_in(console, username: str, role, folder, players, journal=None, idle=None):
    """Sign a new account of `role` in on a built console window: the whole signed-in console, its services built by
    the composition root's `session_services` as run_console does (the CAD intake is started by the test that needs
    it: console.app.start_cad_intake).

    With `journal` (a file path), audit events go through the local journal when the database is away, as in
    run_console; the caller stops `services.sink`. `idle` is the idle-lock policy (default: off).
    """
    from argon2 import PasswordHasher
    from PySide6.QtWidgets import QApplication

    from console.app import session_services
    from console.domain.users import IdlePolicy
    from console.gui.session import SignedInConsole
    from console.services.accounts import AccountService
    from console.services.auth import AuthService
    from console.services.changes import ChangeFollower
    from console.services.contacts import ContactService
    from console.services.registry import RegistryService
    from console.services.viewing import ViewingService
    from console.store.audit import AuditLog
    from console.store.secrets import ContactCipher, load_contact_key

    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # cheap: tests only
    database, cipher = console.database, ContactCipher(load_contact_key())
    audit = AuditLog(database)
    now = datetime.now(timezone.utc)
    AccountService(database, audit, cipher, hasher).add_user("os:test", username, role, "a long enough password", now)
    idle = idle or IdlePolicy(0)
    auth = AuthService(database, audit, cipher, hasher, idle_policy=idle)  # as run_console builds it
    session = auth.login(username, "a long enough password", now, notice_acknowledged=True)
    sink, viewing = None, ViewingService(database, audit, cipher)
    if journal is not None:
        from console.services.offline import ResilientViewingService
        from console.services.resilience import ResilientAudit
        from console.store.journal import AuditJournal

        sink = ResilientAudit(audit, AuditJournal(journal), ping_interval_s=0.5, max_backoff_s=2.0)
        sink.start()
        viewing = ResilientViewingService(database, audit, sink, cipher)
    services = session_services(console.settings, session, auth=auth, viewing=viewing,
                                contacts=ContactService(database, audit, cipher), registry=RegistryService(database),
                                audit=audit, cipher=cipher, sink=sink, changes=ChangeFollower(database))
    return SignedInConsole(QApplication.instance(), console.window, session, services, players, idle,
                           folder, folder / f"{username}-layouts.json")


@pytest.fixture
def shared_registry(pg_url):
    """One alert-only camera 60 m from an open incident, on the real PostgreSQL server (for two consoles)."""
    from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
    from console.domain.incidents import Incident
    from console.domain.owners import OwnerContact, OwnerKind
    from console.store import registry as repo
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key
    from tests.support.geometry import destination

    cipher = ContactCipher(load_contact_key())
    with open_database(pg_url, create=True) as database, database.engine.begin() as conn:
        lat, lon = destination(*CENTRE, 45, 60)
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Corner Deli", phone="413-555-0100"))
        site = repo.add_site(conn, owner, "Corner Deli", "60 Test St", lat, lon)
        camera = repo.add_camera(conn, cipher, Camera(None, site, "deli door", lat, lon, "60 Test St", Capability.LIVE,
                                                      SharingMode.ON_ALERT,
                                                      streams=(Stream(StreamProtocol.RTSP, "rtsp://10.0.0.9/main"),)),
                                 owner)
        incident_id = repo.add_incident(conn, Incident(None, "CAD-100", "Robbery", 1, "1 Test St", *CENTRE,
                                                       datetime.now(timezone.utc)))
        incident = repo.get_incident(conn, incident_id)
    return pg_url, camera, incident


# -- a live registry and a signed-in window on it (the session and shift tests) --


@pytest.fixture
def registry(sqlite_url, rtsp_server):
    """Two live-now cameras near an open incident (their gateway is the local RTSP server), one registered only."""
    from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
    from console.domain.incidents import Incident
    from console.domain.owners import OwnerContact, OwnerKind
    from console.store import registry as repo
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key
    from tests.support.geometry import destination

    cipher = ContactCipher(load_contact_key())
    database = open_database(sqlite_url, create=True)
    ids = {}
    with database.engine.begin() as conn:
        for name, bearing, distance, capability in (("door", 0, 40, Capability.LIVE), ("yard", 90, 90, Capability.LIVE),
                                                    ("porch", 180, 60, Capability.REGISTERED)):
            lat, lon = destination(*CENTRE, bearing, distance)
            owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact("Ana Rivera", phone="413-555-0177"))
            site = repo.add_site(conn, owner, "Residence", f"{distance} Test St", lat, lon)
            live = capability is Capability.LIVE
            streams = (Stream(StreamProtocol.RTSP, rtsp_server.url("cam")),) if live else ()
            ids[name] = repo.add_camera(conn, cipher, Camera(None, site, name, lat, lon, "", capability,
                                                             SharingMode.ALWAYS if live else SharingMode.NEVER,
                                                             streams=streams), owner)
        incident_id = repo.add_incident(conn, Incident(None, "CHI-2026-555001", "Shots fired", 1, "1 Test St",
                                                       *CENTRE, datetime.now(timezone.utc) - timedelta(minutes=4)))
        incident = repo.get_incident(conn, incident_id)
    database.close()
    return sqlite_url, ids, incident


@pytest.fixture
def sign_in(make_console, registry, tmp_path):
    """A console window on the registry, signed in as a new account of the given role."""
    from PySide6.QtWidgets import QApplication

    from console.gui.theme import apply_theme
    from console.paths import resources_dir
    from console.video.factory import PlayerFactory

    made = []
    apply_theme(QApplication.instance(), resources_dir(), "dark")  # before the window, as run_console does

    def sign_in_as(username: str, role):
        players = PlayerFactory()
        made.append(players)
        return signed_in(make_console(registry[0]), username, role, tmp_path, players)

    yield sign_in_as
    for players in made:
        players.close()
    QApplication.instance().setStyleSheet("")

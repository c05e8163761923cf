"""Fixtures for the service tests: real stores on both backends, cheap argon2, a small registry, a refusing audit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from console.domain.cameras import Camera, CameraStatus, Capability, SharingMode, Stream, StreamProtocol, StreamRole
from console.domain.grants import GrantSource, ShareGrant
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.services.accounts import AccountService
from console.services.auth import AuthService
from console.services.contacts import ContactService
from console.services.owner_alerts import OwnerAlertService
from console.services.viewing import ViewingService
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.secrets import ContactCipher, load_contact_key

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery staple"
CONTACT = OwnerContact(name="Maria Lopez", organisation="", phone="215-555-0143", email="maria.lopez@example.org",
                       address="12 Elm St")


@pytest.fixture
def hasher():
    # Cheap parameters for tests only: production uses argon2-cffi's RFC 9106 defaults.
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def cipher():
    return ContactCipher(load_contact_key())


@pytest.fixture
def audit(database):
    return AuditLog(database)


@pytest.fixture
def accounts(database, audit, cipher, hasher):
    return AccountService(database, audit, cipher, hasher, workstation="rtic-ws-1")


@pytest.fixture
def auth(database, audit, cipher, hasher):
    return AuthService(database, audit, cipher, hasher, workstation="rtic-ws-1")


@pytest.fixture
def viewing(database, audit, cipher):
    return ViewingService(database, audit, cipher, workstation="rtic-ws-1")


@pytest.fixture
def contacts(database, audit, cipher):
    return ContactService(database, audit, cipher, workstation="rtic-ws-1")


@pytest.fixture
def people(accounts):
    """One account per role, named after the role."""
    return {role: accounts.add_user("os:test", role.value, role, PASSWORD, NOW - timedelta(days=1)) for role in Role}


def _camera(site_id, label, capability, mode, status=CameraStatus.ACTIVE):
    streams = ()
    if capability is Capability.LIVE:
        streams = (Stream(StreamProtocol.RTSP, "rtsp://viewer:s3cret-Pass@10.0.0.5:554/main", StreamRole.MAIN),
                   Stream(StreamProtocol.RTSP, "rtsp://10.0.0.5:554/sub", StreamRole.SUB))
    return Camera(id=None, site_id=site_id, label=label, lat=39.95, lon=-75.16, address="12 Elm St",
                  capability=capability, sharing_mode=mode, status=status, streams=streams)


@pytest.fixture
def registry(database, cipher):
    """Cameras of every consent kind at one site, grants, an open and a closed incident; returns their ids."""
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, CONTACT)
        site = repo.add_site(conn, owner, "Elm St home", "12 Elm St", 39.95, -75.16)
        ids = {"owner": owner, "site": site}
        for name, cap, mode in [("always", Capability.LIVE, SharingMode.ALWAYS),
                                ("on_alert", Capability.LIVE, SharingMode.ON_ALERT),
                                ("expired", Capability.LIVE, SharingMode.ON_ALERT),
                                ("revoked", Capability.LIVE, SharingMode.ON_ALERT),
                                ("never", Capability.LIVE, SharingMode.NEVER),
                                ("registered", Capability.REGISTERED, SharingMode.NEVER)]:
            ids[name] = repo.add_camera(conn, cipher, _camera(site, name, cap, mode), owner)
        ids["inactive"] = repo.add_camera(conn, cipher, _camera(site, "inactive", Capability.LIVE, SharingMode.ALWAYS,
                                                                 CameraStatus.INACTIVE), owner)
        for name, start, end, revoked in [("on_alert", -5, 8, None), ("expired", -60, -1, None),
                                          ("revoked", -5, 30, -1)]:
            ids[f"grant_{name}"] = repo.add_grant(conn, ShareGrant(
                None, ids[name], None, NOW + timedelta(minutes=start), NOW + timedelta(minutes=end),
                GrantSource.PANIC_BUTTON, None if revoked is None else NOW + timedelta(minutes=revoked)))
        ids["incident"] = repo.add_incident(conn, Incident(None, "CAD-2026-0042", "burglary", 2, "12 Elm St",
                                                           39.95, -75.16, NOW - timedelta(hours=1)))
        ids["closed_incident"] = repo.add_incident(conn, Incident(None, "CAD-2026-0001", "noise", 4, "1 Oak St",
                                                                  39.95, -75.16, NOW - timedelta(hours=5),
                                                                  NOW - timedelta(hours=4)))
    return ids


def audit_rows(database, action=None):
    """Stored audit events as dicts (oldest first), optionally of one action."""
    import json

    sql = "SELECT action, outcome, username, camera_id, incident_id, details FROM audit_events"
    with database.engine.connect() as conn:
        rows = conn.execute(text(sql + " ORDER BY seq")).all()
    out = [dict(r._mapping, details=json.loads(r.details)) for r in rows]
    return [r for r in out if action is None or r["action"] == action]


def refuse_audit_writes(database) -> None:
    """Make the real audit store refuse new events, as a full disk or a revoked grant would."""
    with database.engine.begin() as conn:
        if database.dialect == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                              "BEGIN SELECT RAISE(ABORT, 'audit store refuses writes'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                              "BEGIN RAISE EXCEPTION 'audit store refuses writes'; END $$"))
            conn.execute(text("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"))


@pytest.fixture
def proxy():
    """A TCP proxy to the real PostgreSQL server that a test can cut (tests/support/tcp_proxy.py)."""
    from tests.support.tcp_proxy import TcpProxy

    with TcpProxy() as proxy:
        yield proxy


@pytest.fixture
def proxied_database(pg_url, proxy):
    """A migrated PostgreSQL registry reached only through `proxy`: cutting it is the database going away."""
    from console.store.db import open_database

    open_database(pg_url, create=True).close()
    database = open_database(proxy.url(pg_url))
    yield database
    database.close()


# --- owner alerts (test_owner_alerts.py, test_alert_incidents.py) ---


@pytest.fixture
def alerts(database, audit):
    return OwnerAlertService(database, audit, workstation="rtic-ws-2")


@pytest.fixture
def shop(database, cipher):
    """A site with two on-alert cameras, and a second site with one, none with any grant yet."""
    def camera(site, label):
        return Camera(id=None, site_id=site, label=label, lat=39.96, lon=-75.17, address="3 Main St",
                      capability=Capability.LIVE, sharing_mode=SharingMode.ON_ALERT, status=CameraStatus.ACTIVE,
                      streams=(Stream(StreamProtocol.RTSP, "rtsp://10.0.0.9:554/main", StreamRole.MAIN),))

    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, CONTACT)
        site = repo.add_site(conn, owner, "Corner shop", "3 Main St", 39.96, -75.17)
        other_site = repo.add_site(conn, owner, "Warehouse", "9 Dock Rd", 39.97, -75.18)
        return {"site": site, "other_site": other_site, "door": repo.add_camera(conn, cipher, camera(site, "door"), owner),
                "till": repo.add_camera(conn, cipher, camera(site, "till"), owner),
                "dock": repo.add_camera(conn, cipher, camera(other_site, "dock"), owner)}

"""The directory server for these tests: a fresh slapd for each test (its data changes in some of them)."""

from __future__ import annotations

import pytest

from tests.support import backends


@pytest.fixture
def slapd(tmp_path):
    backends.require("slapd")
    from tests.directory.slapd import Slapd

    server = Slapd(tmp_path / "slapd")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def directory_settings(slapd, monkeypatch):
    """Machine settings for search-then-bind against the test slapd (LDAP with StartTLS; the test CA)."""
    from console.settings import Settings
    from tests.directory.slapd import GROUP_ROLES, GROUPS, PEOPLE, SERVICE_DN, SERVICE_PASSWORD

    monkeypatch.setenv("RTIC_TEST_LDAP_BIND_PASSWORD", SERVICE_PASSWORD)
    return Settings({"auth": "ldap", "ldap_urls": [slapd.ldap_url], "ldap_ca_file": str(slapd.ca_file),
                     "ldap_bind_dn": SERVICE_DN, "ldap_bind_password_env": "RTIC_TEST_LDAP_BIND_PASSWORD",
                     "ldap_user_base": PEOPLE, "ldap_user_filter": "(uid={user})", "ldap_group_base": GROUPS,
                     "ldap_group_roles": GROUP_ROLES, "ldap_timeout_s": 3.0})


@pytest.fixture
def directory_database(tmp_path):
    from console.store.db import open_database

    db = open_database(f"sqlite:///{tmp_path / 'registry.db'}", create=True)
    yield db
    db.close()


def make_auth(database, settings):
    from argon2 import PasswordHasher

    from console.services.auth import AuthService
    from console.services.directory_auth import authenticator_from_settings
    from console.store.audit import AuditLog

    return AuthService(database, AuditLog(database), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
                       workstation="rtic-ws-1", directory=authenticator_from_settings(settings))


@pytest.fixture
def directory_auth(directory_database, directory_settings):
    return make_auth(directory_database, directory_settings)

"""CLI fixtures: cheap argon2 for every sign-in, and `sign_in_as` (an account of a role, its password in a 0600 file
named by RTIC_PASSWORD_FILE, as a script would run the command line)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher

from console.cli import signin
from console.domain.users import Role
from console.services.accounts import AccountService
from console.store.audit import AuditLog
from console.store.db import open_database

PASSWORD = "correct horse battery staple"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def add_account(url: str, role: Role | str, name: str, folder) -> dict:
    """For subprocess tests: the account (made once, cheap hash) and the environment that signs it in from a script
    (RTIC_PASSWORD_FILE naming a 0600 file with its password)."""
    with open_database(url) as db:
        accounts = AccountService(db, AuditLog(db), hasher=CHEAP, workstation="ws-test")
        if name not in {u.username for u in accounts.list_users()}:
            accounts.add_user("os:test", name, Role(role), PASSWORD, datetime.now(timezone.utc) - timedelta(days=1))
    path = folder / f"{name}.password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return {signin.PASSWORD_FILE_ENV: str(path)}


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    monkeypatch.setattr(signin, "password_hasher", lambda: CHEAP)


@pytest.fixture
def sign_in_as(tmp_path, monkeypatch):
    """sign_in_as(database or URL, role, name=None) -> ["--user", NAME]: the account exists (made once), and
    RTIC_PASSWORD_FILE names a file of mode 0600 holding its password."""

    def make(database, role: Role | str, name: str | None = None) -> list[str]:
        role = Role(role)
        name = name or f"cli-{role.value}"
        db = open_database(database) if isinstance(database, str) else database
        try:
            accounts = AccountService(db, AuditLog(db), hasher=CHEAP, workstation="ws-test")
            if name not in {u.username for u in accounts.list_users()}:
                accounts.add_user("os:test", name, role, PASSWORD, datetime.now(timezone.utc) - timedelta(days=1))
        finally:
            if isinstance(database, str):
                db.close()
        path = tmp_path / f"{name}.password"
        path.write_text(PASSWORD + "\n")
        path.chmod(0o600)
        monkeypatch.setenv(signin.PASSWORD_FILE_ENV, str(path))
        return ["--user", name]

    return make

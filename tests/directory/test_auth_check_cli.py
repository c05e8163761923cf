"""`rtic-console auth check --user NAME` against the real slapd, from the machine settings file as a workstation has
it; `users list` shows where each account comes from; `auth break-glass` marks the local administrator."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher

from console.cli import main, signin
from console.domain.users import Role
from console.services.accounts import AccountService
from console.store.audit import AuditLog
from console.store.db import open_database
from tests.directory.slapd import GROUP_ROLES, GROUPS, PASSWORD, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, group_dn

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN_PASSWORD = "break glass password 1"


def _toml(value) -> str:
    return json.dumps(value)


@pytest.fixture
def workstation(slapd, tmp_path, monkeypatch):
    """A machine settings file for directory sign-in, a registry with a local administrator, and a password file."""
    roles = ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in GROUP_ROLES.items())
    machine = tmp_path / "machine.toml"
    machine.write_text(f'auth = "ldap"\nldap_urls = [{_toml(slapd.ldaps_url)}]\n'
                       f"ldap_ca_file = {_toml(str(slapd.ca_file))}\nldap_bind_dn = {_toml(SERVICE_DN)}\n"
                       f'ldap_bind_password_env = "RTIC_TEST_LDAP_BIND_PASSWORD"\nldap_user_base = {_toml(PEOPLE)}\n'
                       f'ldap_user_filter = "(uid={{user}})"\nldap_group_base = {_toml(GROUPS)}\n'
                       f"ldap_group_roles = {{{roles}}}\n")
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(machine))
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(tmp_path / "user.toml"))
    monkeypatch.setenv("RTIC_TEST_LDAP_BIND_PASSWORD", SERVICE_PASSWORD)
    monkeypatch.setattr(signin, "password_hasher", lambda: CHEAP)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with open_database(url, create=True) as db:
        AccountService(db, AuditLog(db), hasher=CHEAP, workstation="ws").add_user(
            "os:test", "root-admin", Role.ADMIN, ADMIN_PASSWORD, datetime.now(timezone.utc) - timedelta(days=1))
    return url


def _as(tmp_path, monkeypatch, password: str) -> None:
    path = tmp_path / "password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    monkeypatch.setenv(signin.PASSWORD_FILE_ENV, str(path))


def test_auth_check_prints_source_groups_and_role(workstation, tmp_path, monkeypatch, capsys):
    _as(tmp_path, monkeypatch, PASSWORD)
    assert main(["auth", "check", "--user", "alice", "--db", workstation]) == 0
    out = capsys.readouterr().out
    assert "alice: signed in (Alice Archer)" in out
    assert "source: directory (server ldaps://127.0.0.1:" in out
    assert f"groups: {group_dn('console-dispatch')}; {group_dn('night-shift')}; {group_dn('patrol')}" in out
    assert "role: dispatcher (from the directory's groups)" in out


@pytest.mark.parametrize(("name", "sentence"), [
    ("carol", "carol: refused: this directory account is disabled: ask the agency's IT"),
    ("erin", "erin: refused: this directory account is in none of the groups that give a console role"),
    ("*)(uid=*", "*)(uid=*: refused: wrong username or password"),
])
def test_auth_check_prints_the_refusing_sentence(workstation, tmp_path, monkeypatch, capsys, name, sentence):
    _as(tmp_path, monkeypatch, PASSWORD)
    assert main(["auth", "check", "--user", name, "--db", workstation]) == 1
    assert sentence in capsys.readouterr().out


def test_users_list_shows_the_source_and_break_glass_is_marked(workstation, tmp_path, monkeypatch, capsys):
    _as(tmp_path, monkeypatch, PASSWORD)
    assert main(["auth", "check", "--user", "bob", "--db", workstation]) == 0
    _as(tmp_path, monkeypatch, ADMIN_PASSWORD)
    # while auth = "ldap", an unmarked local administrator cannot sign in, so mark it with the local settings
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(tmp_path / "none.toml"))
    assert main(["auth", "break-glass", "root-admin", "--user", "root-admin", "--db", workstation]) == 0
    assert main(["auth", "break-glass", "bob", "--user", "root-admin", "--db", workstation]) == 2
    assert "only a local administrator account can be the break-glass account" in capsys.readouterr().err
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(tmp_path / "machine.toml"))
    assert main(["users", "list", "--json", "--user", "root-admin", "--db", workstation]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out.strip().splitlines()[-1])}
    assert (rows["bob"]["source"], rows["bob"]["role"], rows["bob"]["break_glass"]) == ("directory", "detective", False)
    assert (rows["root-admin"]["source"], rows["root-admin"]["break_glass"]) == ("local", True)
    assert main(["users", "list", "--user", "root-admin", "--db", workstation]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("bob") and " directory " in line for line in out.splitlines())
    assert any(line.startswith("root-admin") and " break-glass " in line for line in out.splitlines())

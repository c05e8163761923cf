"""The signed-in command line (issue 14): each attack run again through the command line (tests/support/cli.py; the
real process, and a person typing on a real terminal, are in tests/cli/test_entry_point.py).

No sign-in, a wrong password, a locked account, the wrong role, a readable password file, a second factor without
a terminal: each is refused with its exact sentence, exit status 2, and nothing changed; what is done is recorded
under the console user with the operating-system account beside it.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime, timedelta, timezone

import pyotp
import pytest

from console.domain.audit import Action
from console.domain.users import Role
from console.services.accounts import AccountService
from console.store.audit import AuditLog
from console.store.users import get_user
from tests.cli.conftest import CHEAP, PASSWORD
from tests.support.cli import run_cli


def _accounts(database):
    return AccountService(database, AuditLog(database), hasher=CHEAP, workstation="ws-test")


def _cli(database, capsys, *argv, stdin: str = "") -> tuple[int, str, str]:
    done = run_cli(*argv, "--db", database.url, stdin=stdin)
    return done.returncode, done.stdout, done.stderr


def _role_of(database, name):
    with database.engine.connect() as conn:
        return get_user(conn, name).role


@pytest.mark.parametrize("argv", [
    ("users", "role", "demo-dispatcher", "admin"),
    ("users", "reset", "demo-admin"),
    ("export", "OUT.csv", "--with-contacts", "--reason", "because I can"),
    ("alerts", "raise", "--camera", "1"),
    ("field", "sync"),
    ("cameras", "near", "42.15", "-72.6", "--radius", "100"),
    ("audit", "list"),
])
def test_without_sign_in_each_command_is_refused(sqlite_url, tmp_path, argv):
    from console.store.db import open_database

    with open_database(sqlite_url, create=True) as database:
        _accounts(database).create_first_admin("demo-admin", PASSWORD, datetime.now(timezone.utc))
        _accounts(database).add_user("os:test", "demo-dispatcher", Role.DISPATCHER, PASSWORD,
                                     datetime.now(timezone.utc))
    argv = [str(tmp_path / a) if a == "OUT.csv" else a for a in argv]
    done = run_cli(*argv, "--db", sqlite_url, env={"RTIC_PASSWORD_FILE": None})
    command = " ".join(a for a in argv[:2] if not a.startswith("-") and "/" not in a and not a[0].isdigit()
                       and a not in ("demo-dispatcher", "demo-admin"))
    command = "export --with-contacts" if argv[0] == "export" else command
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"rtic-console: `rtic-console {command}` needs a signed-in console account: give --user "
                           "NAME (the password is asked on the terminal, or read from the file named by "
                           "RTIC_PASSWORD_FILE)\n")
    with open_database(sqlite_url) as database:
        assert _role_of(database, "demo-dispatcher") is Role.DISPATCHER
        assert [e.action for e in AuditLog(database).query()] == ["user_change", "user_change"]
    assert not (tmp_path / "OUT.csv").exists()


def test_a_script_signs_in_from_its_password_file_and_is_recorded_with_the_os_user(database, capsys, sign_in_as):
    _accounts(database).add_user("os:test", "dana", Role.DISPATCHER, PASSWORD, datetime.now(timezone.utc))
    admin = sign_in_as(database, Role.ADMIN, "chief")
    status, out, err = _cli(database, capsys, "users", "role", "dana", "detective", *admin)
    assert (status, out, err) == (0, "dana is now detective\n", "")
    login, change = AuditLog(database).query()[-2:]
    assert (login.action, login.username, login.details["via"], login.details["notice"]) == (
        Action.LOGIN, "chief", "command line", "not shown (command line)")
    assert (change.username, change.details["change"], change.details["new"]) == ("chief", "role", "detective")
    assert change.details["os_user"] == login.details["os_user"] == getpass.getuser()
    assert change.details["command"] == "users role"


def test_a_dispatcher_cannot_change_roles(database, capsys, sign_in_as):
    me = sign_in_as(database, Role.DISPATCHER, "demo-dispatcher")
    status, _, err = _cli(database, capsys, "users", "role", "demo-dispatcher", "admin", *me)
    assert status == 2 and err == ("rtic-console: the dispatcher role cannot run `rtic-console users role`: it needs "
                                   "the user admin permission\n")
    assert _role_of(database, "demo-dispatcher") is Role.DISPATCHER


def test_outreach_cannot_export_every_contact(database, capsys, sign_in_as, tmp_path):
    me = sign_in_as(database, Role.OUTREACH)
    out = tmp_path / "all.csv"
    status, _, err = _cli(database, capsys, "export", out, "--with-contacts", "--reason", "because I can", *me)
    assert status == 2 and err == ("rtic-console: the outreach role cannot run `rtic-console export --with-contacts`: "
                                   "it needs the user admin permission\n")
    assert not out.exists() and not AuditLog(database).query(actions=(Action.EXPORT,))
    status, _, err = _cli(database, capsys, "export", out, *me)  # the registry without contacts: outreach may
    assert (status, err) == (0, "") and out.exists()


def test_a_wrong_password_counts_towards_the_lockout_like_the_window(database, capsys, sign_in_as, tmp_path,
                                                                      monkeypatch):
    sign_in_as(database, Role.ADMIN, "chief")
    _accounts(database).add_user("os:test", "dana", Role.DISPATCHER, PASSWORD, datetime.now(timezone.utc))
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password at all\n")
    wrong.chmod(0o600)
    monkeypatch.setenv("RTIC_PASSWORD_FILE", str(wrong))
    for attempt in range(5):
        status, _, err = _cli(database, capsys, "users", "lock", "dana", "--user", "chief")
        assert status == 2
    assert err == ("rtic-console: wrong username or password. After 5 failed logins this account is locked: ask an "
                   "administrator to unlock it\n")
    failures = AuditLog(database).query(actions=(Action.LOGIN_FAILED,))
    assert len(failures) == 5 and all(f.details["os_user"] for f in failures)
    monkeypatch.setenv("RTIC_PASSWORD_FILE", str(tmp_path / "chief.password"))  # the right one, now too late
    status, _, err = _cli(database, capsys, "users", "lock", "dana", "--user", "chief")
    assert status == 2 and err == ("rtic-console: this account is locked after too many failed logins: ask an "
                                   "administrator to unlock it\n")
    with database.engine.connect() as conn:
        assert get_user(conn, "dana").state == "active"


def test_a_password_file_others_can_read_is_refused(database, capsys, sign_in_as, tmp_path):
    me = sign_in_as(database, Role.ADMIN, "chief")
    (tmp_path / "chief.password").chmod(0o644)
    status, _, err = _cli(database, capsys, "users", "list", *me)
    path = tmp_path / "chief.password"
    assert status == 2 and err == (f"rtic-console: the password file {path} can be read by other users (mode 0644): "
                                   f"make it yours alone with `chmod 600 {path}`\n")
    assert not AuditLog(database).query(actions=(Action.LOGIN, Action.LOGIN_FAILED))


def test_a_second_factor_without_a_terminal_needs_rtic_totp(database, capsys, sign_in_as, monkeypatch):
    me = sign_in_as(database, Role.ADMIN, "chief")
    uri = _accounts(database).enable_totp("os:test", "chief", datetime.now(timezone.utc))
    status, _, err = _cli(database, capsys, "users", "list", *me)
    assert status == 2 and err == ("rtic-console: the account chief has a second factor and there is no terminal to "
                                   "type its code: put the current 6-digit code in RTIC_TOTP to run `rtic-console "
                                   "users list` from a script\n")
    monkeypatch.setenv("RTIC_TOTP", "000000" if pyotp.parse_uri(uri).now() != "000000" else "111111")
    status, _, err = _cli(database, capsys, "users", "list", *me)
    assert status == 2 and "wrong or already used authenticator code" in err
    monkeypatch.setenv("RTIC_TOTP", pyotp.parse_uri(uri).now())
    status, out, _ = _cli(database, capsys, "users", "list", "--json", *me)
    assert status == 0 and json.loads(out)[0]["second_factor"] is True
    assert AuditLog(database).query(actions=(Action.LOGIN,))[-1].details["second_factor"] is True


def test_field_sync_signs_in_as_the_user_it_is_for(database, capsys, sign_in_as, tmp_path, monkeypatch):
    sign_in_as(database, Role.AUDITOR, "demo-auditor")
    wrong = tmp_path / "guess"
    wrong.write_text("I do not know it\n")
    wrong.chmod(0o600)
    monkeypatch.setenv("RTIC_PASSWORD_FILE", str(wrong))
    status, _, err = _cli(database, capsys, "field", "sync", "--user", "demo-auditor", "--copy", tmp_path / "c.rtic")
    assert (status, err) == (2, "rtic-console: wrong username or password\n")
    assert not (tmp_path / "c.rtic").exists()


def test_the_first_administrator_needs_no_sign_in_and_only_once(database, capsys, monkeypatch):
    monkeypatch.delenv("RTIC_PASSWORD_FILE", raising=False)
    assert _cli(database, capsys, "users", "add", "chief", "--role", "admin", stdin=PASSWORD + "\n")[0] == 0
    [event] = AuditLog(database).query()
    assert (event.username, event.details["change"], event.details["os_user"]) == (
        "chief", "first_admin", getpass.getuser())
    status, _, err = _cli(database, capsys, "users", "add", "eve", "--role", "admin", stdin=PASSWORD + "\n")
    assert status == 2 and "`rtic-console users add` needs a signed-in console account" in err
    with database.engine.connect() as conn:
        assert get_user(conn, "eve") is None


def test_a_reset_password_must_be_changed_before_the_command_line_uses_it(database, capsys, sign_in_as):
    me = sign_in_as(database, Role.ADMIN, "chief")
    _accounts(database).reset_password("os:test", "chief", datetime.now(timezone.utc) + timedelta(seconds=1),
                                       PASSWORD)
    status, _, err = _cli(database, capsys, "users", "list", *me)
    assert status == 2 and err == ("rtic-console: the password of chief was reset and must be changed first: sign in "
                                   "to the console window once and choose a new one\n")


"""`rtic-console users ...`: first admin from standard input without signing in; then add/list/lock/unlock/reset/
role/totp signed in as that administrator (RTIC_PASSWORD_FILE); clear errors."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli
from console.domain.audit import Action
from console.store.audit import AuditLog
from tests.cli.conftest import CHEAP, PASSWORD


@pytest.fixture(autouse=True)
def chiefs_password_file(tmp_path, monkeypatch):
    """The first administrator `chief` (made by the tests with PASSWORD) signs in from this file, as a script would."""
    path = tmp_path / "chief.password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    monkeypatch.setenv("RTIC_PASSWORD_FILE", str(path))
    return path


def run(database, capsys, monkeypatch, *argv, stdin="", user="chief"):
    done = run_cli(*argv, "--db", database.url, *(["--user", user] if user else []), stdin=stdin)
    return done.returncode, done.stdout, done.stderr


def listing(database, capsys, monkeypatch):
    status, out, _ = run(database, capsys, monkeypatch, "users", "list", "--json")
    assert status == 0
    return {u["name"]: {k: v for k, v in u.items() if k != "last_login"} for u in json.loads(out)}  # signing in
    # to list changes chief's last sign-in


def test_first_admin_then_users_from_a_script(database, capsys, monkeypatch):
    status, out, err = run(database, capsys, monkeypatch, "users", "list")
    assert (status, err) == (0, "") and "no accounts yet" in out
    status, _, err = run(database, capsys, monkeypatch, "users", "add", "chief", "--role", "dispatcher",
                         stdin=PASSWORD + "\n")
    assert status == 2 and "first one must be the administrator" in err
    status, out, err = run(database, capsys, monkeypatch, "users", "add", "chief", stdin=PASSWORD + "\n")
    assert (status, err) == (0, "") and "first administrator" in out
    status, out, _ = run(database, capsys, monkeypatch, "users", "add", "dana", "--role", "dispatcher",
                         "--display-name", "Dana Cruz", stdin=PASSWORD + "\n")
    assert status == 0 and "added dana (dispatcher)" in out
    accounts = listing(database, capsys, monkeypatch)
    assert {n: (u["role"], u["state"]) for n, u in accounts.items()} == {
        "chief": ("admin", "active"), "dana": ("dispatcher", "active")}
    assert PASSWORD not in str(AuditLog(database).query())


@pytest.mark.parametrize("argv, stdin, words", [
    (("users", "add", "eve", "--role", "sheriff"), PASSWORD, "unknown role 'sheriff': choose one of"),
    (("users", "add", "eve", "--role", "detective"), "short\n", "too short"),
    (("users", "add", "eve", "--role", "detective"), "", "no password on standard input"),
    (("users", "add", "eve"), PASSWORD, "give the account's role"),
    (("users", "add", "chief", "--role", "detective"), PASSWORD, "already a user named chief"),
    (("users", "lock", "ghost"), "", "no user named ghost"),
    (("users", "role", "chief", "king"), "", "unknown role"),
])
def test_bad_input_is_one_sentence_and_changes_nothing(database, capsys, monkeypatch, argv, stdin, words):
    run(database, capsys, monkeypatch, "users", "add", "chief", stdin=PASSWORD + "\n")
    before = listing(database, capsys, monkeypatch)
    status, out, err = run(database, capsys, monkeypatch, *argv, stdin=stdin)
    assert status == 2 and words in err and "Traceback" not in err and err.count("\n") == 1
    assert PASSWORD not in err
    assert listing(database, capsys, monkeypatch) == before


def test_lock_unlock_reset_role_totp(database, capsys, monkeypatch):
    run(database, capsys, monkeypatch, "users", "add", "chief", stdin=PASSWORD + "\n")
    run(database, capsys, monkeypatch, "users", "add", "dana", "--role", "dispatcher", stdin=PASSWORD + "\n")
    assert run(database, capsys, monkeypatch, "users", "lock", "dana")[1] == "locked dana: now locked\n"
    assert listing(database, capsys, monkeypatch)["dana"]["state"] == "locked"
    assert run(database, capsys, monkeypatch, "users", "unlock", "dana")[1] == "unlocked dana: now active\n"
    status, out, _ = run(database, capsys, monkeypatch, "users", "reset", "dana")
    generated = out.rsplit(": ", 1)[1].strip()
    assert status == 0 and len(generated) >= 12
    assert run(database, capsys, monkeypatch, "users", "role", "dana", "detective")[1] == "dana is now detective\n"
    status, out, _ = run(database, capsys, monkeypatch, "users", "totp", "dana", "on")
    assert status == 0 and "otpauth://totp/" in out
    assert listing(database, capsys, monkeypatch)["dana"]["second_factor"] is True
    events = [r for r in AuditLog(database).query() if r.action == Action.USER_CHANGE and r.username == "chief"]
    assert [r.details["change"] for r in events] == ["first_admin", "user_added", "locked", "unlocked",
                                                     "password_reset", "role", "second_factor_on"]
    assert all(r.details["os_user"] and r.details["command"].startswith("users ") for r in events)
    assert generated not in str(AuditLog(database).query())


def test_disable_unused(database, capsys, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from console.domain.users import Role
    from console.services.accounts import AccountService

    run(database, capsys, monkeypatch, "users", "add", "chief", stdin=PASSWORD + "\n")
    AccountService(database, AuditLog(database), hasher=CHEAP).add_user(
        "os:test", "old", Role.DETECTIVE, PASSWORD, datetime.now(timezone.utc) - timedelta(days=91))
    status, out, _ = run(database, capsys, monkeypatch, "users", "disable-unused")
    assert (status, out) == (0, "disabled (unused for 90 days): old\n")
    assert listing(database, capsys, monkeypatch)["old"]["state"] == "disabled"
    assert run(database, capsys, monkeypatch, "users", "disable-unused")[1] == "no account has gone unused for 90 days\n"

"""Account administration: first admin, add/lock/unlock/reset/role, who may do it, demo accounts, audit events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.domain.audit import Action
from console.domain.users import Role
from console.errors import UserError
from console.services.accounts import create_demo_accounts
from console.services.auth import LoginFailed
from tests.services.conftest import NOW, PASSWORD, audit_rows, refuse_audit_writes


def test_first_admin_only_on_an_empty_user_table(database, accounts):
    assert accounts.needs_first_admin()
    admin = accounts.create_first_admin("chief", PASSWORD, NOW, "Chief Admin")
    assert (admin.role, admin.display_name, accounts.needs_first_admin()) == (Role.ADMIN, "Chief Admin", False)
    with pytest.raises(UserError, match="first administrator exists already"):
        accounts.create_first_admin("other", PASSWORD, NOW)
    [event] = audit_rows(database, Action.USER_CHANGE)
    assert event["details"] == {"change": "first_admin", "user": "chief", "role": "admin"}


def test_bad_input_is_refused_in_words_and_changes_nothing(database, accounts):
    accounts.add_user("os:test", "dana", Role.DISPATCHER, PASSWORD, NOW)
    cases = [("dana", PASSWORD, "already a user named dana"), ("new one", PASSWORD, "may only hold"),
             ("newbie", "short", "too short")]
    for name, password, words in cases:
        with pytest.raises(UserError, match=words):
            accounts.add_user("os:test", name, Role.DETECTIVE, password, NOW)
    with pytest.raises(UserError, match="no user named ghost"):
        accounts.lock("os:test", "ghost", NOW)
    assert [u.username for u in accounts.list_users()] == ["dana"]
    assert len(audit_rows(database, Action.USER_CHANGE)) == 1


def test_only_user_admins_manage_accounts(accounts, people):
    with pytest.raises(UserError, match="dispatcher role cannot manage user accounts"):
        accounts.add_user(people[Role.DISPATCHER], "sneaky", Role.ADMIN, PASSWORD, NOW)
    with pytest.raises(UserError, match="supervisor role cannot"):
        accounts.set_role(people[Role.SUPERVISOR], "dispatcher", Role.ADMIN, NOW)
    made = accounts.add_user(people[Role.ADMIN], "newcomer", Role.DETECTIVE, PASSWORD, NOW)
    assert made.role is Role.DETECTIVE
    assert accounts.user("dispatcher").role is Role.DISPATCHER


def test_lock_unlock_reset_and_role_changes_are_audited(database, accounts, auth, people):
    admin = people[Role.ADMIN]
    assert accounts.lock(admin, "detective", NOW).is_locked
    with pytest.raises(LoginFailed, match="locked by an administrator"):
        auth.login("detective", PASSWORD, NOW, notice_acknowledged=True)
    assert accounts.unlock(admin, "detective", NOW).is_active
    new_password = accounts.reset_password(admin, "detective", NOW)
    session = auth.login("detective", new_password, NOW, notice_acknowledged=True)
    assert session.user.must_change_password
    assert accounts.set_role(admin, "detective", Role.SUPERVISOR, NOW).role is Role.SUPERVISOR
    changes = [e["details"] for e in audit_rows(database, Action.USER_CHANGE) if e["username"] == "admin"]
    assert [c["change"] for c in changes] == ["locked", "unlocked", "password_reset", "role"]
    assert changes[-1] == {"change": "role", "user": "detective", "old": "detective", "new": "supervisor"}
    assert new_password not in str(audit_rows(database))


def test_a_refused_audit_write_leaves_the_account_as_it_was(database, accounts, people):
    refuse_audit_writes(database)
    with pytest.raises(UserError, match="audit"):
        accounts.set_role("os:test", "dispatcher", Role.ADMIN, NOW)
    assert accounts.user("dispatcher").role is Role.DISPATCHER


def test_demo_accounts_one_per_role_with_random_passwords(database, audit, auth, hasher):
    first = create_demo_accounts(database, hasher=hasher, now=NOW, audit=audit)
    assert sorted(first) == sorted(f"demo-{r.value}" for r in Role)
    assert len(set(first.values())) == len(Role) and all(len(p) >= 12 for p in first.values())
    for name, password in first.items():
        assert auth.login(name, password, NOW, notice_acknowledged=True).user.role.value == name[5:]
    again = create_demo_accounts(database, hasher=hasher, now=NOW + timedelta(minutes=1), audit=audit)
    assert set(again) == set(first) and not set(again.values()) & set(first.values())
    assert auth.login("demo-auditor", again["demo-auditor"], NOW, notice_acknowledged=True)


def test_an_admin_demoted_since_login_cannot_manage_accounts(accounts, people):
    admin = people[Role.ADMIN]
    accounts.set_role("os:root", "admin", Role.DISPATCHER, NOW)
    with pytest.raises(UserError, match="dispatcher role cannot manage"):
        accounts.add_user(admin, "sneaky", Role.ADMIN, PASSWORD, NOW)

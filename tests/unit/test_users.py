"""Roles, the permission table and the account time rules (lockout window, disuse, idle lock)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import console.domain.users as users_module
from console.domain.users import (
    ROLE_PERMISSIONS,
    IdlePolicy,
    Permission,
    Role,
    User,
    check_password,
    check_username,
    is_disused,
    parse_role,
    should_lock_out,
)

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)


def test_the_documented_table_is_the_table_in_force():
    """The module docstring's table and ROLE_PERMISSIONS must say the same thing."""
    rows = [line for line in users_module.__doc__.splitlines() if line.startswith("| ") and "---" not in line]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header[1:] == [p.value for p in Permission]
    documented = {}
    for row in rows[1:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        documented[Role(cells[0])] = frozenset(p for p, cell in zip(Permission, cells[1:]) if cell == "yes")
    assert documented == ROLE_PERMISSIONS


def test_separation_of_duties():
    watchers = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.LIVE_VIEW in perms}
    assert watchers == {Role.DISPATCHER, Role.DETECTIVE, Role.SUPERVISOR}
    assert not any(Permission.USER_ADMIN in ROLE_PERMISSIONS[r] for r in watchers)
    assert ROLE_PERMISSIONS[Role.AUDITOR] == {Permission.AUDIT_VIEW, Permission.AUDIT_EXPORT}


def test_parse_role_names_the_choices():
    assert parse_role(" Detective ") is Role.DETECTIVE
    with pytest.raises(ValueError, match="choose one of dispatcher, detective"):
        parse_role("sheriff")


@given(st.lists(st.integers(0, 30 * 60), max_size=12))
def test_lockout_counts_only_failures_inside_the_fifteen_minute_window(seconds_ago):
    failures = [NOW - timedelta(seconds=s) for s in seconds_ago]
    inside = sum(1 for s in seconds_ago if s < 15 * 60)
    assert should_lock_out(failures, NOW) is (inside >= 5)


def test_five_failures_lock_four_do_not():
    assert not should_lock_out([NOW - timedelta(minutes=m) for m in range(4)], NOW)
    assert should_lock_out([NOW - timedelta(minutes=m) for m in range(5)], NOW)
    assert not should_lock_out([NOW - timedelta(minutes=m) for m in (0, 1, 2, 3, 15)], NOW)


def account(created_days_ago, last_login_days_ago=None):
    return User(id=1, username="u", display_name="U", role=Role.DISPATCHER,
                created_at=NOW - timedelta(days=created_days_ago),
                last_login_at=None if last_login_days_ago is None else NOW - timedelta(days=last_login_days_ago))


def test_disuse_after_ninety_days_from_the_last_login_or_creation():
    assert not is_disused(account(200, 89), NOW)
    assert is_disused(account(200, 90), NOW)
    assert not is_disused(account(89), NOW)
    assert is_disused(account(91), NOW)


def test_idle_policy():
    policy = IdlePolicy()
    assert policy.minutes == 30
    assert not policy.lock_due(NOW - timedelta(minutes=29, seconds=59), NOW)
    assert policy.lock_due(NOW - timedelta(minutes=30), NOW)
    off = IdlePolicy(0)
    assert not off.lock_due(NOW - timedelta(days=3), NOW) and off.lock_at(NOW) is None
    with pytest.raises(ValueError, match="0 \\(off\\)"):
        IdlePolicy(-1)


def test_username_and_password_checks():
    assert check_username("  j.smith@pd  ") == "j.smith@pd"
    for bad in ("", "a b", "x" * 65, "rm;-rf"):
        with pytest.raises(ValueError):
            check_username(bad)
    check_password("correct horse battery")
    with pytest.raises(ValueError) as short:
        check_password("hunter2")
    assert "hunter2" not in str(short.value)


def test_reenabling_restarts_the_disuse_clock():
    user = User(id=1, username="u", display_name="U", role=Role.DISPATCHER, created_at=NOW - timedelta(days=300),
                last_login_at=NOW - timedelta(days=200), reenabled_at=NOW - timedelta(days=10))
    assert not is_disused(user, NOW) and is_disused(user, NOW + timedelta(days=80))

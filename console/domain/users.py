"""Console users, their roles, what each role may do, and the time rules on accounts (lockout, disuse, idle lock).

Who may do what (one table; `ROLE_PERMISSIONS` below is this table, and a test keeps them equal):

| role       | live view | contact reveal | audit view | audit export | user admin | registry edit | footage request |
|------------|-----------|----------------|------------|--------------|------------|---------------|-----------------|
| dispatcher | yes       | yes            |            |              |            |               | yes             |
| detective  | yes       | yes            |            |              |            |               | yes             |
| supervisor | yes       | yes            | yes        |              |            |               | yes             |
| auditor    |           |                | yes        | yes          |            |               |                 |
| admin      |           |                | yes        |              | yes        | yes           |                 |
| outreach   |           | yes            |            |              |            | yes           |                 |

Why: dispatchers and detectives work incidents, so they watch feeds and call owners for footage.
Supervisors do the same and review their team's audit trail. Auditors are independent: they read and
export the trail but never watch cameras or read contacts. Administrators manage accounts and fix the
registry but do not watch (separation of duties: whoever can create accounts should not also be able to
watch through them unnoticed). Outreach staff register cameras over the phone and call owners back, so
they edit the registry and see contacts, but never watch live. Asking owners for recorded footage, attaching
what they send and exporting it as evidence goes with working incidents: dispatchers, detectives, supervisors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class Role(str, enum.Enum):
    DISPATCHER = "dispatcher"
    DETECTIVE = "detective"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"
    OUTREACH = "outreach"


class Permission(str, enum.Enum):
    LIVE_VIEW = "live view"
    CONTACT_REVEAL = "contact reveal"
    AUDIT_VIEW = "audit view"
    AUDIT_EXPORT = "audit export"
    USER_ADMIN = "user admin"
    REGISTRY_EDIT = "registry edit"
    FOOTAGE_REQUEST = "footage request"  # ask owners for recorded footage, attach and export the files


_P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.DISPATCHER: frozenset({_P.LIVE_VIEW, _P.CONTACT_REVEAL, _P.FOOTAGE_REQUEST}),
    Role.DETECTIVE: frozenset({_P.LIVE_VIEW, _P.CONTACT_REVEAL, _P.FOOTAGE_REQUEST}),
    Role.SUPERVISOR: frozenset({_P.LIVE_VIEW, _P.CONTACT_REVEAL, _P.AUDIT_VIEW, _P.FOOTAGE_REQUEST}),
    Role.AUDITOR: frozenset({_P.AUDIT_VIEW, _P.AUDIT_EXPORT}),
    Role.ADMIN: frozenset({_P.AUDIT_VIEW, _P.USER_ADMIN, _P.REGISTRY_EDIT}),
    Role.OUTREACH: frozenset({_P.CONTACT_REVEAL, _P.REGISTRY_EDIT}),
}


def role_allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def parse_role(text: str) -> Role:
    """The role named by `text`; ValueError with the list of roles otherwise."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r}: choose one of {names}") from None


# --- account rules --------------------------------------------------------------------------------

MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
DISUSE_LIMIT = timedelta(days=90)
DEFAULT_IDLE_LOCK_MINUTES = 30
MIN_PASSWORD_LENGTH = 12
MAX_USERNAME_LENGTH = 64
# What a username may hold: letters, digits and . _ - @ (check_username; the sign-in form's field allows no more).
USERNAME_PATTERN = r"^[\w.@-]*$"

# Shown at every login and acknowledged before the password is checked.
USE_NOTIFICATION = (
    "You are accessing a law-enforcement information system. Use is limited to authorised persons for "
    "official purposes. Every search, live view and contact reveal is recorded with your name, the "
    "incident and your reason, and is reviewed. Misuse may lead to discipline and prosecution."
)


class LockReason(str, enum.Enum):
    FAILED_LOGINS = "failed_logins"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    """An account as the rest of the console sees it; the password hash and TOTP secret stay in the store."""

    id: int | None
    username: str
    display_name: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None = None
    locked_at: datetime | None = None
    lock_reason: LockReason | None = None
    disabled_at: datetime | None = None
    reenabled_at: datetime | None = None  # an administrator lifted a lock or disablement
    totp_enabled: bool = False
    must_change_password: bool = False
    source: str = "local"  # "local" or "directory" (console/services/directory_auth.py)
    break_glass: bool = False  # the local administrator who signs in when the directory is away

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def is_active(self) -> bool:
        return not (self.is_locked or self.is_disabled)

    def may(self, permission: Permission) -> bool:
        return role_allows(self.role, permission)

    @property
    def state(self) -> str:
        """'active', 'locked' or 'disabled', as `users list` shows it."""
        return "disabled" if self.is_disabled else "locked" if self.is_locked else "active"


def should_lock_out(failures: list[datetime], now: datetime) -> bool:
    """True when MAX_FAILED_LOGINS or more failures fall within the window ending at `now`."""
    since = now - FAILED_LOGIN_WINDOW
    return sum(1 for at in failures if since < at <= now) >= MAX_FAILED_LOGINS


def is_disused(user: User, now: datetime) -> bool:
    """An account not used, created or re-enabled within DISUSE_LIMIT is disabled (a new start gets the full period)."""
    last = max(t for t in (user.last_login_at, user.created_at, user.reenabled_at) if t is not None)
    return now - last >= DISUSE_LIMIT


@dataclass(frozen=True)
class IdlePolicy:
    """Lock the console after `minutes` without input; 0 turns the idle lock off (dispatch in a secure room)."""

    minutes: int = DEFAULT_IDLE_LOCK_MINUTES

    def __post_init__(self):
        if self.minutes < 0:
            raise ValueError(f"idle lock of {self.minutes} minutes is not valid: give 0 (off) or more minutes")

    @property
    def enabled(self) -> bool:
        return self.minutes > 0

    def lock_due(self, last_activity: datetime, now: datetime) -> bool:
        return self.enabled and now - last_activity >= timedelta(minutes=self.minutes)

    def lock_at(self, last_activity: datetime) -> datetime | None:
        return last_activity + timedelta(minutes=self.minutes) if self.enabled else None


def check_username(name: str) -> str:
    """The username, trimmed; ValueError when it cannot be one."""
    name = (name or "").strip()
    if not name:
        raise ValueError("a username cannot be empty")
    if len(name) > MAX_USERNAME_LENGTH:
        raise ValueError(f"the username is too long: at most {MAX_USERNAME_LENGTH} characters")
    if not all(ch.isalnum() or ch in "._-@" for ch in name):
        raise ValueError(f"the username {name!r} may only hold letters, digits and . _ - @")
    return name


def check_password(password: str) -> None:
    """ValueError (never quoting the password) when it is too weak to accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise ValueError("the password must not start or end with a space")

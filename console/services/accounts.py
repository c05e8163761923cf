"""Account administration: the first admin, adding users, roles, locks, password resets, TOTP, demo accounts.

Every change is written together with its audit event in one transaction: if the event cannot be stored,
the change is not made. `actor` is who asks: a logged-in `User` (who must hold the user-admin permission)
or a name such as "os:alice" for the first administrator on an empty database (the command line signs in
for everything else: console/cli/signin.py). On PostgreSQL only the tables' owner may change accounts; the
consoles' role records sign-ins in a table of their own (console/store/users.py).
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

import pyotp
from argon2 import PasswordHasher

from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.users import (
    LockReason,
    Permission,
    Role,
    User,
    check_password,
    check_username,
    is_disused,
)
from console.errors import UserError
from console.store import users as repo
from console.store.audit import AuditLog
from console.store.db import Database
from console.store.secrets import ContactCipher, load_contact_key
from console.store.transactions import Connection, PrivilegeRefused, audited_transaction  # also imported from here

TOTP_ISSUER = "Community Connect Console"


def default_workstation() -> str:
    return socket.gethostname()[:100] or "console"


def acting_name(database: Database, actor: User | str, permission: Permission, refused: str) -> str:
    """The name an action is recorded under. A console user must be active and hold `permission` as the registry
    stores the account now (not as it was at sign-in); otherwise UserError, `refused` naming what the role cannot do.
    A command-line operator's name is taken as given (the command line signed that person in already)."""
    if isinstance(actor, str):
        return actor
    with database.engine.connect() as conn:
        user = (repo.get_user_by_id(conn, actor.id) if actor.id is not None else None) or actor
    if not user.is_active:
        raise UserError(f"the account {user.username} is {user.state}")
    if not user.may(permission):
        raise UserError(f"the {user.role.value} role cannot {refused}")
    return user.username


def os_user() -> str:
    """The operating-system account running this process ("alice"), written beside the console user."""
    try:
        return getpass.getuser()[:60]
    except (KeyError, OSError):  # no name for this uid (e.g. in a container)
        return f"uid{os.getuid()}"


def operator_name() -> str:
    """The audit trail's name for a command-line action done without a console account ("os:alice"): only the
    first administrator on an empty database, and services run by the system."""
    return f"os:{os_user()}"[:64]


ACCOUNTS_NEED_OWNER = ("the database role this console connects as may not change user accounts (the consoles' role "
                       "only records sign-ins): run `rtic-console users ...` with the tables' owner's database URL in "
                       "RTIC_ADMIN_DATABASE_URL or --db")


class AuditedService:
    """What every service that reads or changes registry data for someone holds: the database, its audit log, the
    agency's contact cipher (its key loaded on first use) and the name of this workstation."""

    def __init__(self, database: Database, audit: AuditLog, cipher: ContactCipher | None = None,
                 workstation: str | None = None):
        self.database = database
        self.audit = audit
        self._cipher = cipher
        self.workstation = workstation or default_workstation()

    @property
    def cipher(self) -> ContactCipher:
        if self._cipher is None:
            self._cipher = ContactCipher(load_contact_key())
        return self._cipher


# No look-alikes (0/O/o, 1/l/I, 5/S, 2/Z, 8/B, u/v) and no punctuation: read aloud or copied by hand without doubt.
PASSWORD_ALPHABET = "34679abcdefghijkmnpqrstwxyzACDEFGHJKLMNPQRTUWXY"


def generate_password() -> str:
    """A random password of 20 characters from PASSWORD_ALPHABET (about 110 bits), in groups of five."""
    chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(20))
    return "-".join(chars[i:i + 5] for i in range(0, 20, 5))


class AccountService(AuditedService):
    def __init__(self, database: Database, audit: AuditLog, cipher: ContactCipher | None = None,
                 hasher: PasswordHasher | None = None, workstation: str | None = None):
        super().__init__(database, audit, cipher, workstation)
        # argon2id with the library's RFC 9106 defaults; tests inject cheaper parameters.
        self.hasher = hasher or PasswordHasher()

    # --- reading --------------------------------------------------------------------------------

    def needs_first_admin(self) -> bool:
        with self.database.engine.connect() as conn:
            return repo.count_users(conn) == 0

    def list_users(self) -> list[User]:
        with self.database.engine.connect() as conn:
            return repo.list_users(conn)

    def user(self, username: str) -> User:
        with self.database.engine.connect() as conn:
            return self._existing(conn, username)

    # --- creating -------------------------------------------------------------------------------

    def create_first_admin(self, username: str, password: str, now: datetime, display_name: str = "") -> User:
        """The first account of a new installation; refused once any account exists."""
        with self._changing() as conn:
            if repo.count_users(conn) != 0:
                raise UserError("the first administrator exists already: log in as an administrator to add users")
            return self._add(conn, username, username, Role.ADMIN, password, now, display_name, False, "first_admin")

    def add_user(self, actor: User | str, username: str, role: Role, password: str, now: datetime,
                 display_name: str = "", must_change_password: bool = False) -> User:
        actor_name = self._authorised(actor)
        with self._changing() as conn:
            return self._add(conn, actor_name, username, role, password, now, display_name, must_change_password,
                             "user_added")

    def _add(self, conn: Connection, actor: str, username: str, role: Role, password: str, now: datetime,
             display_name: str, must_change: bool, change: str) -> User:
        username = _checked(check_username, username)
        _checked(check_password, password)
        if repo.get_user(conn, username) is not None:
            raise UserError(f"there is already a user named {username}: choose another name")
        user_id = repo.add_user(conn, username, display_name.strip() or username, role,
                                self.hasher.hash(password), now, must_change)
        self._audit(conn, actor, Action.USER_CHANGE, {"change": change, "user": username, "role": role.value})
        return repo.get_user_by_id(conn, user_id)

    # --- changing -------------------------------------------------------------------------------

    def lock(self, actor: User | str, username: str, now: datetime) -> User:
        actor_name = self._authorised(actor)
        with self._changing() as conn:
            user = self._existing(conn, username)
            repo.lock(conn, user.id, LockReason.ADMIN, now)
            self._audit(conn, actor_name, Action.USER_CHANGE, {"change": "locked", "user": user.username})
            return repo.get_user_by_id(conn, user.id)

    def unlock(self, actor: User | str, username: str, now: datetime) -> User:
        """Lift a lock (failed logins or an administrator's) and re-enable an account disabled by disuse."""
        actor_name = self._authorised(actor)
        with self._changing() as conn:
            user = self._existing(conn, username)
            repo.unlock(conn, user.id, now)
            self._audit(conn, actor_name, Action.USER_CHANGE,
                        {"change": "unlocked", "user": user.username, "was": user.state})
            return repo.get_user_by_id(conn, user.id)

    def reset_password(self, actor: User | str, username: str, now: datetime, password: str | None = None) -> str:
        """Set a new password (generated when not given) that must be changed at next login; returns it."""
        actor_name = self._authorised(actor)
        password = password if password is not None else generate_password()
        _checked(check_password, password)
        with self._changing() as conn:
            user = self._existing(conn, username)
            repo.set_password_hash(conn, user.id, self.hasher.hash(password), must_change=True)
            self._audit(conn, actor_name, Action.USER_CHANGE, {"change": "password_reset", "user": user.username})
        return password

    def set_role(self, actor: User | str, username: str, role: Role, now: datetime) -> User:
        actor_name = self._authorised(actor)
        with self._changing() as conn:
            user = self._existing(conn, username)
            repo.set_role(conn, user.id, role)
            self._audit(conn, actor_name, Action.USER_CHANGE,
                        {"change": "role", "user": user.username, "old": user.role.value, "new": role.value})
            return repo.get_user_by_id(conn, user.id)

    def enable_totp(self, actor: User | str, username: str, now: datetime) -> str:
        """Turn on the second factor; returns the otpauth:// URI to show once as a QR code or type into an app."""
        actor_name = self._authorised(actor, own=username)
        secret = pyotp.random_base32()
        with self._changing() as conn:
            user = self._existing(conn, username)
            repo.set_totp(conn, user.id, self.cipher.encrypt({"secret": secret}, b"totp"))
            self._audit(conn, actor_name, Action.USER_CHANGE, {"change": "second_factor_on", "user": user.username})
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)

    def disable_totp(self, actor: User | str, username: str, now: datetime) -> None:
        actor_name = self._authorised(actor)
        with self._changing() as conn:
            user = self._existing(conn, username)
            repo.set_totp(conn, user.id, None)
            self._audit(conn, actor_name, Action.USER_CHANGE, {"change": "second_factor_off", "user": user.username})

    def disable_disused(self, now: datetime, actor: str = "system") -> list[str]:
        """Disable every active account unused for 90 days; returns their names."""
        done = []
        with self._changing() as conn:
            for user in repo.list_users(conn):
                if not user.is_disabled and is_disused(user, now):
                    repo.disable(conn, user.id, now)
                    self._audit(conn, actor, Action.USER_CHANGE,
                                {"change": "disabled", "user": user.username, "why": "unused for 90 days"})
                    done.append(user.username)
        return done

    # --- helpers --------------------------------------------------------------------------------

    @contextmanager
    def _changing(self) -> Iterator[Connection]:
        """An audited transaction on the accounts table, which only the tables' owner may change."""
        try:
            with audited_transaction(self.database) as conn:
                yield conn
        except PrivilegeRefused:
            raise PrivilegeRefused(ACCOUNTS_NEED_OWNER) from None

    def _authorised(self, actor: User | str, own: str | None = None) -> str:
        if isinstance(actor, str):
            return actor
        if own is not None and actor.username == own:
            return actor.username
        if actor.id is not None:  # the role and lock as stored now, not as at login
            with self.database.engine.connect() as conn:
                actor = repo.get_user_by_id(conn, actor.id) or actor
        if not actor.is_active or not actor.may(Permission.USER_ADMIN):
            raise UserError(f"the {actor.role.value} role cannot manage user accounts: ask an administrator")
        return actor.username

    def _existing(self, conn: Connection, username: str) -> User:
        user = repo.get_user(conn, (username or "").strip())
        if user is None:
            raise UserError(f"there is no user named {username}: `rtic-console users list` shows them")
        return user

    def _audit(self, conn: Connection, actor: str, action: str, details: dict) -> None:
        self.audit.append(AuditEntry(action=action, username=actor[:64], workstation=self.workstation,
                                     outcome=Outcome.OK, details=details), conn=conn)


def _checked(check, value):
    try:
        return check(value)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def create_demo_accounts(database: Database, hasher: PasswordHasher | None = None,
                         now: datetime | None = None, audit: AuditLog | None = None) -> dict[str, str]:
    """One demo account per role, named demo-<role>, with a fresh random password each; returns name -> password.

    An existing demo account gets a new password (so the printed list always works); others are untouched.
    """
    now = now or datetime.now(timezone.utc)
    service = AccountService(database, audit or AuditLog(database), hasher=hasher)
    made: dict[str, str] = {}
    for role in Role:
        name, password = f"demo-{role.value}", generate_password()
        with audited_transaction(database) as conn:
            existing = repo.get_user(conn, name)
            if existing is None:
                service._add(conn, "demo", name, role, password, now, f"Demo {role.value}", False, "demo_account")
            else:
                repo.set_password_hash(conn, existing.id, service.hasher.hash(password), must_change=False)
                repo.unlock(conn, existing.id, now)
                repo.set_role(conn, existing.id, role)
                service._audit(conn, "demo", Action.USER_CHANGE, {"change": "demo_account_reset", "user": name})
        made[name] = password
    return made

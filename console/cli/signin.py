"""Signing in on the command line: one console account behind every command that reveals, changes or exports.

`add_user_option(parser)` gives a subcommand `--user NAME`; `sign_in(args, database, "users role", permission)`
signs that account in through the window's own AuthService (same lockout counting, same disabled/locked/disused
checks, same audit events), checks the role's permission as the window does, and returns a `SignedIn` whose
`audit` log writes every event of the command with the operating-system account beside the console user
(`details.os_user`; `details.signed_in_as` when a service records the event under another name, such as "cad").

The password comes from the terminal without echo, or for scripts from the file named by RTIC_PASSWORD_FILE
(first line; the file must be the running user's own and not readable by group or others). An account with the
authenticator-app second factor is asked for its code on the terminal; with no terminal the current code is read
from RTIC_TOTP, and without it the command is refused. The use notice is not shown on the command line (the login
event says so: details.notice "not shown (command line)").
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from argon2 import PasswordHasher

from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.users import Permission, User
from console.errors import UserError
from console.services.accounts import default_workstation, os_user
from console.services.auth import AuthService, SecondFactorRequired
from console.store.audit import AuditLog
from console.store.db import Database

PASSWORD_FILE_ENV = "RTIC_PASSWORD_FILE"
TOTP_ENV = "RTIC_TOTP"
MAX_PASSWORD_FILE_BYTES = 4096


def password_hasher() -> PasswordHasher:
    """argon2id with production parameters (tests replace this function with a cheap one)."""
    return PasswordHasher()


def add_user_option(parser) -> None:
    """`--user NAME`: the console account a command signs in as."""
    parser.add_argument("--user", dest="signin_user", metavar="NAME",
                        help=f"the console account to sign in as (password from the terminal or the file named by "
                             f"{PASSWORD_FILE_ENV}; second-factor code from the terminal or {TOTP_ENV})")


class SignedAuditLog(AuditLog):
    """The audit log of one signed-in command: every event carries the operating-system account beside the
    console user, so neither can be left out of the trail."""

    def __init__(self, database: Database, user_name: str | None, os_name: str, command: str):
        super().__init__(database)
        self.user_name, self.os_name, self.command = user_name, os_name, command

    def append(self, entry: AuditEntry, conn=None, occurred_at: datetime | None = None):
        details = {**entry.details, "os_user": self.os_name, "command": self.command}
        if self.user_name is not None and entry.username != self.user_name:
            details["signed_in_as"] = self.user_name
        return super().append(replace(entry, details=details), conn=conn, occurred_at=occurred_at)


@dataclass(frozen=True)
class SignedIn:
    """Who runs this command: the console account (as stored at sign-in), the OS account, and the audit log to
    hand to every service the command uses."""

    user: User
    os_user: str
    workstation: str
    audit: SignedAuditLog
    seal: object | None = None  # what `seal_for` made of the password (field sync's key); the password is not kept

    @property
    def name(self) -> str:
        return self.user.username


def sign_in(args, database: Database, command: str, permission: Permission | tuple[Permission, ...] | None = None,
            now: datetime | None = None, seal_for: Callable[[str], object] | None = None) -> SignedIn:
    """Sign in the account named by `args.signin_user` for `command`, or raise UserError (exit 2) saying why.

    `permission`: what the role must hold (all of them, for a tuple); None means any active account.
    `seal_for`: called with the password once it is proven (field sync seals the copy to it); its result is `seal`.
    """
    username = (getattr(args, "signin_user", None) or "").strip()
    if not username:
        raise UserError(f"`rtic-console {command}` needs a signed-in console account: give --user NAME "
                        f"(the password is asked on the terminal, or read from the file named by {PASSWORD_FILE_ENV})")
    password = _password(username, command)
    workstation = default_workstation()
    audit = SignedAuditLog(database, username, os_user(), command)
    auth = AuthService(database, audit, hasher=password_hasher(), workstation=workstation,
                       directory=directory_for_command_line())
    now = now or datetime.now(timezone.utc)
    try:
        session = auth.login(username, password, now, notice_acknowledged=True, command_line=True)
    except SecondFactorRequired:
        session = auth.login(username, password, now, totp_code=_totp_code(username, command),
                             notice_acknowledged=True, command_line=True)
    user = session.user
    if user.must_change_password:
        raise UserError(f"the password of {user.username} was reset and must be changed first: sign in to the "
                        "console window once and choose a new one")
    needed = permission if isinstance(permission, tuple) else (permission,) if permission else ()
    missing = [p for p in needed if not user.may(p)]
    if missing:
        audit.append(AuditEntry(Action.LOGIN_FAILED, user.username, workstation, Outcome.DENIED,
                                details={"why": "role", "role": user.role.value,
                                         "needs": ", ".join(p.value for p in missing)}))
        raise UserError(refusal(user, command, missing))
    return SignedIn(user, audit.os_name, workstation, audit, seal_for(password) if seal_for else None)


def directory_for_command_line():
    """auth = "ldap" in the machine settings: the directory a command signs in with, as the window does."""
    from console.services.directory_auth import authenticator_from_settings
    from console.settings import load_settings

    return authenticator_from_settings(load_settings())


def refusal(user: User, command: str, missing) -> str:
    needs = " and ".join(f"the {p.value} permission" for p in missing)
    return f"the {user.role.value} role cannot run `rtic-console {command}`: it needs {needs}"


def unsigned_audit(database: Database, command: str) -> SignedAuditLog:
    """For the few commands that run without a console account (the first administrator): the OS account, still."""
    return SignedAuditLog(database, None, os_user(), command)


def _password(username: str, command: str) -> str:
    path = os.environ.get(PASSWORD_FILE_ENV, "").strip()
    if path:
        return read_password_file(Path(path))
    if not sys.stdin.isatty():
        raise UserError(f"`rtic-console {command}` signs in as {username}, but there is no terminal to type the "
                        f"password: name a password file (mode 0600) in {PASSWORD_FILE_ENV}")
    password = getpass.getpass(f"Password for {username}: ")
    if not password:
        raise UserError("no password given: nothing was done")
    return password


def read_password_file(path: Path) -> str:
    """The first line of a password file that only its owner (the user running this) can read."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise UserError(f"cannot read the password file {path} ({PASSWORD_FILE_ENV}): "
                        f"{exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"the password file {path} ({PASSWORD_FILE_ENV}) is not a regular file")
    if info.st_mode & 0o077:
        raise UserError(f"the password file {path} can be read by other users (mode {stat.S_IMODE(info.st_mode):04o}):"
                        f" make it yours alone with `chmod 600 {path}`")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise UserError(f"the password file {path} belongs to another user: use a file of your own (mode 0600)")
    if info.st_size > MAX_PASSWORD_FILE_BYTES:
        raise UserError(f"the password file {path} is too large to hold a password")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the password file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise UserError(f"the password file {path} is empty: put the password on its first line")
    return password


def _totp_code(username: str, command: str) -> str:
    code = os.environ.get(TOTP_ENV, "").strip()
    if code:
        return code
    if not sys.stdin.isatty():
        raise UserError(f"the account {username} has a second factor and there is no terminal to type its code: "
                        f"put the current 6-digit code in {TOTP_ENV} to run `rtic-console {command}` from a script")
    code = input("Code from the authenticator app: ").strip()
    if not code:
        raise UserError("no authenticator code given: nothing was done")
    return code

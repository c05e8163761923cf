"""Logging in and out: the use notice, passwords, the TOTP second factor, lockout, disuse and the idle lock.

Rules (times come in as `now`, so tests control them): 5 failed logins within 15 minutes lock the account
until an administrator unlocks it; an account unused for 90 days is disabled at its next login attempt (and
by `AccountService.disable_disused`); the use notice must be acknowledged before anything is checked.
Every outcome is an audit event written in the same transaction as the change it records (fail closed). What a
sign-in writes goes to the sign-in table only (console/store/users.py), which the consoles' database role may write.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import HashingError, InvalidHashError, VerificationError
from argon2.low_level import hash_secret_raw

from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.users import (
    FAILED_LOGIN_WINDOW,
    MAX_FAILED_LOGINS,
    IdlePolicy,
    LockReason,
    User,
    check_password,
    is_disused,
    should_lock_out,
)
from console.errors import UserError
from console.services.accounts import AuditedService
from console.store import users as repo
from console.store.audit import AuditLog
from console.store.db import Database
from console.store.secrets import ContactCipher, UnreadableRecord
from console.store.transactions import Connection, audited_transaction

WRONG_CREDENTIALS = "wrong username or password"


class LoginFailed(UserError):
    """The login was refused; the message says what the person can do about it."""


class NoticeNotAcknowledged(LoginFailed):
    pass


class SecondFactorRequired(LoginFailed):
    """The password was right and the account has TOTP: ask for the code and try again."""


@dataclass(frozen=True)
class Session:
    """A logged-in user at one workstation."""

    user: User
    workstation: str
    started_at: datetime


class AuthService(AuditedService):
    def __init__(self, database: Database, audit: AuditLog, cipher: ContactCipher | None = None,
                 hasher: PasswordHasher | None = None, workstation: str | None = None,
                 idle_policy: IdlePolicy = IdlePolicy(), directory=None):
        super().__init__(database, audit, cipher, workstation)
        self.hasher = hasher or PasswordHasher()
        self.idle_policy = idle_policy
        self._dummy: str | None = None
        # auth = "ldap": a DirectoryAuthenticator (console/services/directory_auth.py); None: local accounts only.
        self.directory = directory

    @property
    def _dummy_hash(self) -> str:
        # Verified against when the username is unknown, so a wrong name takes as long as a wrong password.
        # Made on first need: a production hash takes about half a second.
        if self._dummy is None:
            self._dummy = self.hasher.hash("not a real password, only for timing")
        return self._dummy

    # --- login ----------------------------------------------------------------------------------

    def login(self, username: str, password: str, now: datetime, totp_code: str | None = None,
              notice_acknowledged: bool = False, command_line: bool = False) -> Session:
        """A session for the user, or LoginFailed (or AuditUnavailable) saying why not.

        `command_line`: a `rtic-console` subcommand signs in (console/cli/signin.py): the same checks and
        lockout, but no use notice is shown, and the login event says so."""
        if not notice_acknowledged:
            raise NoticeNotAcknowledged("read and acknowledge the use notice before logging in")
        username = (username or "").strip()
        if self.directory is not None:
            from console.services.directory_login import directory_login

            session = directory_login(self, username, password, now, totp_code, command_line=command_line)
            if session is not None:
                return session  # None: a local break-glass administrator, checked below as always
        with audited_transaction(self.database) as conn:
            user = repo.get_user(conn, username) if username else None
            problem = self._check(conn, user, username, password, now, totp_code)
            if problem is None:
                self._succeed(conn, user, now, second_factor=user.totp_enabled, command_line=command_line)
                return Session(repo.get_user_by_id(conn, user.id), self.workstation, now)
        raise problem  # raised after the commit, so the failure and its audit event are kept

    def unlock_screen(self, session: Session, password: str, now: datetime, totp_code: str | None = None) -> Session:
        """Resume a session after the idle lock: the same checks as a login, counted against the same lockout."""
        if self.directory is not None and session.user.source == "directory":
            from console.services.directory_login import directory_login

            return directory_login(self, session.user.username, password, now, totp_code, resumed=session)
        with audited_transaction(self.database) as conn:
            user = repo.get_user(conn, session.user.username)
            problem = self._check(conn, user, session.user.username, password, now, totp_code)
            if problem is None:
                self._succeed(conn, user, now, second_factor=user.totp_enabled, resumed=True)
                return Session(repo.get_user_by_id(conn, user.id), session.workstation, session.started_at)
        raise problem

    def change_password(self, session: Session, old: str, new: str, now: datetime) -> None:
        try:
            check_password(new)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if new == old:
            raise UserError("the new password must differ from the old one")
        new_hash = self.hasher.hash(new)
        with audited_transaction(self.database) as conn:
            changed = repo.set_own_password(conn, session.user.username, self._digest(conn, session.user.username, old),
                                            new_hash, now, self.workstation)
            if changed:
                self._audit(conn, session.user.username, Action.USER_CHANGE, Outcome.OK,
                            {"change": "password_changed", "user": session.user.username})
            else:
                self._audit(conn, session.user.username, Action.USER_CHANGE, Outcome.DENIED,
                            {"change": "password_change_refused", "user": session.user.username,
                             "why": "wrong_password"})
        if not changed:  # raised after the commit: the failed login it counts and its audit event are kept
            raise UserError("the current password is wrong: the password was not changed")

    def logout(self, session: Session, now: datetime) -> None:
        self.audit.append(AuditEntry(Action.LOGOUT, session.user.username, session.workstation,
                                     details={"minutes": _minutes(now - session.started_at)}))

    def idle_lock(self, session: Session, last_activity: datetime, now: datetime) -> None:
        """Record that the screen locked after `last_activity`; the GUI calls this when the policy says so."""
        self.audit.append(AuditEntry(Action.IDLE_LOCK, session.user.username, session.workstation,
                                     details={"idle_minutes": _minutes(now - last_activity),
                                              "policy_minutes": self.idle_policy.minutes}))

    def directory_recheck(self, session: Session, now: datetime) -> str | None:
        """auth = "ldap": the sentence to show when the open session must lock because its directory account was
        disabled, expired, removed or moved out of its groups (audited); None otherwise. The GUI's idle check calls
        it every `recheck_minutes` (off the GUI thread: it asks the directory)."""
        from console.services.directory_login import recheck

        return recheck(self, session, now)

    @property
    def recheck_minutes(self) -> int | None:
        """How often directory_recheck should run, or None when there is nothing to re-check."""
        return self.directory.recheck_minutes if self.directory is not None and self.directory.can_recheck else None

    # --- the checks -----------------------------------------------------------------------------

    def _check(self, conn: Connection, user: User | None, username: str, password: str, now: datetime,
               totp_code: str | None) -> LoginFailed | None:
        """None when the login may go ahead; otherwise the failure, already recorded."""
        if user is None:
            self._verify(self._dummy_hash, password)
            return self._fail(conn, username or "(empty)", now, "unknown_user", WRONG_CREDENTIALS)
        if user.is_disabled:
            return self._fail(conn, username, now, "disabled",
                              "this account is disabled: ask an administrator to enable it", count=False)
        if user.is_locked:
            why = ("after too many failed logins" if user.lock_reason is LockReason.FAILED_LOGINS
                   else "by an administrator")
            return self._fail(conn, username, now, "locked",
                              f"this account is locked {why}: ask an administrator to unlock it", count=False)
        if is_disused(user, now):
            repo.disable_unused_at_sign_in(conn, user.id, now)
            self._audit(conn, "system", Action.USER_CHANGE, Outcome.OK,
                        {"change": "disabled", "user": username, "why": "unused for 90 days"})
            return self._fail(conn, username, now, "disused",
                              "this account was not used for 90 days and is now disabled: "
                              "ask an administrator to enable it", count=False)
        if not self._password_ok(conn, username, password, now):
            return self._fail(conn, username, now, "wrong_password", WRONG_CREDENTIALS, user=user, recorded=True)
        if user.totp_enabled:
            if not (totp_code or "").strip():
                # Not a failure: the password was right, the dialog now asks for the code.
                return SecondFactorRequired("enter the 6-digit code from your authenticator app")
            if not self._totp_ok(conn, user, totp_code.strip(), now):
                return self._fail(conn, username, now, "wrong_code",
                                  "wrong or already used authenticator code: wait for the next code and try again",
                                  user=user)
        return None

    def _password_ok(self, conn: Connection, username: str, password: str, now: datetime) -> bool:
        """Whether `password` is the account's; when not, the failed login is already recorded.

        The stored hash never reaches the console: the database gives its parameters and salt, the digest of the typed
        password is computed here, and the database says whether it matches (console/store/users.py)."""
        verifier = repo.password_verifier(conn, username)
        digest = None if verifier is None else _digest(verifier, password)
        if not repo.password_matches(conn, username, digest, now, self.workstation):
            return False
        user = repo.get_user(conn, username)
        # A temporary password from a reset is not rehashed: storing it as the user's own would end the required change.
        if self.hasher.check_needs_rehash(_stand_in(verifier)) and not user.must_change_password:
            repo.set_own_password(conn, username, digest, self.hasher.hash(password), now, self.workstation)
        return True

    def _digest(self, conn: Connection, username: str, password: str) -> str | None:
        verifier = repo.password_verifier(conn, username)
        return None if verifier is None else _digest(verifier, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            return False

    def _totp_ok(self, conn: Connection, user: User, code: str, now: datetime) -> bool:
        blob, last_step = repo.totp_secret_ciphertext(conn, user.id)
        try:
            totp = pyotp.TOTP(self.cipher.decrypt(blob, b"totp")["secret"])
        except UnreadableRecord:
            raise UnreadableRecord(f"the second factor of {user.username} cannot be read with this workstation's "
                                   f"contact key {self.cipher.key_id}: see `rtic-console key status`") from None
        step_now = int(now.timestamp()) // totp.interval
        # One step either side allows for a workstation clock a little off; a used step is never accepted again.
        for step in (step_now - 1, step_now, step_now + 1):
            if (last_step is None or step > last_step) and totp.at(step * totp.interval) == code:
                return repo.set_totp_last_step(conn, user.id, step)  # refused by the database for a replay
        return False

    def _fail(self, conn: Connection, username: str, now: datetime, why: str, message: str,
              count: bool = True, user: User | None = None, recorded: bool = False) -> LoginFailed:
        """`recorded`: the failed login is already counted (a wrong password: `_password_ok`)."""
        name = username[:64]
        self._audit(conn, name, Action.LOGIN_FAILED, Outcome.DENIED, {"why": why})
        if not count:
            return LoginFailed(message)
        if not recorded:
            repo.record_failure(conn, name, now, self.workstation)
        if user is not None and should_lock_out(repo.failures_since(conn, name, now - FAILED_LOGIN_WINDOW), now):
            repo.lock(conn, user.id, LockReason.FAILED_LOGINS, now)
            self._audit(conn, name, Action.LOCKOUT, Outcome.DENIED,
                        {"failures": MAX_FAILED_LOGINS, "window_minutes": _minutes(FAILED_LOGIN_WINDOW)})
            return LoginFailed(f"{message}. After {MAX_FAILED_LOGINS} failed logins this account is locked: "
                               "ask an administrator to unlock it")
        return LoginFailed(message)

    def _succeed(self, conn: Connection, user: User, now: datetime, second_factor: bool,
                 resumed: bool = False, command_line: bool = False, extra: dict | None = None) -> None:
        if not repo.record_login(conn, user.id, now):  # PostgreSQL: no password matched in this transaction
            raise LoginFailed(WRONG_CREDENTIALS)  # rolled back with the transaction: nothing recorded as a sign-in
        details = {"role": user.role.value, "second_factor": second_factor,
                   "notice": "not shown (command line)" if command_line else "acknowledged", **(extra or {})}
        if user.break_glass:
            details["break_glass"] = True
        if command_line:
            details["via"] = "command line"
        if resumed:
            details["resumed"] = True
        self._audit(conn, user.username, Action.LOGIN, Outcome.OK, details)

    def _audit(self, conn: Connection, username: str, action: str, outcome: str, details: dict) -> None:
        self.audit.append(AuditEntry(action=action, username=username, workstation=self.workstation,
                                     outcome=outcome, details=details), conn=conn)


# Bounds on what the database may ask a sign-in to compute (a damaged or hostile verifier must not exhaust memory).
_MAX_MEMORY_KIB, _MAX_TIME, _MAX_LANES, _MAX_DIGEST, _MAX_SALT = 4 * 1024 * 1024, 64, 64, 256, 256
_TYPES = {"argon2id": Type.ID, "argon2i": Type.I, "argon2d": Type.D}


def _unb64(value: str) -> bytes:
    return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)


def _digest(verifier: tuple[str, int], password: str) -> str | None:
    """The base64 (unpadded) argon2 digest of `password` with the verifier's parameters and salt, as argon2-cffi
    encodes it in a hash; None when the verifier is not one this console can compute with."""
    params, digest_chars = verifier
    try:
        _, kind, version, costs, salt = params.split("$")
        values = dict(part.split("=", 1) for part in costs.split(","))
        memory, time, lanes = int(values["m"]), int(values["t"]), int(values["p"])
        salt_bytes, length = _unb64(salt), digest_chars * 3 // 4
        if not (kind in _TYPES and version.startswith("v=") and 0 < memory <= _MAX_MEMORY_KIB
                and 0 < time <= _MAX_TIME and 0 < lanes <= _MAX_LANES and 4 <= length <= _MAX_DIGEST
                and 8 <= len(salt_bytes) <= _MAX_SALT):
            return None
        raw = hash_secret_raw((password or "").encode(), salt_bytes, time_cost=time, memory_cost=memory,
                              parallelism=lanes, hash_len=length, type=_TYPES[kind], version=int(version[2:]))
    except (ValueError, KeyError, HashingError):
        return None
    return base64.b64encode(raw).decode().rstrip("=")


def _stand_in(verifier: tuple[str, int]) -> str:
    """An encoded hash with the verifier's parameters and salt and a dummy digest of the right length: enough for
    `PasswordHasher.check_needs_rehash`, which looks at the parameters only."""
    return f"{verifier[0]}${'A' * verifier[1]}"


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)

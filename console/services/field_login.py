"""Signing in on a field laptop with no connection: against the account sealed in the field copy.

The field copy is sealed to its user's password (console/services/field_copy_file.py): the password given here first
unwraps the copy's key (argon2id), and only then is the copy opened. A wrong password that does not open it counts
towards the lockout like any other failure. The opened copy (console/services/field_copy.py) holds the one account it
was made for: no password hash (the sealed copy
itself is the password's verifier), its TOTP secret (still encrypted with the contact key), its role and its locked/disabled state as they were when
the copy was made. The offline sign-in makes the same checks as `AuthService.login` (use notice, password, TOTP with
its replay guard, lockout after repeated failures, disuse) on that account, and more:

- only the account the copy was made for can sign in: another user name is refused;
- a copy older than `max_age` (setting `field_copy_max_age_days`, 7 days) is refused: an account locked or disabled
  since then would otherwise still open the laptop;
- every outcome (LOGIN, LOGIN_FAILED, LOCKOUT) goes to the local audit journal, which is written into the hash chain
  when the database answers again. If the journal cannot be written, nobody signs in (fail closed).

A directory account (auth = "ldap") signs in offline the same way: its console row holds no password (the directory
has it), so the password is checked by the sealed copy itself: its key is argon2id of the password the user signed in
with online when the copy was made, and the copy opens only with it (`_password_ok`). The copy's age limit bounds how
long a password changed, or an account disabled, in the directory still opens the laptop.

Failed logins, a lockout and the last TOTP step are counted in a small store of the account's own, in memory (the
opened copy itself may be read-only): they hold for as long as the console runs, not across restarts (the sealed
file is not rewritten offline).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from argon2 import PasswordHasher

from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.users import FAILED_LOGIN_WINDOW, MAX_FAILED_LOGINS, IdlePolicy, should_lock_out
from console.errors import UserError
from console.services.auth import WRONG_CREDENTIALS, AuthService, LoginFailed, NoticeNotAcknowledged, Session
from console.services.field_copy import FieldCopy, FieldRegistry
from console.services.field_copy_file import FieldSeal, WrongPassword
from console.services.resilience import ResilientAudit
from console.store import users as repo
from console.store.secrets import ContactCipher
from console.store.transactions import transaction

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = timedelta(days=7)


class _SinkAudit:
    """What AuthService's logout and idle lock append to: the resilient sink (the database if it is back, else the
    journal). Sign-in outcomes do not come here: FieldAuthService journals them directly."""

    def __init__(self, sink: ResilientAudit):
        self.sink = sink
        self.database = sink.audit.database

    def append(self, entry: AuditEntry, conn=None, occurred_at: datetime | None = None):
        return self.sink.append(entry)


class FieldAuthService(AuthService):
    """`login` (and `unlock_screen`) against the field copy's account; events to the local journal.

    `field` is None until a login's password has opened the sealed copy; then it is the opened registry (read-only
    when `read_only`) and `seal` the key derived from that password (in memory only)."""

    def __init__(self, copy: FieldCopy, sink: ResilientAudit, cipher: ContactCipher | None = None,
                 hasher: PasswordHasher | None = None, workstation: str | None = None,
                 idle_policy: IdlePolicy = IdlePolicy(), max_age: timedelta = DEFAULT_MAX_AGE,
                 read_only: bool = True):
        super().__init__(repo.memory_account_store(), _SinkAudit(sink), cipher, hasher, workstation, idle_policy)
        self.copy = copy
        self.header = copy.header()  # who the copy is for and when it was made: readable without the password
        self.field: FieldRegistry | None = None
        self.seal: FieldSeal | None = None
        self.sink = sink
        self.max_age = max_age
        self.read_only = read_only
        self._locked = False  # too many passwords that did not open the copy

    @property
    def username(self) -> str:
        return self.header.username

    @property
    def made_at(self) -> datetime:
        return datetime.fromisoformat(self.header.made_at)

    def login(self, username: str, password: str, now: datetime, totp_code: str | None = None,
              notice_acknowledged: bool = False) -> Session:
        if not notice_acknowledged:
            raise NoticeNotAcknowledged("read and acknowledge the use notice before logging in")
        username = (username or "").strip()
        name = username or "(empty)"
        stale = self.stale_reason(now)
        if stale is not None:
            self._journal(name, Action.LOGIN_FAILED, Outcome.DENIED, {"why": "field_copy_stale"})
            raise LoginFailed(stale)
        if username and username != self.username:
            self._verify(self._dummy_hash, password)  # as long as a wrong password takes
            self._journal(name, Action.LOGIN_FAILED, Outcome.DENIED, {"why": "not_the_field_copy_account"})
            raise LoginFailed("with no connection only the account this laptop's field copy was made for can sign "
                              "in: use that account, or connect to the network")
        if self.field is None:
            self._open(username, password, now)
        with transaction(self.database) as conn:  # the opened copy's account, in memory
            user = repo.get_user(conn, username) if username else None
            problem = self._check(conn, user, username, password, now, totp_code)
            if problem is None and user.must_change_password:
                # A reset password must be replaced, and that needs the database: refused now rather than stuck.
                problem = self._fail(conn, username, now, "must_change_password",
                                     "your password was reset and must be changed, which needs a connection to "
                                     "the database: sign in once while connected", count=False)
            if problem is None:
                self._succeed(conn, user, now, second_factor=user.totp_enabled)
                return Session(repo.get_user_by_id(conn, user.id), self.workstation, now)
        raise problem

    def _open(self, username: str, password: str, now: datetime) -> None:
        """Unwrap and open the copy with this password, or count the failure (LoginFailed, journaled)."""
        name = username or "(empty)"
        if self._locked:
            self._journal(name, Action.LOGIN_FAILED, Outcome.DENIED, {"why": "locked"})
            raise LoginFailed("this account is locked after too many failed logins: connect to the network and ask "
                              "an administrator to unlock it")
        try:
            self.seal = self.copy.unlock(password)
        except WrongPassword:
            with transaction(self.database) as conn:
                repo.record_failure(conn, name, now, self.workstation)
                failures = repo.failures_since(conn, name, now - FAILED_LOGIN_WINDOW)
            self._journal(name, Action.LOGIN_FAILED, Outcome.DENIED, {"why": "wrong_password"})
            if username and should_lock_out(failures, now):
                self._locked = True
                self._journal(name, Action.LOCKOUT, Outcome.DENIED,
                              {"failures": MAX_FAILED_LOGINS, "window_minutes": int(FAILED_LOGIN_WINDOW.seconds / 60)})
                raise LoginFailed(f"wrong username or password. After {MAX_FAILED_LOGINS} failed logins this account "
                                  "is locked: ask an administrator to unlock it") from None
            raise LoginFailed(WRONG_CREDENTIALS) from None
        self.field = self.copy.open(self.seal, self.cipher, read_only=self.read_only)
        repo.copy_accounts(self.field.database, self.database)

    def _password_ok(self, conn, username: str, password: str, now: datetime) -> bool:
        """The check is the sealed copy itself, for every account: its key is derived from the password the user
        signed in with online when the copy was made (argon2id), and it opens (AES-GCM) only with it: the verifier of
        the last online sign-in, as old as the copy (field_copy_max_age_days). The copy holds no password hash (a
        directory account has none, and a local account's is never read by a console: migration 0013). A password
        that does not open it is recorded as a failed login."""
        try:
            self.copy.unlock(password or "")
        except WrongPassword:
            repo.record_failure(conn, username, now, self.workstation)
            return False
        return True

    def change_password(self, session: Session, old: str, new: str, now: datetime) -> None:
        raise UserError("the password cannot be changed with no connection: change it when the database answers")

    def stale_reason(self, now: datetime) -> str | None:
        """Why the copy is too old to sign in with, or None when it may be used."""
        made = self.made_at
        if now - made <= self.max_age:
            return None
        days = self.max_age.days if self.max_age.days else round(self.max_age.total_seconds() / 86400, 2)
        return (f"the field copy on this laptop was made {made.astimezone():%d %b %Y %H:%M}, more than {days} days "
                "ago: it cannot be used to sign in. Connect to the network and start the console (or run "
                "`rtic-console field sync`) to make a fresh copy")

    def _audit(self, conn, username: str, action: str, outcome: str, details: dict) -> None:
        self._journal(username, action, outcome, details)

    def _journal(self, username: str, action: str, outcome: str, details: dict) -> None:
        details = {**details, "offline": True, "data_as_of": self.header.made_at}
        self.sink.journal_only(AuditEntry(action=action, username=username[:64], workstation=self.workstation,
                                          outcome=outcome, details=details))


class SealingAuth:
    """The online AuthService, as the window's sign-in uses it, that also keeps what the field copy needs from the
    password: the FieldSeal a fresh copy is sealed with (`seal`, for the keeper and `field sync`), and this user's
    existing copy opened (`opened`, or None). The password itself is not kept; everything else is the AuthService's."""

    def __init__(self, auth: AuthService, copy: FieldCopy, cipher: ContactCipher | None = None):
        self._auth, self._copy, self._cipher = auth, copy, cipher
        self.seal: FieldSeal | None = None
        self.opened: FieldRegistry | None = None

    def login(self, username: str, password: str, now: datetime, totp_code: str | None = None,
              notice_acknowledged: bool = False) -> Session:
        session = self._auth.login(username, password, now, totp_code, notice_acknowledged)
        self._keep(session.user.username, password)
        return session

    def change_password(self, session: Session, old: str, new: str, now: datetime) -> None:
        self._auth.change_password(session, old, new, now)
        self.seal = self._copy.seal_for(new)  # the next copy opens with the new password

    def _keep(self, username: str, password: str) -> None:
        self.seal = self._copy.seal_for(password)
        if self.opened is None and self._copy.path.exists():
            try:
                if self._copy.header().username == username:
                    self.opened = self._copy.open(password, self._cipher)
            except UserError as exc:  # another user's, damaged, or sealed to an older password: made again
                log.warning("field copy not used: %s", exc)

    def __getattr__(self, name: str):
        return getattr(self._auth, name)

"""Signing in on a field laptop with no connection: against the account sealed in the field copy.

The field copy (console/services/field_copy.py) holds the one account it was made for: its password hash (argon2id)
and its TOTP secret (still encrypted with the contact key), its role and its locked/disabled state as they were when
the copy was made. The offline sign-in makes the same checks as `AuthService.login` (use notice, password, TOTP with
its replay guard, lockout after repeated failures, disuse) on that account, and more:

- only the account the copy was made for can sign in: another user name is refused;
- a copy older than `max_age` (setting `field_copy_max_age_days`, 7 days) is refused: an account locked or disabled
  since then would otherwise still open the laptop;
- every outcome (LOGIN, LOGIN_FAILED, LOCKOUT) goes to the local audit journal, which is written into the hash chain
  when the database answers again. If the journal cannot be written, nobody signs in (fail closed).

Failed logins, a lockout and the last TOTP step are counted in a small store of the account's own, in memory (the
opened copy itself may be read-only): they hold for as long as the console runs, not across restarts (the sealed
file is not rewritten offline).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.users import IdlePolicy
from console.errors import UserError
from console.services.auth import AuthService, LoginFailed, NoticeNotAcknowledged, Session
from console.services.field_copy import FieldRegistry
from console.services.resilience import ResilientAudit
from console.store import users as repo
from console.store.db import Database
from console.store.secrets import ContactCipher

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
    """`login` (and `unlock_screen`) against the field copy's account; events to the local journal."""

    def __init__(self, field: FieldRegistry, sink: ResilientAudit, cipher: ContactCipher | None = None,
                 hasher: PasswordHasher | None = None, workstation: str | None = None,
                 idle_policy: IdlePolicy = IdlePolicy(), max_age: timedelta = DEFAULT_MAX_AGE):
        super().__init__(_account_store(field.database), _SinkAudit(sink), cipher, hasher, workstation, idle_policy)
        self.field = field
        self.sink = sink
        self.max_age = max_age

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
        if username and username != self.field.username:
            self._verify(self._dummy_hash, password)  # as long as a wrong password takes
            self._journal(name, Action.LOGIN_FAILED, Outcome.DENIED, {"why": "not_the_field_copy_account"})
            raise LoginFailed("with no connection only the account this laptop's field copy was made for can sign "
                              "in: use that account, or connect to the network")
        with self.database.engine.begin() as conn:  # the opened copy, in memory
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

    def change_password(self, session: Session, old: str, new: str, now: datetime) -> None:
        raise UserError("the password cannot be changed with no connection: change it when the database answers")

    def stale_reason(self, now: datetime) -> str | None:
        """Why the copy is too old to sign in with, or None when it may be used."""
        made = self.field.made_at
        if now - made <= self.max_age:
            return None
        days = self.max_age.days if self.max_age.days else round(self.max_age.total_seconds() / 86400, 2)
        return (f"the field copy on this laptop was made {made.astimezone():%d %b %Y %H:%M}, more than {days} days "
                "ago: it cannot be used to sign in. Connect to the network and start the console (or run "
                "`rtic-console field sync`) to make a fresh copy")

    def _audit(self, conn, username: str, action: str, outcome: str, details: dict) -> None:
        self._journal(username, action, outcome, details)

    def _journal(self, username: str, action: str, outcome: str, details: dict) -> None:
        details = {**details, "offline": True, "data_as_of": self.field.info.made_at}
        self.sink.journal_only(AuditEntry(action=action, username=username[:64], workstation=self.workstation,
                                          outcome=outcome, details=details))


def _account_store(copy: Database) -> Database:
    """The copy's account (and its failed logins) in a database of its own, in memory, that the sign-in may write."""
    from console.store.models import Base

    memory = sqlite3.connect(":memory:", check_same_thread=False)
    engine = create_engine("sqlite://", creator=lambda: memory, poolclass=StaticPool)
    Base.metadata.create_all(engine, tables=[repo.users, repo.sign_ins, repo.failures])
    with copy.engine.connect() as read, engine.begin() as write:
        for table in (repo.users, repo.sign_ins):
            rows = [row._asdict() for row in read.execute(select(table))]
            if rows:
                write.execute(table.insert(), rows)
    return Database(engine=engine, url="sqlite://")

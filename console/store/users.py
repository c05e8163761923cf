"""User accounts, their sign-in state and failed logins: reads and writes on a SQLAlchemy Connection, in domain types.

An account is two rows: `users` (what an administrator decides: name, role, the password they set, an
administrator's lock, disablement, the TOTP secret) and `sign_ins` (what signing in writes: the last sign-in, a lock
after too many failures, disuse found at a sign-in, the last TOTP step, a password the user chose). On PostgreSQL the
consoles' role may write only the second (`db grant`); the functions below say which row each one writes. A `User`
is both rows joined; the encrypted TOTP secret is returned only by the function named for it, so a `User` (which
ends up in views and logs) never carries it.

Password hashes are never read by a console (migration 0013): a sign-in asks for the stored hash's parameters and
salt (`password_verifier`), computes the argon2 digest of the typed password itself, and asks whether it matches
(`password_matches`, which records a mismatch as a failed login); the user's own change needs the digest of the
password in force (`set_own_password`). On PostgreSQL these run as the owner's functions, since the consoles' role may
neither read nor write either password_hash column; on SQLite (one user's file) the same functions do it here.

From migration 0015 the database also decides what a sign-in may write about failures: a console only adds failed
logins (`record_failure`); clearing them with the last sign-in (`record_login`), the lock after too many
(`lock_after_failures`) and the TOTP step (`set_totp_last_step`, forward only) run as the owner's functions, which
need the password matched in the same transaction (for a local account) and refuse a locked account's password.
"""

from __future__ import annotations

import hmac
import re
import sqlite3
from datetime import datetime

from sqlalchemy import create_engine, delete, func, insert, inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool

from console.domain.users import FAILED_LOGIN_WINDOW, LockReason, Role, User, should_lock_out
from console.store.db import Database
from console.store.models import Base, LoginFailureRow, SignInRow, UserRow, ViewSessionRow

users = UserRow.__table__
sign_ins = SignInRow.__table__
failures = LoginFailureRow.__table__
view_sessions = ViewSessionRow.__table__  # console/store/views.py reads and writes it

ACCOUNT_COLUMNS = [c for c in users.c if c.name != "password_hash"]  # what the consoles' role may read
_JOINED = (select(*ACCOUNT_COLUMNS, sign_ins.c.last_login_at.label("s_last_login_at"),
                  sign_ins.c.locked_at.label("s_locked_at"), sign_ins.c.disabled_at.label("s_disabled_at"))
           .select_from(users.outerjoin(sign_ins, sign_ins.c.user_id == users.c.id)))


def _latest(*times):
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _user(row) -> User:
    if row.locked_at is not None:  # an administrator's lock (or one from before sign_ins) comes first
        locked_at, reason = row.locked_at, LockReason(row.lock_reason) if row.lock_reason else LockReason.ADMIN
    elif row.s_locked_at is not None:
        locked_at, reason = row.s_locked_at, LockReason.FAILED_LOGINS
    else:
        locked_at, reason = None, None
    return User(
        id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role),
        created_at=row.created_at, last_login_at=_latest(row.last_login_at, row.s_last_login_at),
        locked_at=locked_at, lock_reason=reason, disabled_at=row.disabled_at or row.s_disabled_at,
        reenabled_at=row.reenabled_at, totp_enabled=row.totp_secret_ciphertext is not None,
        must_change_password=row.must_change_password,  # a password of the user's own clears it (set_own_password)
        source=row.source or "local", break_glass=bool(row.break_glass),
    )


# --- the accounts table (administrators; the tables' owner on PostgreSQL) --------------------------------------

def add_user(conn: Connection, username: str, display_name: str, role: Role, password_hash: str,
             now: datetime, must_change_password: bool = False) -> int:
    user_id = conn.execute(
        insert(users).values(username=username, display_name=display_name, role=role.value,
                             password_hash=password_hash, must_change_password=must_change_password,
                             created_at=now).returning(users.c.id)
    ).scalar_one()
    conn.execute(insert(sign_ins).values(user_id=user_id))
    return user_id


def get_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(_JOINED.where(users.c.username == username)).first()
    return None if row is None else _user(row)


def get_user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(_JOINED.where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(_JOINED.order_by(users.c.username))]


def count_users(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(users)).scalar_one()


def _hash_in_force(conn: Connection, username: str) -> str | None:
    """The password in force: the one the user chose, else the one an administrator set. SQLite only: on PostgreSQL
    the consoles' role cannot read it, and the functions of migration 0013 do this."""
    row = conn.execute(select(users.c.password_hash, sign_ins.c.password_hash.label("own"))
                       .select_from(users.outerjoin(sign_ins, sign_ins.c.user_id == users.c.id))
                       .where(users.c.username == username)).first()
    return None if row is None else row.own or row.password_hash


def password_verifier(conn: Connection, username: str) -> tuple[str, int] | None:
    """(the encoded argon2 hash in force without its digest: algorithm, version, parameters and salt; the digest's
    length in base64 characters), or None for an unknown account or one with no local password."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(text("SELECT out_params, out_digest_length FROM rtic_password_verifier(:u)"),
                           {"u": username}).first()
        return None if row is None else (row.out_params, row.out_digest_length)
    stored = _hash_in_force(conn, username)
    if stored is None or not _ARGON2.match(stored):
        return None
    params, _, digest = stored.rpartition("$")
    return params, len(digest)


def password_matches(conn: Connection, username: str, digest: str | None, now: datetime, workstation: str) -> bool:
    """Whether `digest` (base64 argon2 output of the typed password with the verifier's parameters) is the stored
    one; when not (or `digest` is None), the failed login is recorded here, towards the lockout."""
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(text("SELECT rtic_password_matches(:u, :d, :now, :w)"),
                                 {"u": username, "d": digest, "now": now, "w": workstation}).scalar_one())
    stored = _hash_in_force(conn, username)
    ok = (stored is not None and digest is not None and _ARGON2.match(stored) is not None
          and hmac.compare_digest(stored.rpartition("$")[2].encode(), digest.encode()))
    if not ok:
        record_failure(conn, username, now, workstation)
    return ok


def set_own_password(conn: Connection, username: str, old_digest: str | None, new_hash: str, now: datetime,
                     workstation: str) -> bool:
    """The user's own new password (or a rehash of the one in force), given the digest of the password in force;
    this also ends a required change. False (and a failed login recorded) when `old_digest` is not that password's,
    or the account has no local password."""
    if not _ARGON2ID.match(new_hash) or len(new_hash) > 200:
        raise ValueError("not an argon2id password hash")
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(text("SELECT rtic_set_own_password(:u, :d, :h, :now, :w)"),
                                 {"u": username, "d": old_digest, "h": new_hash, "now": now,
                                  "w": workstation}).scalar_one())
    if not password_matches(conn, username, old_digest, now, workstation):
        return False
    row = conn.execute(select(users.c.id, users.c.source).where(users.c.username == username)).one()
    if (row.source or "local") != "local":
        return False
    _sign_in_update(conn, row.id, password_hash=new_hash)
    conn.execute(update(users).where(users.c.id == row.id).values(must_change_password=False))
    return True


_ARGON2 = re.compile(r"^\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")
_ARGON2ID = re.compile(r"^\$argon2id\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def set_password_hash(conn: Connection, user_id: int, hashed: str, must_change: bool) -> None:
    """An administrator sets the password (a reset, a demo account): any password the user chose is dropped."""
    conn.execute(update(users).where(users.c.id == user_id)
                 .values(password_hash=hashed, must_change_password=must_change))
    _sign_in_update(conn, user_id, password_hash=None)


def totp_secret_ciphertext(conn: Connection, user_id: int) -> tuple[bytes | None, int | None]:
    """(encrypted TOTP secret, last accepted time step)."""
    row = conn.execute(select(users.c.totp_secret_ciphertext, users.c.totp_last_step,
                              sign_ins.c.totp_last_step.label("s_step"))
                       .select_from(users.outerjoin(sign_ins, sign_ins.c.user_id == users.c.id))
                       .where(users.c.id == user_id)).one()
    steps = [s for s in (row.totp_last_step, row.s_step) if s is not None]
    return row.totp_secret_ciphertext, max(steps) if steps else None


def set_totp(conn: Connection, user_id: int, ciphertext: bytes | None) -> None:
    conn.execute(update(users).where(users.c.id == user_id)
                 .values(totp_secret_ciphertext=ciphertext, totp_last_step=None))
    _sign_in_update(conn, user_id, totp_last_step=None)


def set_role(conn: Connection, user_id: int, role: Role) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(role=role.value))


def lock(conn: Connection, user_id: int, reason: LockReason, now: datetime) -> None:
    """An administrator's lock goes on the account; a lock after failed sign-ins is the sign-in path's own."""
    if reason is LockReason.FAILED_LOGINS:
        lock_after_failures(conn, user_id, now)
    else:
        conn.execute(update(users).where(users.c.id == user_id).values(locked_at=now, lock_reason=reason.value))


def unlock(conn: Connection, user_id: int, now: datetime) -> None:
    """Clear every lock and the disuse state; the failed-login count and the disuse clock start again."""
    username = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar_one()
    conn.execute(update(users).where(users.c.id == user_id)
                 .values(locked_at=None, lock_reason=None, disabled_at=None, reenabled_at=now))
    _sign_in_update(conn, user_id, locked_at=None, disabled_at=None)
    conn.execute(delete(failures).where(failures.c.username == username))


def disable(conn: Connection, user_id: int, now: datetime) -> None:
    """An administrator (or the daily sweep run by one) disables the account."""
    conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=now))


# --- accounts from the agency's directory (console/services/directory_auth.py) ---------------------------------

DIRECTORY_PASSWORD = "!directory"  # never a hash: such an account cannot sign in with a local password


def save_directory_user(conn: Connection, username: str, display_name: str, role: Role, dn: str,
                        now: datetime) -> tuple[int, Role | None]:
    """Create or update the console row of a directory account at its sign-in: (its id, its role before, or None
    for a new row). The caller has checked that `username` is not a local account's. On PostgreSQL this runs as the
    function rtic_save_directory_user (migration 0012), since the consoles' role may not write `users` itself."""
    if conn.dialect.name == "postgresql":
        saved = conn.execute(text("SELECT out_id, out_role FROM rtic_save_directory_user(:u, :d, :r, :dn, :now)"),
                             {"u": username, "d": display_name, "r": role.value, "dn": dn, "now": now}).one()
        return saved.out_id, Role(saved.out_role) if saved.out_role else None
    row = conn.execute(select(users.c.id, users.c.role, users.c.display_name, users.c.directory_dn)
                       .where(users.c.username == username)).first()
    if row is None:
        user_id = conn.execute(
            insert(users).values(username=username, display_name=display_name[:200], role=role.value,
                                 password_hash=DIRECTORY_PASSWORD, must_change_password=False, created_at=now,
                                 source="directory", directory_dn=dn[:500]).returning(users.c.id)).scalar_one()
        conn.execute(insert(sign_ins).values(user_id=user_id))
        return user_id, None
    if (row.role, row.display_name, row.directory_dn) != (role.value, display_name[:200], dn[:500]):
        conn.execute(update(users).where(users.c.id == row.id)
                     .values(role=role.value, display_name=display_name[:200], directory_dn=dn[:500]))
    return row.id, Role(row.role)


def set_break_glass(conn: Connection, user_id: int, marked: bool) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(break_glass=marked))


# --- what signing in writes (the consoles' role may) -----------------------------------------------------------

def _sign_in_update(conn: Connection, user_id: int, **values) -> None:
    if conn.execute(update(sign_ins).where(sign_ins.c.user_id == user_id).values(**values)).rowcount == 0:
        conn.execute(insert(sign_ins).values(user_id=user_id, **values))  # an account older than the table


def disable_unused_at_sign_in(conn: Connection, user_id: int, now: datetime) -> None:
    _sign_in_update(conn, user_id, disabled_at=now)


def set_totp_last_step(conn: Connection, user_id: int, step: int) -> bool:
    """Accept the TOTP `step`: only forward (False for a step at or before the one last accepted, a replay). On
    PostgreSQL rtic_use_totp_step (migration 0015), which for a local account also needs the password matched in this
    transaction: the consoles' role may not write sign_ins.totp_last_step itself."""
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(text("SELECT rtic_use_totp_step(:i, :s)"), {"i": user_id, "s": step}).scalar_one())
    last = totp_secret_ciphertext(conn, user_id)[1]
    if last is not None and step <= last:
        return False
    _sign_in_update(conn, user_id, totp_last_step=step)
    return True


def record_login(conn: Connection, user_id: int, now: datetime) -> bool:
    """The sign-in succeeded: note it and clear the account's failed logins. On PostgreSQL rtic_record_login (migration
    0015), which for a local account does so only after the password matched in this transaction (False otherwise):
    the consoles' role may neither delete failures nor write the sign-in columns itself."""
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(text("SELECT rtic_record_login(:i, :now)"),
                                 {"i": user_id, "now": now}).scalar_one())
    username = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar_one()
    _sign_in_update(conn, user_id, last_login_at=now)
    conn.execute(delete(failures).where(failures.c.username == username))
    return True


def lock_after_failures(conn: Connection, user_id: int, now: datetime) -> bool:
    """Lock the account after failed logins, when the failures within the window ending at `now` are enough for the
    policy (False, nothing changed, otherwise). On PostgreSQL rtic_lock_after_failures (migration 0015); a lock is
    lifted only by an administrator's `unlock`."""
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(text("SELECT rtic_lock_after_failures(:i, :now)"),
                                 {"i": user_id, "now": now}).scalar_one())
    username = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar_one()
    if not should_lock_out(failures_since(conn, username, now - FAILED_LOGIN_WINDOW), now):
        return False
    if conn.execute(select(sign_ins.c.locked_at).where(sign_ins.c.user_id == user_id)).scalar() is None:
        _sign_in_update(conn, user_id, locked_at=now)
    return True


def record_failure(conn: Connection, username: str, now: datetime, workstation: str) -> None:
    conn.execute(insert(failures).values(username=username[:64], at=now, workstation=workstation[:100]))


def failures_since(conn: Connection, username: str, since: datetime) -> list[datetime]:
    return list(conn.execute(select(failures.c.at).where(failures.c.username == username)
                             .where(failures.c.at > since).order_by(failures.c.at)).scalars())


# --- an account store of a field sign-in's own (console/services/field_login.py) ------------------------------

def memory_account_store() -> Database:
    """A database in memory holding only the accounts tables, that its holder may write: a field laptop's sign-in
    counts failed logins there, and keeps the field copy's account there once a password has opened the copy."""
    memory = sqlite3.connect(":memory:", check_same_thread=False)
    engine = create_engine("sqlite://", creator=lambda: memory, poolclass=StaticPool)
    Base.metadata.create_all(engine, tables=[users, sign_ins, failures])
    return Database(engine=engine, url="sqlite://")


def copy_accounts(source: Database, target: Database) -> None:
    """Every account (users and sign_ins rows) of `source` into `target`, in one transaction of `target`."""
    with source.engine.connect() as read, target.engine.begin() as write:
        for table in (users, sign_ins):
            if table is sign_ins and not inspect(read).has_table(table.name):
                continue  # a copy made before sign-ins had a table of their own: the account row says enough
            # A copy made before a column was added (source, break_glass: 0012) lacks it: the default fills it in.
            present = {c["name"] for c in inspect(read).get_columns(table.name)}
            rows = [row._asdict() for row in read.execute(select(*[c for c in table.c if c.name in present]))]
            if rows:
                write.execute(table.insert(), rows)

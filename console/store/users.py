"""User accounts and failed logins: reads and writes on a SQLAlchemy Connection, in domain types.

The password hash and the encrypted TOTP secret are returned only by the functions named for them, so a
`User` (which ends up in views and logs) never carries either.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from console.domain.users import LockReason, Role, User
from console.store.models import LoginFailureRow, UserRow, ViewSessionRow

users = UserRow.__table__
failures = LoginFailureRow.__table__
view_sessions = ViewSessionRow.__table__


def _user(row) -> User:
    return User(
        id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role),
        created_at=row.created_at, last_login_at=row.last_login_at, locked_at=row.locked_at,
        lock_reason=LockReason(row.lock_reason) if row.lock_reason else None, disabled_at=row.disabled_at,
        reenabled_at=row.reenabled_at,
        totp_enabled=row.totp_secret_ciphertext is not None, must_change_password=row.must_change_password,
    )


def add_user(conn: Connection, username: str, display_name: str, role: Role, password_hash: str,
             now: datetime, must_change_password: bool = False) -> int:
    return conn.execute(
        insert(users).values(username=username, display_name=display_name, role=role.value,
                             password_hash=password_hash, must_change_password=must_change_password,
                             created_at=now).returning(users.c.id)
    ).scalar_one()


def get_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    return None if row is None else _user(row)


def get_user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def count_users(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(users)).scalar_one()


def password_hash(conn: Connection, username: str) -> str | None:
    return conn.execute(select(users.c.password_hash).where(users.c.username == username)).scalar_one_or_none()


def set_password_hash(conn: Connection, user_id: int, hashed: str, must_change: bool) -> None:
    conn.execute(update(users).where(users.c.id == user_id)
                 .values(password_hash=hashed, must_change_password=must_change))


def totp_secret_ciphertext(conn: Connection, user_id: int) -> tuple[bytes | None, int | None]:
    """(encrypted TOTP secret, last accepted time step)."""
    row = conn.execute(select(users.c.totp_secret_ciphertext, users.c.totp_last_step)
                       .where(users.c.id == user_id)).one()
    return row.totp_secret_ciphertext, row.totp_last_step


def set_totp(conn: Connection, user_id: int, ciphertext: bytes | None) -> None:
    conn.execute(update(users).where(users.c.id == user_id)
                 .values(totp_secret_ciphertext=ciphertext, totp_last_step=None))


def set_totp_last_step(conn: Connection, user_id: int, step: int) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(totp_last_step=step))


def set_role(conn: Connection, user_id: int, role: Role) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(role=role.value))


def lock(conn: Connection, user_id: int, reason: LockReason, now: datetime) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(locked_at=now, lock_reason=reason.value))


def unlock(conn: Connection, user_id: int, now: datetime) -> None:
    """Clear the lock and the disuse state; the failed-login count and the disuse clock start again."""
    username = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar_one()
    conn.execute(update(users).where(users.c.id == user_id)
                 .values(locked_at=None, lock_reason=None, disabled_at=None, reenabled_at=now))
    conn.execute(delete(failures).where(failures.c.username == username))


def disable(conn: Connection, user_id: int, now: datetime) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=now))


def record_login(conn: Connection, user_id: int, now: datetime) -> None:
    username = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar_one()
    conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))
    conn.execute(delete(failures).where(failures.c.username == username))


def record_failure(conn: Connection, username: str, now: datetime, workstation: str) -> None:
    conn.execute(insert(failures).values(username=username[:64], at=now, workstation=workstation[:100]))


def failures_since(conn: Connection, username: str, since: datetime) -> list[datetime]:
    return list(conn.execute(select(failures.c.at).where(failures.c.username == username)
                             .where(failures.c.at > since).order_by(failures.c.at)).scalars())

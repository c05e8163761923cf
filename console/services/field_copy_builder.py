"""Making a field copy while online: the registry subset a user's role may see, sealed to their password, audited.

Cameras, sites, streams, grants in force or recent, the open incidents, and the one account the copy is made for (for
the offline sign-in: console/services/field_login.py). Stream credentials are copied only for roles that may view
live, owner contacts only for roles that may reveal them; both stay encrypted with the contact key as in the
database. The copy is made by the migrations (so the R*Tree is there) in a private folder, serialised, sealed
(console/services/field_copy_file.py) and replaced atomically; making one is audited with its counts.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from console.domain.audit import Action, AuditEntry, Detail
from console.domain.users import Permission, User
from console.errors import UserError
from console.services.field_copy_file import (
    FieldCopyInfo,
    FieldSeal,
    KdfParams,
    default_field_copy_path,
    sealed_bytes,
    write_sealed,
)
from console.services.viewing import RECENT_GRANTS
from console.store import field_copy as copy_store
from console.store.audit import AuditLog
from console.store.db import Database, open_database


def make_field_copy(path: Path, database: Database, user: User, now: datetime, workstation: str,
                    audit: AuditLog | None = None, *, seal: FieldSeal) -> FieldCopyInfo:
    """Copy what `user`'s role may see from `database`, seal it to `seal` (the user's password), and replace the
    copy at `path` atomically; audited."""
    if not user.is_active:
        raise UserError(f"the account {user.username} is {user.state}: no field copy is made for it")
    with tempfile.TemporaryDirectory(prefix="rtic-field-") as folder:
        staging = Path(folder) / "copy.db"
        counts = copy_registry(database, open_database(f"sqlite:///{staging}", create=True), user, now)
        plain = copy_store.serialised(staging)
    info = FieldCopyInfo(str(path), user.username, user.role.value, _iso(now), counts)
    write_sealed(path, sealed_bytes(info.__dict__, plain, seal, user.username, info.made_at))
    (audit or AuditLog(database)).append(AuditEntry(
        Action.FIELD_COPY, user.username, workstation, details={"counts": counts, "made_at": info.made_at,
                                                                Detail.FIELD: "refresh"}))
    return info


def copy_registry(source: Database, target: Database, user: User, now: datetime) -> dict:
    """Rows `user`'s role may see, from `source` into the fresh registry `target` (closed on return); the counts."""
    live, reveal = user.may(Permission.LIVE_VIEW), user.may(Permission.CONTACT_REVEAL)
    counts = copy_store.copy_rows(source, target, user_id=user.id, grants_since=now - RECENT_GRANTS,
                                  contacts=reveal, credentials=live)
    counts["owners_revealable"] = counts["owners"] if reveal else 0
    counts["streams_playable"] = live  # whether the streams' sign-in details came along
    return counts


def build_field_copy(database: Database, user: User, password: str, now: datetime, workstation: str,
                     audit: AuditLog | None = None, path: Path | str | None = None,
                     kdf: KdfParams = KdfParams()) -> FieldCopyInfo:
    """`field sync`: the copy for `user`, sealed to `password` (the one the user signed in with, already checked)."""
    path = Path(path) if path is not None else default_field_copy_path()
    return make_field_copy(path, database, user, now, workstation, audit, seal=FieldSeal.from_password(password, kdf))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()

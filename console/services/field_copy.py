"""Field laptop mode: an encrypted local copy of the registry subset a user's role may see, for when there is no
network. The nearby search, the offline live-view decision and the map work on it as on the real registry.

`FieldCopy` is the copy's file, with what is done to it; the work is in four modules, one job each:
the sealed file (console/services/field_copy_file.py: layout, version, seal, atomic replacement), making a copy
(field_copy_builder.py: what a role may see, audited), opening one (field_copy_reader.py: `FieldRegistry`) and
keeping it fresh while online (field_copy_keeper.py: `FieldCopyKeeper`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from console.domain.users import User
from console.services.field_copy_builder import build_field_copy, make_field_copy
from console.services.field_copy_file import (
    FILE_NAME,
    FieldCopyInfo,
    FieldSeal,
    Header,
    KdfParams,
    default_field_copy_path,
    read_header,
    read_sealed,
)
from console.services.field_copy_keeper import FieldCopyKeeper
from console.services.field_copy_reader import FieldRegistry, open_copy, unlock, unsealed_copy
from console.store.audit import AuditLog
from console.store.db import Database
from console.store.secrets import ContactCipher

__all__ = ["FILE_NAME", "FieldCopy", "FieldCopyInfo", "FieldCopyKeeper", "FieldRegistry", "build_field_copy",
           "default_field_copy_path"]


class FieldCopy:
    """The copy's file: `refresh` it from the database while online, `open` it as a registry while offline. Both
    need the user's FieldSeal (from the password: `seal_for` for a new copy, `unlock` for this one)."""

    def __init__(self, path: Path | str | None = None, kdf: KdfParams = KdfParams()):
        self.path = Path(path) if path is not None else default_field_copy_path()
        self.kdf = kdf

    def seal_for(self, password: str) -> FieldSeal:
        """A new wrapping key from the password (fresh salt). argon2id is slow by design: not on the GUI thread."""
        return FieldSeal.from_password(password, self.kdf)

    def unlock(self, password: str) -> FieldSeal:
        """The wrapping key of this copy from the password; WrongPassword when it does not open it."""
        return unlock(self.path, password)

    def header(self) -> Header:
        """Who the copy is for and when it was made, readable without the password."""
        return read_header(read_sealed(self.path), self.path)

    def refresh(self, database: Database, user: User, now: datetime, workstation: str,
                audit: AuditLog | None = None, *, seal: FieldSeal) -> FieldCopyInfo:
        """Copy what `user`'s role may see from `database`, seal it to `seal` (the user's password), and replace
        the copy atomically; audited."""
        return make_field_copy(self.path, database, user, now, workstation, audit, seal=seal)

    def open(self, key: str | FieldSeal, cipher: ContactCipher | None = None,
             read_only: bool = False) -> FieldRegistry:
        """The copy as a registry in memory, opened with the user's password or FieldSeal; `read_only` (a console
        started in field mode) refuses every write, so an edit cannot land in the copy (and its audit event with
        it) instead of the database. WrongPassword when the password does not open it."""
        return open_copy(self.path, key, cipher, read_only)

    def info(self, key: str | FieldSeal) -> FieldCopyInfo:
        return FieldCopyInfo(**unsealed_copy(self.path, key)[0])

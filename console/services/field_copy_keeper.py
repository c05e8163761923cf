"""Keeping a field laptop's copy in step while online (console/services/field_copy.py): made again on a thread,
handed to the services that read it, the one it replaced closed a refresh later."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from console.domain.users import User
from console.errors import UserError
from console.services.background import BackgroundLoop
from console.services.field_copy_file import FieldSeal
from console.services.field_copy_reader import FieldRegistry
from console.store.audit import AuditLog, AuditUnavailable, connection_lost
from console.store.db import Database
from console.store.secrets import ContactCipher

if TYPE_CHECKING:
    from console.services.field_copy import FieldCopy

log = logging.getLogger(__name__)


def _connection_lost(exc: BaseException) -> bool:
    """Whether a refresh failed because the database went away (a driver error saying so, or the audit event not
    written for that reason), not because it refused."""
    if isinstance(exc, AuditUnavailable):
        return exc.connection_lost
    return connection_lost(exc)


class FieldCopyKeeper(BackgroundLoop):
    """Keeps a field laptop's copy in step while online: made again for the signed-in user at start() and then every
    `interval_s`, on its own thread; skipped while the database is away and made as soon as it is back.

    Each fresh copy is opened and handed to `on_fresh` (which gives it to the services that read it). A replaced
    copy is closed one refresh later, not at once: a search or an offline view may still be reading it.
    """

    def __init__(self, copy: FieldCopy, database: Database, user: User, workstation: str, connectivity,
                 on_fresh, interval_s: float = 1800.0, audit: AuditLog | None = None,
                 cipher: ContactCipher | None = None, current: FieldRegistry | None = None, clock=None, *,
                 seal: FieldSeal):
        self.copy, self.database, self.user, self.workstation = copy, database, user, workstation
        self.seal = seal  # derived from the password at sign-in; kept only in memory, never the password itself
        self.connectivity, self.on_fresh, self.interval_s = connectivity, on_fresh, interval_s
        self.audit, self.cipher = audit, cipher
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.current = current
        self._retired: FieldRegistry | None = None
        super().__init__()
        self._due = True
        self._lost = False  # the last refresh failed because the database went away
        self._unsubscribe = None

    def refresh_now(self) -> FieldRegistry | None:
        """Make, open and hand over a fresh copy; None (logged) when offline or when it failed."""
        if not self.connectivity.online:
            return None
        try:
            self.copy.refresh(self.database, self.user, self.clock(), self.workstation, self.audit, seal=self.seal)
            fresh = self.copy.open(self.seal, self.cipher)
        except Exception as exc:  # the database gone mid-copy, a full disk: the old copy stays in use
            self._lost = _connection_lost(exc)
            log.warning("field copy not refreshed: %s", exc, exc_info=not isinstance(exc, UserError))
            return None
        self._lost = False
        try:
            self.on_fresh(fresh)
        except Exception:
            log.exception("field copy: handing over the fresh copy failed")
            fresh.close()
            return None
        if self._retired is not None:
            self._retired.close()
        self._retired, self.current = self.current, fresh
        log.info("field copy refreshed for %s: %s", self.user.username, self.copy.path)
        return fresh

    thread_name = "field-copy-keeper"

    def start(self):
        if self._unsubscribe is None:
            self._unsubscribe = self.connectivity.subscribe(self._on_connectivity)
        return super().start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop refreshing (a copy being made finishes first); closes the copy it retired, not the one in use."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().stop(timeout)
        if self._retired is not None:
            self._retired.close()
            self._retired = None

    def _on_connectivity(self, state) -> None:
        if state.online and self._due:
            self._wake.set()  # a refresh missed while offline is made now

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._due and self.connectivity.online:
                made = self.refresh_now() is not None
                # Failed because the database went away: made when it is back. Failed online: at the next interval.
                self._due = not made and (self._lost or not self.connectivity.online)
            woke = self._wake.wait(self.interval_s)
            self._wake.clear()
            if not woke:
                self._due = True

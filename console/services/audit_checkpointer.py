"""Automatic audit checkpoints: on the one server or workstation that holds the signing key, sign the chain's head
every `audit_checkpoint_interval_min` minutes, on a background thread (never the GUI's).

The interval is counted from the newest stored checkpoint, so a restart does not sign again at once and two
consoles given the key by mistake do not double the rate. A failure is logged (what failed, never the key) and
tried again at the next interval.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from console.domain.audit import parse_timestamp
from console.domain.checkpoints import Checkpoint
from console.errors import UserError
from console.services.audit_checkpoints import CheckpointService, Signer, load_signer
from console.services.background import BackgroundLoop
from console.store.audit import AuditLog
from console.store.checkpoints import stored_checkpoints

log = logging.getLogger(__name__)
AUTOMATIC_USER = "system:checkpoint"  # who the audit_checkpoint events of the automatic checkpoints name


class AuditCheckpointer(BackgroundLoop):
    """Signs a checkpoint whenever the newest one (by this key) is `interval` old; `run_once()` does one round."""

    thread_name = "audit-checkpoint"

    def __init__(self, service: CheckpointService, signer: Signer, workstation: str, interval: timedelta,
                 on_written: Callable[[Checkpoint], None] | None = None):
        super().__init__()
        self.service, self.signer, self.workstation, self.interval = service, signer, workstation, interval
        self.on_written = on_written
        self.last_error: str | None = None

    def due_in(self) -> timedelta:
        """How long until the next checkpoint is due (zero or less: now)."""
        mine = [cp for _id, cp in stored_checkpoints(self.service.log)
                if isinstance(cp, Checkpoint) and cp.key == self.signer.fingerprint]
        if not mine:
            return timedelta(0)
        newest = max(parse_timestamp(cp.signed_at) for cp in mine)
        return newest + self.interval - self.service.clock()

    def run_once(self) -> Checkpoint | None:
        """Sign now if due; the checkpoint written, or None (not due, or it failed: then `last_error` says why)."""
        try:
            if self.due_in() > timedelta(0):
                return None
            checkpoint = self.service.checkpoint(self.signer, AUTOMATIC_USER, self.workstation)
        except UserError as exc:  # our own sentences: they name what failed, never key material
            self.last_error = str(exc)
            log.warning("automatic audit checkpoint failed: %s", exc)
            return None
        except Exception as exc:  # a bug or a driver surprise: its class only, tried again at the next interval
            self.last_error = exc.__class__.__name__
            log.warning("automatic audit checkpoint failed (%s); it is tried again in %s",
                        exc.__class__.__name__, self.interval)
            return None
        self.last_error = None
        log.info("audit checkpoint signed: event %d, hash %s", checkpoint.seq, checkpoint.hash)
        if self.on_written is not None:
            self.on_written(checkpoint)
        return checkpoint

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            try:
                wait = self.due_in().total_seconds()
            except UserError:
                wait = self.interval.total_seconds()
            # A failed round waits a whole interval rather than retrying in a tight loop.
            if self.last_error is not None or wait <= 0:
                wait = self.interval.total_seconds()
            if self.wait(min(wait, self.interval.total_seconds())):
                return


def checkpointer_from_settings(log_: AuditLog, settings, workstation: str,
                               clock: Callable[[], datetime] | None = None) -> AuditCheckpointer | None:
    """The checkpointer the settings ask for (audit_signing_key, audit_checkpoint_interval_min), or None when no key
    is configured. UserError when the key cannot be read (the caller logs it: the console runs on without)."""
    if not settings.audit_signing_key:
        return None
    signer = load_signer(settings.audit_signing_key)  # a protected key: its passphrase from the environment only
    return AuditCheckpointer(CheckpointService(log_, clock), signer, workstation,
                             timedelta(minutes=settings.audit_checkpoint_interval_min))

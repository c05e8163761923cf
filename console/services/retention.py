"""Retention: legal holds, what is due under the agency's limits (`plan`), and the purge that keeps the proof (`run`).

The promises: nothing under an active legal hold is purged; each batch of deletes commits together with the run's
counts, so a run killed at any point resumes where it stopped (with the same "now", so it purges the same things);
a file on disk goes with its row, and a file that is not there is reported, never passed over in silence; the audit
trail loses events only from its oldest end, only after the chain verified, and only up to a cut the auditor's key
signed (console/services/retention_chain.py), so `audit verify` still checks everything kept and finds any change.
Every hold, release and run is itself in the audit trail, as the person who did it.

The parts: legal holds (retention_holds.py), what is due (retention_plan.py), the purge (retention_run.py), the cut's
signature and the trail's start (retention_chain.py); this module puts them together and keeps the public names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from console.errors import UserError
from console.services.retention_holds import MAX_ID, LegalHolds
from console.services.retention_plan import (
    MAX_HELD_REMEMBERED,
    SNAPSHOT_CURSOR,
    RetentionPlan,
)
from console.services.retention_run import RetentionRun, RunReport
from console.store.audit import AuditLog
from console.store.db import Database

__all__ = ["MAX_HELD_REMEMBERED", "MAX_ID", "SNAPSHOT_CURSOR", "Places", "RetentionService", "RunReport",
           "environment_places", "snapshot_folder_default"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Places:
    """Where this workstation keeps files that retention deletes."""

    snapshot_folder: Path | None = None
    evidence_dir: Path | None = None
    field_copy: Path | None = None


class RetentionService(LegalHolds, RetentionPlan, RetentionRun):
    """Legal holds (retention_holds.py), what is due (retention_plan.py) and the purge (retention_run.py)."""

    def __init__(self, database: Database, audit: AuditLog, settings, workstation: str, places: Places = Places(),
                 clock: Callable[[], datetime] | None = None, batch: int = 500):
        if not 1 <= batch <= 100_000:
            raise UserError(f"the batch size must be from 1 to 100000, not {batch}")
        self.database, self.audit, self.settings, self.workstation = database, audit, settings, workstation
        self.places, self.clock, self.batch = places, clock or _utcnow, batch


def snapshot_folder_default() -> Path:
    import platformdirs

    return Path(platformdirs.user_pictures_dir()) / "RTIC snapshots"


def environment_places(settings) -> Places:
    """This workstation's folders: the user's snapshot folder, the evidence folder, the field copy."""
    from console.services.field_copy_file import default_field_copy_path
    from console.services.footage import evidence_folder

    return Places(snapshot_folder_default(), evidence_folder(settings.evidence_dir), default_field_copy_path())



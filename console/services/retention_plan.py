"""What is due under the agency's limits (`retention plan`): counted by kind, with the oldest and why, changing
nothing. The run (console/services/retention_run.py) asks the same questions, with the same "now", to purge."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from console.domain.audit import parse_timestamp
from console.domain.retention import Cut, Due, Held, Kind
from console.store import retention as store
from console.store.transactions import transaction

SNAPSHOT_CURSOR = "retention-snapshots:"
MAX_HELD_REMEMBERED = 10_000


class RetentionPlan:
    """The planning half of RetentionService: needs database, audit, settings, workstation, places, clock."""

    def _cutoff(self, now: datetime, days: float) -> datetime:
        return now - timedelta(days=days)

    def plan(self, now: datetime | None = None, signer=None) -> list[Due]:
        """What a run at `now` would purge, by kind (nothing is changed)."""
        now = now or self.clock()
        s = self.settings
        with transaction(self.database) as conn:
            hold = store.held(conn)
            count, oldest, kept = store.sessions_due(conn, self._cutoff(now, s.retention_view_sessions_days), hold)
            out = [Due(Kind.VIEW_SESSIONS, count, oldest, f"ended more than {s.retention_view_sessions_days} days "
                       "ago (retention_view_sessions_days)", kept)]
            out.append(self._snapshots_due(conn, now))
            count, oldest, kept = store.footage_due(conn, self._cutoff(now, s.retention_footage_days), hold)
            out.append(Due(Kind.FOOTAGE, count, oldest, f"its incident closed more than {s.retention_footage_days} "
                           "days ago (retention_footage_days); open incidents keep theirs", kept))
            count, oldest, kept = store.bulletins_due(conn, self._cutoff(now, s.retention_bulletins_days), hold)
            out.append(Due(Kind.BULLETINS, count, oldest, f"its incident closed more than "
                           f"{s.retention_bulletins_days} days ago (retention_bulletins_days); open incidents keep "
                           "theirs", kept))
            count, oldest = store.calls_due(conn, self._cutoff(now, s.retention_outreach_days), declined=False)
            out.append(Due(Kind.OUTREACH, count, oldest,
                           f"called more than {s.retention_outreach_days} days ago (retention_outreach_days)"))
            count, oldest = store.calls_due(conn, self._cutoff(now, s.retention_declined_days), declined=True)
            out.append(Due(Kind.DECLINED, count, oldest, f"declined more than {s.retention_declined_days} days ago "
                           "(retention_declined_days)"))
            out.append(self._field_copy_due(now))
            out.append(self._audit_due(conn, now, hold, signer))
        return out

    def _snapshots_due(self, conn, now: datetime) -> Due:
        days = self.settings.retention_snapshots_days
        why = f"taken on this workstation more than {days} days ago (retention_snapshots_days)"
        if self.places.snapshot_folder is None:
            return Due(Kind.SNAPSHOTS, 0, None, why, blocked="no snapshot folder given")
        seq, _held = self._snapshot_cursor(conn)
        rows = store.snapshot_events(conn, self.workstation, seq, self._cutoff(now, days), MAX_HELD_REMEMBERED)
        oldest = parse_timestamp(rows[0].occurred_at) if rows else None
        return Due(Kind.SNAPSHOTS, len(rows), oldest, why)

    def _field_copy_due(self, now: datetime) -> Due:
        days = self.settings.field_copy_max_age_days
        why = f"older than {days} days (field_copy_max_age_days): it would be refused anyway"
        made = self._field_copy_made()
        if made is None or made >= self._cutoff(now, days):
            return Due(Kind.FIELD_COPY, 0, None, why)
        return Due(Kind.FIELD_COPY, 1, made, why)

    def _field_copy_made(self) -> datetime | None:
        path = self.places.field_copy
        if path is None or not path.is_file():
            return None
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)  # each sync rewrites the copy

    def _audit_due(self, conn, now: datetime, hold: Held, signer) -> Due:
        days = self.settings.retention_audit_days
        why = (f"older than {days} days (retention_audit_days), from the trail's oldest end up to the first event that "
               "is newer or of a held camera or incident")
        first = store.trail_start(conn)
        if first is None:
            return Due(Kind.AUDIT, 0, None, why)
        through = self._audit_through(conn, now, hold)
        pending = self._pending_cut(conn, first[0])
        if pending is not None:
            through = max(through, pending.seq)
        if through < first[0]:
            return Due(Kind.AUDIT, 0, None, why)
        count, oldest = store.audit_range(conn, through)
        blocked = "" if signer is not None or pending is not None else (
            "needs the auditor's signing key to sign the cut (audit_signing_key or --key FILE)")
        return Due(Kind.AUDIT, count, parse_timestamp(oldest) if oldest else None, why, blocked=blocked)

    def _audit_through(self, conn, now: datetime, hold: Held) -> int:
        stop = store.audit_stop(conn, self._cutoff(now, self.settings.retention_audit_days), hold)
        # A snapshot a hold kept is found again only through its event: the trail stops before the first of them.
        kept = [seq for text in store.cursors_named(conn, SNAPSHOT_CURSOR) for seq in _held_seqs(text)]
        stop = min([s for s in (stop, *kept) if s is not None], default=None)
        if stop is None:
            head = self.audit.head()
            return head.seq if head else 0
        return stop - 1

    @staticmethod
    def _pending_cut(conn, oldest: int) -> Cut | None:
        """A cut stored by a run that was stopped before it deleted everything up to it."""
        found = [c for c in store.stored_cuts(conn) if isinstance(c, Cut) and c.seq >= oldest]
        return min(found, key=lambda c: c.seq) if found else None

    def _snapshot_cursor(self, conn) -> tuple[int, list[int]]:
        text = store.read_cursor(conn, SNAPSHOT_CURSOR + self.workstation)
        try:
            value = json.loads(text) if text else {}
            return int(value.get("seq", 0)), _held_seqs(text)
        except (ValueError, TypeError, AttributeError):
            return 0, []


def _held_seqs(text: str | None) -> list[int]:
    """The snapshot events a hold kept, from a cursor's stored JSON (nothing when it is not readable)."""
    try:
        value = json.loads(text) if text else {}
        return [int(s) for s in value.get("held", [])][:MAX_HELD_REMEMBERED]
    except (ValueError, TypeError, AttributeError):
        return []

"""The public year report a city council can publish: what the camera registry held and how it was used, in counts.

Built from the audit trail and the registry's counts only; it carries no names, addresses, positions, user names,
reasons or camera ids. Every count from 1 to 4 is published as "<5" (`shown`), so no small group can be picked out;
purpose categories are the CAD incident types with at least five views, the rest counted as "other".
Rendering (PDF, HTML, CSV, JSON, with charts) is in console/services/transparency_render.py.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone

from console.domain.audit import Action, AuditFilter, Detail, Outcome
from console.errors import UserError
from console.services.retention_chain import trail_start
from console.store import transparency as store
from console.store.audit import AuditLog, iter_records
from console.store.transactions import transaction

SMALL = 5  # counts below this (but above 0) are published as "<5"
MAX_CATEGORIES = 8
_CATEGORY = re.compile(r"[^\w /&+-]+")


def shown(count: int) -> int | str:
    """A count as published: 1 to 4 become "<5"."""
    return "<5" if 0 < count < SMALL else count


@dataclass(frozen=True)
class YearReport:
    year: int
    months: tuple[str, ...]
    cameras_registered: tuple[int, ...]  # at each month's end: every camera registered (not removed)
    cameras_live: tuple[int, ...]  # of them, live-capable
    views_by_month: tuple[int, ...]
    views_by_purpose: dict[str, int] = field(default_factory=dict)
    median_view_minutes: float | None = None
    longest_view_minutes: float | None = None
    owner_alerts: dict[str, int] = field(default_factory=dict)
    footage_requests: dict[str, int] = field(default_factory=dict)
    denials_by_rule: dict[str, int] = field(default_factory=dict)
    contact_reveals: int = 0
    retention_runs: int = 0
    retention_purged: dict[str, int] = field(default_factory=dict)
    holds_placed: int = 0
    holds_released: int = 0
    chain_intact: bool = True

    @property
    def live_views(self) -> int:
        return sum(self.views_by_month)

    def published(self) -> dict:
        """Every figure as published (small counts as "<5"), in a fixed order: what CSV and JSON carry."""
        def counts(values: dict[str, int]) -> dict[str, int | str]:
            return {key: shown(n) for key, n in sorted(values.items())}

        return {
            "year": self.year,
            "cameras_at_month_end": [{"month": m, "registered": shown(r), "live_capable": shown(lv)}
                                     for m, r, lv in zip(self.months, self.cameras_registered, self.cameras_live)],
            "live_views": shown(self.live_views),
            "live_views_by_month": {m: shown(n) for m, n in zip(self.months, self.views_by_month)},
            "live_views_by_purpose": counts(self.views_by_purpose),
            "median_view_minutes": self.median_view_minutes,
            "longest_view_minutes": self.longest_view_minutes,
            "owner_alerts_by_source": counts(self.owner_alerts),
            "footage_requests_by_outcome": counts(self.footage_requests),
            "denied_views_by_rule": counts(self.denials_by_rule),
            "contact_reveals": shown(self.contact_reveals),
            "retention_runs": shown(self.retention_runs),
            "retention_purged_by_kind": counts(self.retention_purged),
            "legal_holds_placed": shown(self.holds_placed),
            "legal_holds_released": shown(self.holds_released),
            "audit_chain_intact": self.chain_intact,
        }


def year_bounds(year: int) -> tuple[datetime, datetime]:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise UserError(f"the year must be from 2000 to 2100, not {year!r}")
    return datetime(year, 1, 1, tzinfo=timezone.utc), datetime(year + 1, 1, 1, tzinfo=timezone.utc)


def _category(text: str) -> str:
    cleaned = " ".join(_CATEGORY.sub(" ", text or "").split()).lower()[:40]
    return cleaned or "unspecified"


def year_report(log: AuditLog, year: int) -> YearReport:
    since, until = year_bounds(year)
    months = tuple(f"{year}-{m:02d}" for m in range(1, 13))
    views = [0] * 12
    view_incidents: list[int | None] = []
    minutes: list[float] = []
    denials: dict[str, int] = {}
    purged: dict[str, int] = {}
    reveals = runs = placed = released = 0
    where = AuditFilter(since=since, until=until, actions=(
        Action.VIEW_START, Action.VIEW_END, Action.VIEW_DENIED, Action.CONTACT_REVEAL, Action.RETENTION_RUN,
        Action.LEGAL_HOLD))
    for record in iter_records(log, where):
        details = record.details
        if record.action == Action.VIEW_START and record.outcome == Outcome.OK:
            views[record.occurred.month - 1] += 1
            view_incidents.append(record.incident_id)
        elif record.action == Action.VIEW_END:
            duration = details.get(Detail.DURATION_S)
            if isinstance(duration, (int, float)) and not isinstance(duration, bool) and 0 <= duration < 10**7:
                minutes.append(duration / 60.0)
        elif record.action == Action.VIEW_DENIED:
            rule = _category(str(details.get(Detail.RULE) or "unknown"))
            denials[rule] = denials.get(rule, 0) + 1
        elif record.action == Action.CONTACT_REVEAL and record.outcome == Outcome.OK:
            reveals += 1
        elif record.action == Action.RETENTION_RUN and details.get("op") == "finished":
            runs += 1
            for kind, n in (details.get("counts") or {}).items():
                if isinstance(n, int) and not isinstance(n, bool) and not kind.startswith("files_"):
                    purged[_category(kind)] = purged.get(_category(kind), 0) + n
        elif record.action == Action.LEGAL_HOLD:
            placed += details.get("op") == "hold"
            released += details.get("op") == "release"
    with transaction(log.database) as conn:
        by_month = store.cameras_by_month(conn, until)
        types = store.incident_types(conn, [i for i in view_incidents if i is not None])
        alerts = store.grants_by_source(conn, since, until)
        footage = store.footage_by_status(conn, since, until)
    registered, live = [], []
    for month in months:
        registered.append(sum(n for m, _cap, n in by_month if m <= month))
        live.append(sum(n for m, cap, n in by_month if m <= month and cap == "live"))
    purposes: dict[str, int] = {}
    for incident_id in view_incidents:
        kind = _category(types.get(incident_id, "")) if incident_id is not None else "no incident"
        purposes[kind] = purposes.get(kind, 0) + 1
    return YearReport(
        year, months, tuple(registered), tuple(live), tuple(views), _top(purposes),
        round(statistics.median(minutes), 1) if minutes else None, round(max(minutes), 1) if minutes else None,
        alerts, footage, denials, reveals, runs, purged, placed, released,
        log.verify(start=trail_start(log, None).start).ok)


def _top(purposes: dict[str, int]) -> dict[str, int]:
    """The categories with at least SMALL views (at most MAX_CATEGORIES); the rest together as "other"."""
    ranked = sorted(purposes.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = {k: n for k, n in ranked if n >= SMALL and k != "other"}
    kept = dict(list(kept.items())[:MAX_CATEGORIES])
    rest = sum(n for k, n in purposes.items() if k not in kept)
    if rest:
        kept["other"] = rest
    return kept

"""Apply incidents from CAD to the console's incidents: create, update, close (ending their live views), idempotently.

One transaction per incident written: the row, a CAD_INCIDENT audit event (ids only) and, as its last statement,
one INCIDENT change so every console sees it. An update older than what is stored (by CAD's lastUpdateTimeStamp)
changes nothing, and so does the same update applied twice. When CAD closes an incident, its open live views are
ended through the viewing service (VIEW_END, end reason "incident_closed"); that is repeated on every later
apply of the closed incident, so views left open by a failure midway are ended the next time.

Errors: `CadRejected` (this document will never be taken: say why) and `CadUnavailable` (the database, the audit
store or the geocoder did not answer: nothing was written, try the same document again later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from console.domain.audit import Action, AuditEntry, Detail, Outcome
from console.domain.changes import ChangeKind
from console.domain.eido import CadIncident, CadRejected, check_point
from console.domain.service_area import ServiceArea
from console.errors import UserError, first_line
from console.services.accounts import default_workstation
from console.services.viewing import ViewingService
from console.store import cad as store
from console.store.audit import AuditLog, AuditUnavailable
from console.store.changes import record_change
from console.store.db import Database
from console.store.transactions import DuplicateRecord, StoreError, transaction, write_transaction

log = logging.getLogger(__name__)

ACTOR = "cad"  # the audit trail's username for changes CAD made
END_REASON = "incident_closed"
WRITES = ("created", "updated", "closed", "reopened")

# An address to candidates, best first (console.geo.geocoder.Geocoder.lookup): objects with .lat and .lon,
# or (lat, lon) pairs. [] when nothing matches.
Geocode = Callable[[str], Sequence[Any]]


class CadUnavailable(UserError):
    """Nothing was written because the database, the audit store or the geocoder did not answer: try again."""


@dataclass(frozen=True)
class CadApplied:
    """What applying one CAD incident did. `result`: created, updated, closed, reopened (written), or
    unchanged (already as stored) and stale (older than what is stored), which wrote nothing."""

    incident: CadIncident  # placed: lat/lon set
    incident_id: int
    result: str
    previous_priority: int | None = None
    views_ended: int = 0

    @property
    def written(self) -> bool:
        return self.result in WRITES


class CadService:
    def __init__(self, database: Database, audit: AuditLog, geocode: Geocode | None = None,
                 workstation: str | None = None, clock: Callable[[], datetime] | None = None,
                 viewing: ViewingService | None = None, service_area: ServiceArea | None = None):
        self.database = database
        self.service_area = service_area  # None: no area, every point on Earth is taken
        self.audit = audit
        self.geocode = geocode
        self.workstation = workstation or default_workstation()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.viewing = viewing or ViewingService(database, audit, workstation=self.workstation)

    def apply(self, incident: CadIncident) -> CadApplied:
        """Bring the console's incident in step with CAD's; raises CadRejected or CadUnavailable."""
        try:
            try:
                applied = self._apply_once(incident)
            except DuplicateRecord:  # another console created the same CAD number a moment ago: now it is an update
                applied = self._apply_once(incident)
        except StoreError as exc:
            raise CadUnavailable(f"{incident.cad_number}: not applied, the database did not answer "
                                 f"({first_line(exc)}): it will be tried again") from None
        except AuditUnavailable as exc:
            raise CadUnavailable(f"{incident.cad_number}: not applied: {exc}") from None
        if applied.incident.closed or applied.result in ("unchanged", "stale"):
            ended = self._end_views_if_closed(applied.incident_id)
            if ended:
                applied = CadApplied(applied.incident, applied.incident_id, applied.result,
                                     applied.previous_priority, ended)
        return applied

    def _apply_once(self, incident: CadIncident) -> CadApplied:
        with self.database.engine.connect() as conn:
            known = store.find_cad_incident(conn, incident.cad_number)
        incident = self.place(incident, known)  # may ask the geocoder: outside any transaction
        now = self.clock()
        with write_transaction(self.database) as conn:  # the write lock first: no other writer in between
            stored = store.find_cad_incident(conn, incident.cad_number, for_update=True)
            closed_at = min(incident.updated_at, now) if incident.closed else None
            if stored is None:
                incident_id = store.add_cad_incident(conn, incident, min(incident.updated_at, now), closed_at)
                result, previous = ("closed" if incident.closed else "created"), None
            elif stored.updated_at is not None and incident.updated_at <= stored.updated_at:
                result = "unchanged" if incident.updated_at == stored.updated_at else "stale"
                return CadApplied(incident, stored.id, result, stored.priority)
            else:
                incident_id, previous = stored.id, stored.priority
                if incident.closed:
                    closed_at = stored.closed_at or closed_at
                    result = "closed" if stored.closed_at is None else "updated"
                else:
                    result = "reopened" if stored.closed_at is not None else "updated"
                store.update_cad_incident(conn, stored, incident, closed_at)
            self.audit.append(AuditEntry(
                Action.CAD_INCIDENT, ACTOR, self.workstation, Outcome.OK, None, incident_id,
                {Detail.CAD_NUMBER: incident.cad_number, "change": result, "source": incident.source}), conn=conn)
            record_change(conn, ChangeKind.INCIDENT, incident_id, self.workstation)
        return CadApplied(incident, incident_id, result, previous)

    def place(self, incident: CadIncident, known: store.StoredCadIncident | None = None) -> CadIncident:
        """The incident with a point: its own, the stored one when the address has not changed, or geocoded; a
        point outside the service area is rejected (naming the point and the area), so nothing is written."""
        if incident.placed:
            return self._inside(incident, "")
        if known is not None and known.address == incident.address:
            return incident.placed_at(known.lat, known.lon)
        placed = self._geocoded(incident)
        return self._inside(placed, f" (the geocoder's place for {incident.address!r})")

    def _inside(self, incident: CadIncident, how: str) -> CadIncident:
        area = self.service_area
        if area is not None and not area.contains(incident.lat, incident.lon):
            raise CadRejected("location", f"{incident.lat:.5f}, {incident.lon:.5f}{how} is outside "
                              f"{area.describe()}: not taken, the incident is left as it was", incident.cad_number)
        return incident

    def _geocoded(self, incident: CadIncident) -> CadIncident:
        where = "location"
        if self.geocode is None:
            raise CadRejected(where, f"only an address ({incident.address!r}) and no geocoder is configured to place "
                              "it (setting geocoder_url)", incident.cad_number)
        try:
            found = list(self.geocode(incident.address))
        except UserError as exc:
            from console.geo.geocoder import (
                GeocoderUnreachable,  # requests: loaded only when a geocoder is used
            )

            if isinstance(exc, GeocoderUnreachable):
                raise CadUnavailable(f"{incident.cad_number}: the address could not be placed now ({exc}): "
                                     "it will be tried again") from None
            raise CadRejected(where, f"the address {incident.address!r} could not be placed: {exc}",
                              incident.cad_number) from None
        if not found:
            raise CadRejected(where, f"the geocoder found no place for the address {incident.address!r}",
                              incident.cad_number)
        best = found[0]
        lat, lon = (best.lat, best.lon) if hasattr(best, "lat") else best
        return incident.placed_at(*check_point(lat, lon, where, incident.cad_number))

    def _end_views_if_closed(self, incident_id: int) -> int:
        """End the incident's open live views when it is closed; how many were ended."""
        try:
            with self.database.engine.connect() as conn:
                closed = store.incident_closed(conn, incident_id)
                sessions = store.open_view_sessions(conn, incident_id) if closed else []
        except StoreError as exc:
            raise CadUnavailable(f"the live views of incident {incident_id} could not be ended now "
                                 f"({first_line(exc)}): it will be tried again") from None
        ended = 0
        for session_id in sessions:
            try:
                self.viewing.end_view(session_id, END_REASON, self.clock())
                ended += 1
            except AuditUnavailable as exc:
                raise CadUnavailable(f"the live views of incident {incident_id} could not be ended now: {exc}") \
                    from None
            except UserError as exc:  # ended meanwhile by the person watching: nothing left to do
                log.info("view session %s of incident %s: %s", session_id, incident_id, exc)
        return ended

    # --- where a polled feed left off ---------------------------------------------------------------

    def cursor(self, name: str) -> tuple[str | None, str | None]:
        """(cursor, etag) a feed saved; (None, None) when unknown or the database does not answer."""
        try:
            with self.database.engine.connect() as conn:
                return store.get_cursor(conn, name)
        except StoreError:
            return None, None

    def save_cursor(self, name: str, cursor: str | None, etag: str | None) -> None:
        try:
            with transaction(self.database) as conn:
                store.set_cursor(conn, name, cursor, etag, self.clock())
        except StoreError as exc:  # only costs a full fetch next time
            log.warning("could not save where %s left off: %s", name, first_line(exc))

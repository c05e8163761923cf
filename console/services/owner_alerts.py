"""Owner alerts: a window of live access the owner opens (app, panic button, or staff on the owner's call).

An alert is a share grant with a start and an expiry. Raising, changing and ending one is a consent change:
the grant, its CONSENT_CHANGE audit event and a GRANT change (so every open console shows it within seconds)
are written in one transaction, or none of them is. The access decision (`may_view`) reads the grants; nothing
here decides who may watch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from console.domain.audit import Action, AuditEntry, Detail, Outcome
from console.domain.changes import ChangeKind
from console.domain.grants import GrantSource, ShareGrant
from console.domain.incidents import Incident
from console.domain.users import Permission, User
from console.errors import UserError
from console.services.accounts import audited_transaction, default_workstation
from console.store import alerts as store
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.transactions import Connection, transaction
from console.store.registry import get_incident
from console.store.users import get_user_by_id

DEFAULT_MINUTES = 60
MAX_MINUTES = 12 * 60  # an owner's alert is for an event in progress, not standing consent
# An alert the owner raised in person (panic button, the app) is an event: it opens an incident of this type.
INCIDENT_SOURCES = frozenset({GrantSource.PANIC_BUTTON, GrantSource.APP})
INCIDENT_TYPE = "owner alert"
INCIDENT_SOURCE = "owner_alert"  # incidents.source
SYSTEM_ACTOR = "system:owner-alerts"  # who closes an incident whose alert ran out


@dataclass(frozen=True)
class AlertBar:
    """A panic-button or app alert as the console's red bar shows it: where, until when, its incident."""

    grant_id: int
    camera_id: int | None
    camera_label: str | None
    site_name: str
    address: str
    lat: float
    lon: float
    source: GrantSource
    starts_at: datetime
    expires_at: datetime
    in_force: bool
    incident: Incident
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    camera_ids: tuple[int, ...] = ()  # a whole-site alert: the site's live cameras (a camera alert: that camera)

    @property
    def where(self) -> str:
        return self.camera_label if self.camera_id is not None and self.camera_label else self.site_name

    @property
    def reason(self) -> str:
        """The reason a live view opened from the bar records: the owner's alert, in words."""
        how = "panic button" if self.source is GrantSource.PANIC_BUTTON else "owner's app"
        place = ", ".join(p for p in (self.site_name, self.address) if p)
        return f"Owner alert ({how}) at {place or self.where}"[:500]


@dataclass(frozen=True)
class Alert:
    """An alert in force, as the notifications list and the map show it."""

    grant_id: int
    camera_id: int | None
    camera_label: str | None
    site_id: int
    site_name: str
    address: str
    lat: float
    lon: float
    starts_at: datetime
    expires_at: datetime
    source: GrantSource

    @property
    def what(self) -> str:
        return f"camera {self.camera_label}" if self.camera_id is not None else f"every camera at {self.site_name}"

    def as_dict(self) -> dict:
        return {"grant_id": self.grant_id, "camera_id": self.camera_id, "camera_label": self.camera_label,
                "site_id": self.site_id, "site_name": self.site_name, "address": self.address,
                "lat": self.lat, "lon": self.lon, "starts_at": self.starts_at.isoformat(),
                "expires_at": self.expires_at.isoformat(), "source": self.source.value}


def check_window(starts_at: datetime, expires_at: datetime, max_minutes: int = MAX_MINUTES) -> None:
    """UserError unless the alert ends after it starts and lasts at most `max_minutes`."""
    if starts_at.tzinfo is None or expires_at.tzinfo is None:
        raise UserError("alert times must carry a time zone (e.g. 2026-11-24T01:00:00Z)")
    if expires_at <= starts_at:
        raise UserError(f"the alert ends ({expires_at.isoformat()}) before it starts ({starts_at.isoformat()})")
    if expires_at - starts_at > timedelta(minutes=max_minutes):
        raise UserError(f"an alert lasts at most {max_minutes} minutes; this one lasts "
                        f"{(expires_at - starts_at).total_seconds() / 60:.0f}")


class OwnerAlertService:
    def __init__(self, database: Database, audit: AuditLog, workstation: str | None = None,
                 max_minutes: int = MAX_MINUTES):
        self.database = database
        self.audit = audit
        self.workstation = workstation or default_workstation()
        self.max_minutes = max_minutes

    def raise_alert(self, actor: str, now: datetime, *, camera_id: int | None = None, site_id: int | None = None,
                    minutes: int = DEFAULT_MINUTES, source: GrantSource = GrantSource.STAFF) -> ShareGrant:
        """Open live access to one camera or a whole site from `now` for `minutes`; the grant created."""
        if (camera_id is None) == (site_id is None):
            raise UserError("an alert is for one camera or one site: give exactly one of them")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1:
            raise UserError(f"an alert lasts 1 to {self.max_minutes} minutes, not {minutes!r}")
        grant = ShareGrant(None, camera_id, site_id, now, now + timedelta(minutes=minutes), GrantSource(source))
        check_window(grant.starts_at, grant.expires_at, self.max_minutes)
        with audited_transaction(self.database) as conn:
            _check_target(conn, camera_id, site_id)
            grant_id = self.store_new(conn, grant, actor, now)
            record_change(conn, ChangeKind.GRANT, grant_id, self.workstation)
        return replace(grant, id=grant_id)

    def raise_alert_as(self, user: User, now: datetime, *, camera_id: int | None = None,
                       site_id: int | None = None, minutes: int = DEFAULT_MINUTES,
                       source: GrantSource = GrantSource.STAFF) -> ShareGrant:
        """`raise_alert` for a signed-in user: only roles that may edit the registry (outreach, administrators)
        enter an owner's alert, so nobody who watches cameras can open a camera for themselves."""
        user = self._current(user)
        if not user.may(Permission.REGISTRY_EDIT):
            raise UserError(f"the {user.role.value} role cannot enter an owner's alert: ask community outreach")
        return self.raise_alert(user.username, now, camera_id=camera_id, site_id=site_id, minutes=minutes,
                                source=source)

    def end_alert_as(self, user: User, grant_id: int, now: datetime) -> ShareGrant:
        """`end_alert` for a signed-in user: any active account may end an alert (it only takes access away)."""
        return self.end_alert(self._current(user).username, grant_id, now)

    def _current(self, user: User) -> User:
        if user.id is not None:
            with transaction(self.database) as conn:
                user = get_user_by_id(conn, user.id) or user
        if not user.is_active:
            raise UserError(f"the account {user.username} is {user.state}: an administrator must unlock it")
        return user

    def end_alert(self, actor: str, grant_id: int, now: datetime) -> ShareGrant:
        """End an alert early (the owner called to cancel it, or staff entered it by mistake)."""
        with audited_transaction(self.database) as conn:
            stored = store.get_grant(conn, grant_id)
            if stored is None:
                raise UserError(f"there is no alert {grant_id}: `rtic-console alerts list` shows those in force")
            self.store_end(conn, stored, actor, now)
            record_change(conn, ChangeKind.GRANT, grant_id, self.workstation)
        return replace(stored.grant, revoked_at=now)

    def active_alerts(self, now: datetime) -> list[Alert]:
        """Alerts in force now, newest first: what the notifications list shows."""
        with transaction(self.database) as conn:
            rows = store.alerts_in_force(conn, now)
        return [Alert(r.grant.id, r.grant.camera_id, r.camera_label, r.site_id, r.site_name, r.address, r.lat, r.lon,
                      r.grant.starts_at, r.grant.expires_at, r.grant.source) for r in rows]

    # --- steps inside a caller's transaction (the registry feed applies alerts with a page) ------------

    def store_new(self, conn: Connection, grant: ShareGrant, actor: str, now: datetime,
                  external_id: str | None = None, ends_at: datetime | None = None) -> int:
        """Insert the grant and its audit event; the caller records the GRANT change and commits. A panic-button
        or app alert that has not ended by `now` (`ends_at`: when the caller is about to end it) opens its
        incident too."""
        grant_id = store.insert_grant(conn, grant, actor, now, external_id)
        details = {Detail.FIELD: "alert", Detail.OLD: None, Detail.NEW: "raised", "grant_id": grant_id,
                   "site_id": grant.site_id, "source": grant.source.value, "starts_at": grant.starts_at.isoformat(),
                   "expires_at": grant.expires_at.isoformat()}
        if external_id is not None:
            details["portal_alert_id"] = external_id
        self.audit.append(AuditEntry(Action.CONSENT_CHANGE, actor[:64], self.workstation, Outcome.OK,
                                     grant.camera_id, None, details), conn=conn)
        ends = min(t for t in (grant.expires_at, grant.revoked_at, ends_at) if t is not None)
        if grant.source in INCIDENT_SOURCES and ends > now:
            self._open_incident(conn, replace(grant, id=grant_id), actor, now)
        return grant_id

    def _open_incident(self, conn: Connection, grant: ShareGrant, actor: str, now: datetime) -> int | None:
        """The alert's "owner alert" incident at its camera or site (audited, heard by every console)."""
        place = store.alert_place(conn, grant.camera_id, grant.site_id)
        if place is None:
            return None
        incident_id = store.add_alert_incident(conn, grant.id, INCIDENT_TYPE, place.address, place.lat, place.lon,
                                               min(grant.starts_at, now), INCIDENT_SOURCE)
        self.audit.append(AuditEntry(
            Action.ALERT_INCIDENT, actor[:64], self.workstation, Outcome.OK, grant.camera_id, incident_id,
            {"event": "opened", "grant_id": grant.id, "source": grant.source.value, "site_id": grant.site_id,
             "expires_at": grant.expires_at.isoformat()}), conn=conn)
        record_change(conn, ChangeKind.INCIDENT, incident_id, self.workstation)
        return incident_id

    def _close_incident(self, conn: Connection, grant_id: int, camera_id: int | None, incident_id: int,
                        actor: str, at: datetime, how: str, note: str | None = None) -> bool:
        """Close the alert's incident (once: a second close finds it closed and records nothing)."""
        if not store.close_incident(conn, incident_id, at):
            return False
        details = {"event": "closed", "how": how, "grant_id": grant_id, "closed_at": at.isoformat()}
        if note:
            details["note"] = note[:500]
        self.audit.append(AuditEntry(Action.ALERT_INCIDENT, actor[:64], self.workstation, Outcome.OK, camera_id,
                                     incident_id, details), conn=conn)
        record_change(conn, ChangeKind.INCIDENT, incident_id, self.workstation)
        return True

    # --- owner alert incidents: expiry, the dispatcher's close, acknowledgement, the bar -------------------

    def close_ended(self, now: datetime) -> int:
        """Close the incident of every alert that has ended by `now` (expired, or cancelled elsewhere); how many."""
        closed = 0
        with audited_transaction(self.database) as conn:
            for row in store.open_incidents_of_ended_alerts(conn, now):
                if self._close_incident(conn, row.grant_id, row.camera_id, row.incident_id, SYSTEM_ACTOR,
                                        min(row.ends_at, now), "alert_ended"):
                    record_change(conn, ChangeKind.GRANT, row.grant_id, self.workstation)
                    closed += 1
        return closed

    def close_incident_as(self, user: User, incident_id: int, now: datetime, note: str = "") -> Incident:
        """A dispatcher closes an owner alert's incident (the owner's alert itself stays as the owner set it)."""
        user = self._current(user)
        if not user.may(Permission.LIVE_VIEW):
            raise UserError(f"the {user.role.value} role cannot close an incident: ask a dispatcher")
        if not isinstance(note, str) or len(note) > 500:
            raise UserError("the note is at most 500 characters of text")
        with audited_transaction(self.database) as conn:
            found = store.alert_incident(conn, incident_id)
            if found is None:
                raise UserError(f"incident {incident_id} was not opened by an owner alert: close it in CAD")
            if found.closed_at is not None:
                raise UserError(f"incident {incident_id} was already closed at {found.closed_at.isoformat()}")
            self._close_incident(conn, found.grant_id, found.camera_id, incident_id, user.username, now,
                                 "dispatcher", note.strip() or None)
            record_change(conn, ChangeKind.GRANT, found.grant_id, self.workstation)
            incident = get_incident(conn, incident_id)
        return incident

    def acknowledge_as(self, user: User, grant_id: int, now: datetime) -> bool:
        """The dispatcher acknowledges the alert's bar (audited; every console's bar for it closes). False when it
        was acknowledged already (nothing is recorded twice)."""
        user = self._current(user)
        if not user.may(Permission.LIVE_VIEW):
            raise UserError(f"the {user.role.value} role does not answer owner alerts")
        with audited_transaction(self.database) as conn:
            stored = store.get_grant(conn, grant_id)
            if stored is None or stored.incident_id is None:
                raise UserError(f"there is no owner alert {grant_id} to acknowledge")
            if not store.acknowledge_grant(conn, grant_id, user.username, now):
                return False
            self.audit.append(AuditEntry(
                Action.ALERT_INCIDENT, user.username, self.workstation, Outcome.OK, stored.grant.camera_id,
                stored.incident_id, {"event": "acknowledged", "grant_id": grant_id}), conn=conn)
            record_change(conn, ChangeKind.GRANT, grant_id, self.workstation)
        return True

    def alert_bars(self, now: datetime, grant_ids: list[int] | None = None) -> list[AlertBar]:
        """The alerts that ring the console: in force now (or these grants, whatever their state), newest first."""
        with transaction(self.database) as conn:
            rows = store.alert_bars(conn, now, grant_ids)
            incidents = {r.incident_id: get_incident(conn, r.incident_id) for r in rows}
            at_site = {r.grant.site_id: tuple(store.site_camera_ids(conn, r.grant.site_id))
                       for r in rows if r.grant.camera_id is None}
        out = []
        for r in rows:
            g = r.grant
            in_force = g.starts_at <= now < g.expires_at and (g.revoked_at is None or g.revoked_at > now) \
                and (r.incident_closed_at is None or r.incident_closed_at > now)
            out.append(AlertBar(g.id, g.camera_id, r.camera_label, r.site_name, r.address, r.lat, r.lon, g.source,
                                g.starts_at, g.expires_at, in_force, incidents[r.incident_id], r.acknowledged_at,
                                r.acknowledged_by, (g.camera_id,) if g.camera_id is not None else at_site[g.site_id]))
        return out

    def store_end(self, conn: Connection, stored: store.StoredGrant, actor: str, now: datetime) -> None:
        grant = stored.grant
        if grant.revoked_at is not None:
            raise UserError(f"alert {grant.id} was already ended at {grant.revoked_at.isoformat()}")
        if grant.expires_at <= now:
            raise UserError(f"alert {grant.id} already expired at {grant.expires_at.isoformat()}")
        store.revoke_grant(conn, grant.id, now, actor)
        self.audit.append(AuditEntry(
            Action.CONSENT_CHANGE, actor[:64], self.workstation, Outcome.OK, grant.camera_id, None,
            {Detail.FIELD: "alert", Detail.OLD: "in force", Detail.NEW: "ended", "grant_id": grant.id,
             "site_id": grant.site_id, "ended_at": now.isoformat(), "expires_at": grant.expires_at.isoformat()}),
            conn=conn)
        if stored.incident_id is not None:
            self._close_incident(conn, grant.id, grant.camera_id, stored.incident_id, actor, now, "alert_cancelled")

    def store_window(self, conn: Connection, stored: store.StoredGrant, starts_at: datetime, expires_at: datetime,
                     actor: str) -> None:
        """The owner moved the alert's start or end (the portal re-sent it with new times)."""
        grant = stored.grant
        store.set_grant_window(conn, grant.id, starts_at, expires_at)
        self.audit.append(AuditEntry(
            Action.CONSENT_CHANGE, actor[:64], self.workstation, Outcome.OK, grant.camera_id, None,
            {Detail.FIELD: "alert_window", "grant_id": grant.id, "site_id": grant.site_id,
             Detail.OLD: [grant.starts_at.isoformat(), grant.expires_at.isoformat()],
             Detail.NEW: [starts_at.isoformat(), expires_at.isoformat()]}), conn=conn)


def _check_target(conn: Connection, camera_id: int | None, site_id: int | None) -> None:
    if camera_id is not None and store.camera_site(conn, camera_id) is None:
        raise UserError(f"there is no camera {camera_id} in the registry")
    if site_id is not None and not store.site_exists(conn, site_id):
        raise UserError(f"there is no site {site_id} in the registry")

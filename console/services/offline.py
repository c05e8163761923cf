"""Live views while the database is away: decided on the last registry data the console read, recorded in the local
audit journal, bounded by the same grant expiry and session limit as online.

`ResilientViewingService` is the ViewingService with one extra branch. Online it is exactly the fail-closed
ViewingService (and remembers what each decision was made on). When the database cannot be reached, a new view is
allowed only if `may_view` allows it on the last known camera, grants, incident and account (read by this console,
or from the field copy) AND its VIEW_START event is durably in the journal; otherwise nothing is handed over.
VIEW_END events of views that end while offline go to the journal too.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.domain.access import DEFAULT_MAX_SESSION, Decision, Purpose, may_view
from console.domain.audit import Action, AuditEntry, Detail, Outcome
from console.domain.cameras import Camera, StreamRole
from console.domain.grants import ShareGrant
from console.domain.incidents import Incident
from console.domain.users import User
from console.errors import StoreUnavailable, UserError, first_line
from console.services.offline_age import DEFAULT_DATA_MAX_AGE, DEFAULT_FIELD_COPY_MAX_AGE, too_old
from console.services.resilience import ResilientAudit
from console.services.viewing import (
    MAX_REASON_CHARS,
    StreamCredentials,
    ViewAuthorization,
    ViewDenied,
    ViewingService,
    how_view_ended,
    pick_stream,
    played_details,
)
from console.store.audit import AuditUnavailable, connection_lost
from console.store import views
from console.store.secrets import ContactCipher
from console.store.transactions import StoreError, transaction

OFFLINE_SESSION = "offline_session"  # details key: the id of a view that started without the database
DATA_AS_OF = "data_as_of"  # details key: when the registry data the offline decision used was read


@dataclass(frozen=True)
class KnownCamera:
    camera: Camera
    grants: tuple[ShareGrant, ...]
    read_at: datetime
    from_field_copy: bool = False  # read_at is when the field copy was made (its own age limit applies)


class LastKnownRegistry:
    """The registry data the viewing path last read, kept in memory: cameras with their grants, incidents, accounts,
    and the stream credentials of views already opened (what the player was given anyway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cameras: dict[int, KnownCamera] = {}
        self._incidents: dict[int, Incident] = {}
        self._by_cad: dict[str, Incident] = {}
        self._users: dict[int, User] = {}
        self._credentials: dict[int, StreamCredentials] = {}

    def remember(self, camera: Camera, grants, user: User, incident: Incident | None, read_at: datetime) -> None:
        with self._lock:
            self._cameras[camera.id] = KnownCamera(camera, tuple(grants), read_at)
            if user.id is not None:
                self._users[user.id] = user
            if incident is not None:
                self._incidents[incident.id] = incident
                if incident.cad_number:
                    self._by_cad[incident.cad_number] = incident

    def remember_credentials(self, stream_id: int | None, credentials: StreamCredentials) -> None:
        if stream_id is not None and credentials:
            with self._lock:
                self._credentials[stream_id] = credentials

    def camera(self, camera_id: int) -> KnownCamera | None:
        return self._cameras.get(camera_id)

    def user(self, user: User) -> User:
        return self._users.get(user.id, user) if user.id is not None else user

    def incident(self, incident_id: int | None = None, cad_number: str | None = None) -> Incident | None:
        if incident_id is not None:
            return self._incidents.get(incident_id)
        return self._by_cad.get(cad_number) if cad_number else None

    def credentials(self, stream_id: int | None) -> StreamCredentials:
        return self._credentials.get(stream_id, StreamCredentials(None, None))


@dataclass(frozen=True)
class _OpenView:
    """What ending a view needs when the database cannot say it."""

    username: str
    workstation: str
    camera_id: int
    incident_id: int | None
    stream_id: int | None
    started_at: datetime
    offline_id: str | None  # set for a view that started offline


class ResilientViewingService(ViewingService):
    """ViewingService that keeps working, within the same rules, while the database is away."""

    def __init__(self, database, audit, sink: ResilientAudit, cipher: ContactCipher | None = None,
                 workstation: str | None = None, max_session: timedelta = DEFAULT_MAX_SESSION,
                 last_known: LastKnownRegistry | None = None, field_copy=None,
                 max_data_age: timedelta = DEFAULT_DATA_MAX_AGE,
                 field_copy_max_age: timedelta = DEFAULT_FIELD_COPY_MAX_AGE):
        super().__init__(database, audit, cipher, workstation, max_session)
        # Offline decisions stop once the data they rest on is older than this (console/services/offline_age.py).
        self.max_data_age, self.field_copy_max_age = max_data_age, field_copy_max_age
        self.sink = sink
        self.last_known = last_known or LastKnownRegistry()
        self.field_copy = field_copy  # a FieldRegistry (console/services/field_copy.py), consulted after the cache
        self._open: dict[int, _OpenView] = {}
        self._offline_ids = itertools.count(-1, -1)  # offline sessions have negative ids: never a database row's
        self._lock = threading.Lock()
        self._ended_offline: dict[int, tuple[datetime, str]] = {}  # database sessions whose end is not stored yet
        sink.connectivity.subscribe(self._on_connectivity)

    def _on_connectivity(self, state) -> None:
        if state.online and not state.pending:
            self.close_sessions_ended_offline()

    def close_sessions_ended_offline(self) -> int:
        """Once the database is back: mark ended the view_sessions rows of views that ended while it was away (their
        VIEW_END events came through the journal). Returns how many; stops quietly if the database goes away again."""
        with self._lock:
            waiting = dict(self._ended_offline)
        closed = 0
        for session_id, (ended_at, how_ended) in waiting.items():
            try:
                with transaction(self.database) as conn:
                    views.end_view_session(conn, session_id, ended_at, how_ended)
            except StoreError as exc:
                if connection_lost(exc):
                    return closed
                raise
            with self._lock:
                self._ended_offline.pop(session_id, None)
            closed += 1
        return closed

    def _read(self, camera, grants, user, purpose, now) -> None:
        self.last_known.remember(camera, grants, user, purpose.incident, now)

    # --- start --------------------------------------------------------------------------------------

    def start_view(self, user: User, camera_id: int, purpose: Purpose, now: datetime,
                   stream_role: StreamRole = StreamRole.MAIN) -> ViewAuthorization:
        if self.sink.connectivity.online:
            try:
                authorization = super().start_view(user, camera_id, purpose, now, stream_role)
            except (AuditUnavailable, StoreUnavailable, StoreError) as exc:
                if not _lost(exc):
                    raise
                self.sink.report_offline(_message(exc))
            else:
                self.last_known.remember_credentials(authorization.stream.id, authorization.credentials)
                incident = purpose.incident or self.last_known.incident(cad_number=(purpose.cad_number or "").strip())
                self._open[authorization.session_id] = _OpenView(
                    user.username, self.workstation, camera_id, incident.id if incident else None,
                    authorization.stream.id, now, None)
                return authorization
        return self._start_offline(user, camera_id, purpose, now, stream_role)

    def _start_offline(self, user: User, camera_id: int, purpose: Purpose, now: datetime,
                       stream_role: StreamRole) -> ViewAuthorization:
        """The offline branch: the last known data decides; the journal must hold VIEW_START first."""
        if len(purpose.reason or "") > MAX_REASON_CHARS:
            raise UserError(f"the reason is too long: at most {MAX_REASON_CHARS} characters")
        known = self.last_known.camera(camera_id)
        stale = self._too_old(known, now)
        if (known is None or stale) and self.field_copy is not None:
            known = self.field_copy.known_camera(camera_id, now) or known
            stale = self._too_old(known, now)
        if known is None:
            raise UserError(f"the database is offline and this console has no registry data for camera {camera_id}: "
                            "live view stays closed until the database is back")
        if stale:
            raise UserError(f"live view stays closed: the database is offline and {stale}")
        purpose = self._resolved_offline(purpose)
        current = self.last_known.user(user)
        decision = may_view(known.camera, known.grants, current, purpose, now, self.max_session)
        incident_id = purpose.incident.id if purpose.incident else None
        if not decision.allowed:
            self._deny_offline(user, camera_id, purpose, decision, known)
        stream = pick_stream(known.camera.streams, stream_role)
        offline_id = str(uuid.uuid4())
        # journal_only: the durable local record is the condition for the view, whatever the database does now.
        self.sink.journal_only(AuditEntry(
            Action.VIEW_START, user.username, self.workstation, Outcome.OK, camera_id, incident_id,
            {OFFLINE_SESSION: offline_id, Detail.STREAM_ID: stream.id, Detail.REASON: purpose.reason.strip(),
             Detail.CAD_NUMBER: purpose.incident_label, Detail.RULE: decision.rule,
             "expires_at": decision.expires_at.isoformat(), DATA_AS_OF: known.read_at.isoformat()}), now)
        session_id = next(self._offline_ids)
        self._open[session_id] = _OpenView(user.username, self.workstation, camera_id, incident_id, stream.id, now,
                                           offline_id)
        credentials = self.last_known.credentials(stream.id)
        if not credentials and self.field_copy is not None:
            credentials = StreamCredentials(*self.field_copy.stream_credentials(stream.id))
        return ViewAuthorization(session_id, camera_id, stream, credentials, decision.expires_at, decision)

    def _too_old(self, known: KnownCamera | None, now: datetime) -> str | None:
        if known is None:
            return None
        limit = self.field_copy_max_age if known.from_field_copy else self.max_data_age
        return too_old(known.read_at, now, limit, known.from_field_copy)

    def _resolved_offline(self, purpose: Purpose) -> Purpose:
        incident = purpose.incident
        cad = (purpose.cad_number or "").strip() or None
        if incident is not None and incident.id is not None:
            incident = self.last_known.incident(incident.id) or (
                self.field_copy.incident(incident.id) if self.field_copy is not None else None) or incident
        elif cad is not None:
            incident = self.last_known.incident(cad_number=cad) or (
                self.field_copy.incident(cad_number=cad) if self.field_copy is not None else None)
        return Purpose(reason=purpose.reason, cad_number=cad, incident=incident)

    def _deny_offline(self, user: User, camera_id: int, purpose: Purpose, decision: Decision, known: KnownCamera):
        try:
            self.sink.journal_only(AuditEntry(
                Action.VIEW_DENIED, user.username, self.workstation, Outcome.DENIED, camera_id,
                purpose.incident.id if purpose.incident else None,
                {Detail.RULE: decision.rule, Detail.REASON: (purpose.reason or "").strip(),
                 Detail.CAD_NUMBER: purpose.incident_label, DATA_AS_OF: known.read_at.isoformat()}))
        except UserError as exc:
            raise ViewDenied(decision, not_recorded=str(exc)) from None
        raise ViewDenied(decision)

    # --- end ----------------------------------------------------------------------------------------

    def end_view(self, session_id: int, how_ended: str, now: datetime, frames_shown: int | None = None,
                 problem: str | None = None) -> float:
        played = played_details(frames_shown, problem)
        view = self._open.get(session_id)
        if view is not None and view.offline_id is None and self.sink.connectivity.online:
            try:
                duration = super().end_view(session_id, how_ended, now, frames_shown, problem)
            except (AuditUnavailable, StoreUnavailable, StoreError) as exc:
                if not _lost(exc):
                    raise
                self.sink.report_offline(_message(exc))
            else:
                self._open.pop(session_id, None)
                return duration
        elif view is None:
            return super().end_view(session_id, how_ended, now, frames_shown, problem)
        # Offline (or a view that started offline): VIEW_END through the sink, which journals it while offline.
        how_ended, outcome, played = how_view_ended(how_ended, played)
        duration = max((now - view.started_at).total_seconds(), 0.0)
        details = {Detail.STREAM_ID: view.stream_id, Detail.DURATION_S: round(duration, 3),
                   Detail.END_REASON: how_ended, **played}
        if view.offline_id is not None:
            details[OFFLINE_SESSION] = view.offline_id
        else:
            details[Detail.SESSION_ID] = session_id
        self.sink.append(AuditEntry(Action.VIEW_END, view.username, view.workstation, outcome, view.camera_id,
                                    view.incident_id, details))
        self._open.pop(session_id, None)
        if view.offline_id is None:
            with self._lock:
                self._ended_offline[session_id] = (now, how_ended)
            if self.sink.connectivity.online and not self.sink.connectivity.state.pending:
                self.close_sessions_ended_offline()
        return duration


def _lost(exc: BaseException) -> bool:
    if isinstance(exc, AuditUnavailable):
        return exc.connection_lost
    if isinstance(exc, StoreUnavailable):
        return True
    return connection_lost(exc)


def _message(exc: BaseException) -> str:
    return first_line(exc) if isinstance(exc, StoreError) else str(exc)

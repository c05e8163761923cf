"""Starting and ending a live view, fail closed: decide (may_view), record durably, and only then hand over the stream.

On a denial a VIEW_DENIED event names the rule and `ViewDenied` carries the Decision. On an allow, the
VIEW_START event and the view_sessions row are written in one transaction; the stream URL and its
credentials are returned only after that commit. If the audit store refuses, nothing is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from console.domain.access import DEFAULT_MAX_SESSION, Decision, Purpose, may_view
from console.domain.audit import Action, AuditEntry, Detail, Outcome
from console.domain.cameras import Camera, Stream, StreamRole
from console.domain.users import User
from console.errors import UserError
from console.services.accounts import AuditedService
from console.store import registry as registry_repo
from console.store.audit import AuditLog
from console.store.db import Database
from console.store import views
from console.store.secrets import ContactCipher
from console.store.transactions import audited_transaction
from console.store.users import get_user, get_user_by_id

MAX_REASON_CHARS = 500
RECENT_GRANTS = timedelta(hours=24)


class ViewDenied(UserError):
    """No live view: `decision` says which rule denied it."""

    def __init__(self, decision: Decision, not_recorded: str | None = None):
        message = f"live view refused: {decision.reason}"
        if not_recorded:
            message += f" (and the refusal could not be recorded: {not_recorded})"
        super().__init__(message)
        self.decision = decision


class _Changed(Exception):
    """The decision changed between the first check and the write: roll the write back."""

    def __init__(self, decision: Decision):
        super().__init__(decision.rule)
        self.decision = decision


class StreamCredentials:
    """The stream's user name and password, for the player only; repr and str never show them."""

    __slots__ = ("username", "password")

    def __init__(self, username: str | None, password: str | None):
        self.username = username
        self.password = password

    def __bool__(self) -> bool:
        return bool(self.username or self.password)

    def __repr__(self) -> str:
        return "StreamCredentials(<hidden>)" if self else "StreamCredentials(none)"

    __str__ = __repr__


@dataclass(frozen=True)
class ViewAuthorization:
    """What the player needs, handed out only after VIEW_START is stored."""

    session_id: int
    camera_id: int
    stream: Stream
    credentials: StreamCredentials
    expires_at: datetime
    decision: Decision
    tls_pin_sha256: str | None = None  # the camera's pinned certificate (self-signed RTSPS/HTTPS), not a secret

    @property
    def url(self) -> str:
        return self.stream.url


class ViewingService(AuditedService):
    def __init__(self, database: Database, audit: AuditLog, cipher: ContactCipher | None = None,
                 workstation: str | None = None, max_session: timedelta = DEFAULT_MAX_SESSION):
        if max_session <= timedelta(0):
            raise UserError("the maximum view session must be longer than zero minutes")
        super().__init__(database, audit, cipher, workstation)
        self.max_session = max_session

    def decide(self, user: User, camera_id: int, purpose: Purpose, now: datetime) -> tuple[Camera, Purpose, Decision]:
        """The decision with everything loaded fresh from the store: the user (role or lock may have changed
        since login), the camera, its grants and the incident (it may have closed)."""
        with self.database.engine.connect() as conn:
            return self._decide_on(conn, user, camera_id, purpose, now)

    def _decide_on(self, conn, user: User, camera_id: int, purpose: Purpose, now: datetime):
        camera = registry_repo.get_camera(conn, camera_id)
        if camera is None:
            raise UserError(f"there is no camera {camera_id} in the registry")
        current = get_user_by_id(conn, user.id) if user.id is not None else None
        if current is None:
            raise UserError(f"there is no user account {user.username}: log in again")
        purpose = _resolved(conn, purpose)
        # Grants that ended in the last day come too, so a denial can say "the alert ended at 14:05"
        # rather than "there is no alert"; may_view itself decides what is in force at `now`.
        grants = registry_repo.grants_for_cameras(conn, [camera_id], now - RECENT_GRANTS)
        self._read(camera, grants, current, purpose, now)
        return camera, purpose, may_view(camera, grants, current, purpose, now, self.max_session)

    def _read(self, camera: Camera, grants: list, user: User, purpose: Purpose, now: datetime) -> None:
        """What a decision was made on, as read from the store (console/services/offline.py keeps it)."""

    def explain(self, asked_by: str, username: str, camera_id: int, purpose: Purpose, now: datetime) -> Decision:
        """The decision for `username` without opening anything, recorded as ACCESS_EXPLAIN by whoever asked."""
        with self.database.engine.connect() as conn:
            user = get_user(conn, (username or "").strip())
        if user is None:
            raise UserError(f"there is no user named {username}: `rtic-console users list` shows them")
        camera, purpose, decision = self.decide(user, camera_id, purpose, now)
        self.audit.append(AuditEntry(
            Action.ACCESS_EXPLAIN, asked_by[:64], self.workstation, Outcome.OK, camera_id,
            purpose.incident.id if purpose.incident else None,
            {"user": user.username, Detail.RULE: decision.rule, "allowed": decision.allowed,
             "at": now.isoformat(), Detail.CAD_NUMBER: purpose.incident_label}))
        return decision

    def start_view(self, user: User, camera_id: int, purpose: Purpose, now: datetime,
                   stream_role: StreamRole = StreamRole.MAIN) -> ViewAuthorization:
        if len(purpose.reason or "") > MAX_REASON_CHARS:
            raise UserError(f"the reason is too long: at most {MAX_REASON_CHARS} characters")
        camera, purpose, decision = self.decide(user, camera_id, purpose, now)
        if not decision.allowed:
            self._deny(user, camera_id, purpose, decision)
        stream = pick_stream(camera.streams, stream_role)
        incident_id = purpose.incident.id if purpose.incident else None
        try:
            with audited_transaction(self.database) as conn:
                # Writing first takes the write lock, so the second decision below reads the latest commits:
                # an alert cancelled a moment ago cannot slip through between the check and the record.
                session_id = views.add_view_session(
                    conn, user_id=user.id, camera_id=camera_id, stream_id=stream.id, incident_id=incident_id,
                    cad_number=purpose.incident_label, reason=purpose.reason.strip(), workstation=self.workstation,
                    started_at=now, expires_at=decision.expires_at)
                _, _, recheck = self._decide_on(conn, user, camera_id, purpose, now)
                if recheck != decision:
                    raise _Changed(recheck)
                self.audit.append(AuditEntry(
                    Action.VIEW_START, user.username, self.workstation, Outcome.OK, camera_id, incident_id,
                    {Detail.SESSION_ID: session_id, Detail.STREAM_ID: stream.id,
                     Detail.REASON: purpose.reason.strip(), Detail.CAD_NUMBER: purpose.incident_label,
                     Detail.RULE: decision.rule, "expires_at": decision.expires_at.isoformat()}), conn=conn)
                username, password = registry_repo.stream_credentials(conn, self.cipher, stream.id)
        except _Changed as changed:
            if changed.decision.allowed:  # e.g. a grant extended meanwhile: ask again with the new facts
                raise UserError("the camera's sharing changed while the view was opening: open it again") from None
            self._deny(user, camera_id, purpose, changed.decision)
        return ViewAuthorization(session_id, camera_id, stream, StreamCredentials(username, password),
                                 decision.expires_at, decision, camera.tls_pin_sha256)

    def _deny(self, user: User, camera_id: int, purpose: Purpose, decision: Decision):
        """Record VIEW_DENIED and raise ViewDenied (saying so when even the denial could not be recorded)."""
        try:
            self.audit.append(AuditEntry(
                Action.VIEW_DENIED, user.username, self.workstation, Outcome.DENIED, camera_id,
                purpose.incident.id if purpose.incident else None,
                {Detail.RULE: decision.rule, Detail.REASON: (purpose.reason or "").strip(),
                 Detail.CAD_NUMBER: purpose.incident_label}))
        except UserError as exc:  # the store refused, or the reason held something the trail must not keep
            raise ViewDenied(decision, not_recorded=str(exc)) from None
        raise ViewDenied(decision)

    def renew_view(self, user: User, session_id: int, reason: str, now: datetime) -> ViewAuthorization:
        """Another session on the same camera and incident with a new reason; the old one ends as 'renewed'."""
        row = self._session(session_id)
        if row.user_id != user.id:
            raise UserError("only the person who opened this view can renew it")
        if (reason or "").strip() == row.reason:
            raise UserError("give a new reason to keep watching: say what has changed since the last one")
        incident = None
        if row.incident_id is not None:
            with self.database.engine.connect() as conn:
                incident = registry_repo.get_incident(conn, row.incident_id)
        purpose = Purpose(reason=reason, cad_number=row.cad_number, incident=incident)
        authorization = self.start_view(user, row.camera_id, purpose, now)
        if row.ended_at is None:
            self.end_view(session_id, "renewed", now)
        return authorization

    def end_view(self, session_id: int, how_ended: str, now: datetime, frames_shown: int | None = None,
                 problem: str | None = None) -> float:
        """Close the session and record VIEW_END with its duration in seconds (returned).

        With `frames_shown` (and, for a view that showed nothing, `problem`: the player's sentence) the event
        also says how many pictures were shown; 0 marks a view that never played.
        """
        played = played_details(frames_shown, problem)
        how_ended = (how_ended or "").strip()[:32] or "closed"
        row = self._session(session_id)
        if row.ended_at is not None:
            raise UserError(f"view session {session_id} has already ended")
        duration = max((now - row.started_at).total_seconds(), 0.0)
        with audited_transaction(self.database) as conn:
            views.end_view_session(conn, session_id, now, how_ended)
            self.audit.append(AuditEntry(
                Action.VIEW_END, row.username, row.workstation, Outcome.OK, row.camera_id, row.incident_id,
                {Detail.SESSION_ID: session_id, Detail.STREAM_ID: row.stream_id,
                 Detail.DURATION_S: round(duration, 3), Detail.END_REASON: how_ended, **played}), conn=conn)
        return duration

    def ended_sessions(self, session_ids: list[int]) -> dict[int, str]:
        """Of these view sessions, the ones that have ended (elsewhere: a CAD close, another console), with why."""
        if not session_ids:
            return {}
        with self.database.reader.connect() as conn:
            return views.ended_view_sessions(conn, session_ids)

    def _session(self, session_id: int) -> views.ViewSessionRecord:
        with self.database.engine.connect() as conn:
            row = views.get_view_session(conn, session_id)
        if row is None:
            raise UserError(f"there is no view session {session_id}")
        return row


MAX_PROBLEM_CHARS = 300


def played_details(frames_shown: int | None, problem: str | None) -> dict:
    """The view-end details on what was shown, checked: a whole number of frames, one bounded line of why."""
    if frames_shown is None:
        return {}
    if isinstance(frames_shown, bool) or not isinstance(frames_shown, int) or frames_shown < 0:
        raise UserError("the number of frames shown must be a whole number, zero or more")
    details: dict = {Detail.FRAMES_SHOWN: frames_shown}
    # The player's sentence; control characters become spaces so it stays one line the trail can keep.
    why = " ".join("".join(c if c.isprintable() else " " for c in str(problem or "")).split())[:MAX_PROBLEM_CHARS]
    if why:
        details[Detail.PROBLEM] = why
    return details


def _resolved(conn, purpose: Purpose) -> Purpose:
    """The purpose with its incident as stored now: by id when given, else by CAD number when the console has it."""
    incident = purpose.incident
    cad = (purpose.cad_number or "").strip() or None
    if incident is not None and incident.id is not None:
        incident = registry_repo.get_incident(conn, incident.id)
        if incident is None:
            raise UserError(f"there is no incident {purpose.incident.id}")
    elif cad is not None:
        incident = registry_repo.find_incident(conn, cad)  # a CAD number the console has not imported is fine
    return Purpose(reason=purpose.reason, cad_number=cad, incident=incident)


def pick_stream(streams: tuple[Stream, ...], role: StreamRole) -> Stream:
    """The camera's stream of the wanted role, else its first."""
    for stream in streams:
        if stream.role is role:
            return stream
    return streams[0]  # may_view has checked that there is at least one

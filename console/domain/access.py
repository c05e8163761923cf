"""The access decision: may this user watch this camera live, now, for this purpose? One pure function, `may_view`.

The GUI, the CLI (`access explain`) and the viewing service all call `may_view`; there is no second copy of
the rule. What the map, the lists and "open nearest live" show as openable is `consent_now`, the camera-and-
consent part that `may_view` itself uses (console/domain/sharing.py turns it into the shown state). Rules are checked in the order of `RULE_ORDER`; a denial names the first rule that failed (and
lists the others), in words a dispatcher understands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Union

from console.domain.cameras import Camera, CameraStatus, NearbyCamera, SharingMode
from console.domain.grants import ShareGrant
from console.domain.incidents import Incident
from console.domain.users import Permission, User

DEFAULT_MAX_SESSION = timedelta(minutes=15)
MIN_REASON_CHARS = 5


class Rule:
    """Machine-readable rule names, as `Decision.rule` and the audit trail carry them."""

    # allowing rules
    SHARING_ALWAYS = "sharing_always"
    OWNER_ALERT = "owner_alert"
    # denying rules, in the order they are checked
    ACCOUNT_INACTIVE = "account_inactive"
    ROLE_NO_LIVE_VIEW = "role_no_live_view"
    CAMERA_REGISTERED_ONLY = "camera_registered_only"
    CAMERA_NOT_ACTIVE = "camera_not_active"
    CAMERA_NO_STREAM = "camera_no_stream"
    SHARING_NEVER = "sharing_never"
    GRANT_REVOKED = "grant_revoked"
    GRANT_EXPIRED = "grant_expired"
    GRANT_NOT_STARTED = "grant_not_started"
    NO_ALERT = "no_alert"
    NO_INCIDENT = "no_incident"
    INCIDENT_CLOSED = "incident_closed"
    NO_REASON = "no_reason"


GRANT_RULES = (Rule.GRANT_REVOKED, Rule.GRANT_EXPIRED, Rule.GRANT_NOT_STARTED, Rule.NO_ALERT)


@dataclass(frozen=True)
class Purpose:
    """Why someone wants to watch: an incident (a CAD number, or an incident opened in the console) and a reason."""

    reason: str
    cad_number: str | None = None
    incident: Incident | None = None

    @property
    def incident_label(self) -> str | None:
        if self.incident is not None:
            return self.incident.cad_number or f"console incident {self.incident.id}"
        return (self.cad_number or "").strip() or None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str
    expires_at: datetime | None = None
    grant_id: int | None = None  # the grant that allows an on-alert view
    other_rules: tuple[str, ...] = field(default=())  # further rules that would also deny

    def as_dict(self) -> dict:
        return {
            "allowed": self.allowed,
            "rule": self.rule,
            "reason": self.reason,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "grant_id": self.grant_id,
            "other_rules": list(self.other_rules),
        }


AnyCamera = Union[Camera, NearbyCamera]  # a camera as stored, or as the nearby search returns it


@dataclass(frozen=True)
class Consent:
    """What the camera and its owner's consent say about watching it now, whoever asks and why."""

    denials: tuple[tuple[str, str], ...]  # (rule, reason), in the order may_view checks them
    grant: ShareGrant | None  # the owner's alert in force that allows an on-alert camera, if any

    @property
    def allowed(self) -> bool:
        return not self.denials

    @property
    def rule(self) -> str:
        if self.denials:
            return self.denials[0][0]
        return Rule.SHARING_ALWAYS if self.grant is None else Rule.OWNER_ALERT


def consent_now(camera: AnyCamera, grants: Iterable[ShareGrant], now: datetime) -> Consent:
    """The camera-and-consent rules of `may_view` alone: registered only, not active, no stream, sharing never,
    and for an on-alert camera the alert in force. `grants` may include grants for other cameras."""
    denials = _camera_denials(camera)
    grant, grant_denial = _grant(camera, list(grants), now)
    if grant_denial:
        denials.append(grant_denial)
    return Consent(tuple(denials), grant)


def may_view(camera: Camera, grants: Iterable[ShareGrant], user: User, purpose: Purpose, now: datetime,
             max_session: timedelta = DEFAULT_MAX_SESSION) -> Decision:
    """The decision for one live view starting at `now`; `grants` may include grants for other cameras."""
    if max_session <= timedelta(0):
        raise ValueError("the maximum view session must be longer than zero")
    denials: list[tuple[str, str]] = []
    if not user.is_active:
        denials.append((Rule.ACCOUNT_INACTIVE,
                        f"the account {user.username} is {user.state}: an administrator must unlock it"))
    if not user.may(Permission.LIVE_VIEW):
        denials.append((Rule.ROLE_NO_LIVE_VIEW,
                        f"the {user.role.value} role does not include live view"))
    consent = consent_now(camera, grants, now)
    denials.extend(consent.denials)
    grant = consent.grant
    denials.extend(_purpose_denials(purpose, now))
    if denials:
        (rule, reason), rest = denials[0], tuple(r for r, _ in denials[1:])
        return Decision(False, rule, reason, None, None, rest)
    ends = [now + max_session]
    if grant is not None:
        ends.append(grant.expires_at)
        if grant.revoked_at is not None:
            ends.append(grant.revoked_at)
    incident = purpose.incident
    if incident is not None and incident.closed_at is not None:
        ends.append(incident.closed_at)
    expires_at = min(ends)
    if grant is None:
        return Decision(True, Rule.SHARING_ALWAYS,
                        "the owner shares this camera at all times", expires_at)
    return Decision(True, Rule.OWNER_ALERT,
                    f"the owner raised an alert ({grant.source.value}) that is in force until "
                    f"{_hm(grant.expires_at)}", expires_at, grant.id)


def _camera_denials(camera: AnyCamera) -> list[tuple[str, str]]:
    out = []
    if not camera.is_live_capable:
        out.append((Rule.CAMERA_REGISTERED_ONLY,
                    "this camera is registered only: the owner gave a location and contact, not live access; "
                    "call the owner for footage"))
    if camera.status is not CameraStatus.ACTIVE:
        out.append((Rule.CAMERA_NOT_ACTIVE, f"this camera is {camera.status.value} in the registry"))
    if camera.is_live_capable and not camera.has_stream:
        out.append((Rule.CAMERA_NO_STREAM, "this camera has no stream address registered"))
    if camera.sharing_mode is SharingMode.NEVER:
        out.append((Rule.SHARING_NEVER, "the owner does not share this camera live"))
    return out


def _grant(camera: AnyCamera, grants: list[ShareGrant], now: datetime) -> tuple[ShareGrant | None, tuple | None]:
    """For an on-alert camera: the grant in force that lasts longest, or the denial saying why there is none."""
    if camera.sharing_mode is not SharingMode.ON_ALERT:
        return None, None
    mine = [g for g in grants if camera.id is not None and g.covers(camera.id, camera.site_id)]
    in_force = [g for g in mine if g.in_force(now)]
    if in_force:
        return max(in_force, key=_grant_end), None
    if any(g.revoked_at is not None and g.revoked_at <= now and g.starts_at <= now < g.expires_at for g in mine):
        return None, (Rule.GRANT_REVOKED, "the owner's alert was cancelled: live view is closed")
    if any(g.expires_at <= now for g in mine):
        latest = max(g.expires_at for g in mine if g.expires_at <= now)
        return None, (Rule.GRANT_EXPIRED, f"the owner's alert ended at {_hm(latest)}: live view is closed")
    if any(g.starts_at > now for g in mine):
        return None, (Rule.GRANT_NOT_STARTED, "the owner's alert has not started yet")
    return None, (Rule.NO_ALERT,
                  "the owner shares this camera only during an alert they raise, and there is no alert now")


def _grant_end(grant: ShareGrant) -> datetime:
    return min(grant.expires_at, grant.revoked_at) if grant.revoked_at else grant.expires_at


def _purpose_denials(purpose: Purpose, now: datetime) -> list[tuple[str, str]]:
    out = []
    if purpose.incident_label is None:
        out.append((Rule.NO_INCIDENT, "name the incident (CAD number) this view is for"))
    incident = purpose.incident
    if incident is not None and incident.closed_at is not None and incident.closed_at <= now:
        out.append((Rule.INCIDENT_CLOSED, f"incident {purpose.incident_label} was closed at {_hm(incident.closed_at)}"))
    if len((purpose.reason or "").strip()) < MIN_REASON_CHARS:
        out.append((Rule.NO_REASON, f"give a reason for this view (at least {MIN_REASON_CHARS} characters)"))
    return out


def _hm(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def purpose_problem(purpose: Purpose, now: datetime) -> str | None:
    """Why `may_view` would refuse this purpose (no incident, a closed one, a missing or short reason), or None.

    The reason prompt shows it before anything is sent, and nothing is remembered until it is None."""
    denials = _purpose_denials(purpose, now)
    return denials[0][1] if denials else None

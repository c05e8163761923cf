"""Audit events: what is recorded for every look, search, reveal and change, and how events are hashed.

The store chains events (each event's hash covers the previous event's hash); see console/store/audit.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Action:
    """Audit action names, as stored. One constant per kind of event the issue tracker lists."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    LOGOUT = "logout"
    IDLE_LOCK = "idle_lock"
    SEARCH_NEAR = "search_near"
    VIEW_START = "view_start"
    VIEW_END = "view_end"
    VIEW_DENIED = "view_denied"
    ACCESS_EXPLAIN = "access_explain"
    CONTACT_REVEAL = "contact_reveal"
    SNAPSHOT = "snapshot"
    EXPORT = "export"
    REGISTRY_CHANGE = "registry_change"
    CONSENT_CHANGE = "consent_change"
    USER_CHANGE = "user_change"
    AUDIT_VERIFY = "audit_verify"
    AUDIT_EXPORT = "audit_export"
    DEMO_CREATED = "demo_created"


class Outcome:
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditEntry:
    """One event to append. `details` holds ids and facts, never contact details or stream credentials."""

    action: str
    username: str
    workstation: str
    outcome: str = Outcome.OK
    camera_id: int | None = None
    incident_id: int | None = None
    details: dict = field(default_factory=dict)

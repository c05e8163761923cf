"""Audit events: what is recorded for every look, search, reveal and change, and how events are hashed.

The store chains events (each event's hash covers the previous event's hash); see console/store/audit.py.
Everything here is pure: the canonical form, the hash, the guard that keeps contact details and stream
credentials out of `details`, and the chain walk that `audit verify` runs over stored rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from console.errors import UserError

GENESIS_HASH = "0" * 64  # the "previous hash" of the first event


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
    FOOTAGE_REQUEST = "footage_request"  # a request to an owner created (ids, window)
    FOOTAGE_CONTACT = "footage_contact"  # an attempt to reach the owner and its outcome (never the note)
    EVIDENCE_ATTACH = "evidence_attach"  # files received, hashed and stored
    EVIDENCE_EXPORT = "evidence_export"  # an evidence package written
    CAD_INCIDENT = "cad_incident"  # an incident created, updated, closed or reopened from CAD
    REGISTRY_IMPORT = "registry_import"  # a portal export imported: file name, SHA-256, counts (never contacts)
    FIELD_COPY = "field_copy"  # a field laptop's encrypted registry copy made: for whom, the counts
    JOURNAL_TAMPERED = "journal_tampered"  # the offline journal failed its check at flush: workstation, sequences
    AUDIT_CHECKPOINT = "audit_checkpoint"  # the auditor's key signed the chain's head: seq, hash, count, signature
    KEY_EXPORT = "key_export"  # the agency contact key written to a passphrase-protected file (its key id)
    KEY_IMPORT = "key_import"  # a key file installed on a workstation (its key id)
    KEY_ROTATION = "key_rotation"  # a contact key rotation started, resumed or finished (key ids, counts)
    LEGAL_HOLD = "legal_hold"  # a legal hold placed or released (target, id, hold id, reason)
    RETENTION_RUN = "retention_run"  # a retention purge started, resumed, finished or refused (counts by kind)
    ALERT_INCIDENT = "alert_incident"  # an owner alert's incident opened, closed, or its alert acknowledged
    BULLETIN_SEND = "bulletin_send"  # an incident bulletin sent: its hashes and the recipients' hashes (no address)
    BULLETIN_GROUP = "bulletin_group"  # a saved recipient group made or changed (members' hashes)


class Outcome:
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


class Detail:
    """Agreed `details` keys, so reports can read what other parts of the console wrote.

    view_start: STREAM_ID, REASON, CAD_NUMBER, SESSION_ID.  view_end: SESSION_ID, STREAM_ID,
    DURATION_S (seconds, a number), END_REASON (user_closed, expired, revoked, error, no_picture, ...),
    FRAMES_SHOWN (pictures the console showed; 0: the view never played), PROBLEM (why no picture came).
    view_denied: RULE.  registry/consent/user changes: FIELD, OLD, NEW.
    """

    STREAM_ID = "stream_id"
    SESSION_ID = "session_id"
    REASON = "reason"
    CAD_NUMBER = "cad_number"
    DURATION_S = "duration_s"
    END_REASON = "end_reason"
    FRAMES_SHOWN = "frames_shown"
    PROBLEM = "problem"
    RULE = "rule"
    FIELD = "field"
    OLD = "old"
    NEW = "new"


class UnsafeAuditDetails(UserError):
    """An event's details would have carried contact details or credentials; nothing was written."""


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


@dataclass(frozen=True)
class AuditRecord:
    """One stored event, as read back (or as just appended)."""

    seq: int
    occurred_at: str  # ISO 8601 UTC with milliseconds, e.g. 2026-11-23T23:45:01.123Z
    username: str
    workstation: str
    action: str
    outcome: str
    camera_id: int | None
    incident_id: int | None
    details_json: str  # canonical JSON, exactly as hashed
    prev_hash: str
    hash: str

    @property
    def details(self) -> dict:
        return json.loads(self.details_json)

    @property
    def occurred(self) -> datetime:
        return parse_timestamp(self.occurred_at)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain: `first_bad_seq` is the first event that does not fit, or None."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    last_seq: int | None = None
    last_hash: str | None = None

    @property
    def anchor(self) -> str | None:
        """"SEQ:HASH" of the newest event checked, for `audit verify --anchor` later (None when none was)."""
        return f"{self.last_seq}:{self.last_hash}" if self.last_seq is not None and self.last_hash else None

    def summary(self) -> str:
        if self.ok:
            head = f"; head {self.last_seq} {self.last_hash}" if self.last_seq is not None else ""
            return f"audit chain intact: {self.checked} events checked{head}"
        return f"audit chain BROKEN at event {self.first_bad_seq}: {self.reason}"


# --- time -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What to read back. Times: `since` inclusive, `until` exclusive (aware datetimes)."""

    since: datetime | None = None
    until: datetime | None = None
    username: str | None = None
    camera_id: int | None = None
    camera_ids: tuple[int, ...] = ()  # any of these (a label or address matched to ids); with camera_id: both
    incident_id: int | None = None
    actions: tuple[str, ...] = ()
    outcome: str | None = None
    after_seq: int | None = None
    limit: int | None = None
    newest_first: bool = False


def format_timestamp(moment: datetime) -> str:
    """UTC, millisecond precision, fixed width, so stored strings sort in time order."""
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- what details may carry -------------------------------------------------------------------------

# Keys that name contact details or secrets. Matched against each key's words (split on _ - . and case),
# so "owner_phone", "Email", "stream.password" are refused too.
_FORBIDDEN_WORDS = {
    "phone", "mobile", "email", "mail", "contact", "password", "passwd", "pwd", "passphrase",
    "secret", "token", "credential", "credentials", "apikey", "totp", "otp",
}
_URL_WITH_USERINFO = re.compile(r"[a-z][a-z0-9+.\-]*://[^/\s@]*@", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s/:]+@[^@\s/:]+\.[a-z]{2,}", re.IGNORECASE)


def _key_words(key: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", key)
    return {word.lower() for word in re.split(r"[\s_\-.]+", spaced) if word}


def check_details(details: Mapping[str, Any], _path: str = "") -> None:
    """Raise UnsafeAuditDetails when details (at any depth) could carry contact details or credentials."""
    for key, value in details.items():
        if not isinstance(key, str):
            raise UnsafeAuditDetails(f"audit detail keys must be text, not {type(key).__name__}")
        where = f"{_path}{key}"
        if _key_words(key) & _FORBIDDEN_WORDS or key.lower() in _FORBIDDEN_WORDS:
            raise UnsafeAuditDetails(
                f"the audit detail {where!r} would record contact details or a credential: leave it out"
            )
        _check_value(value, where)


def _check_value(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        check_details(value, f"{where}.")
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_value(item, where)
    elif isinstance(value, str):
        if _URL_WITH_USERINFO.search(value):
            raise UnsafeAuditDetails(
                f"the audit detail {where!r} holds a URL with a user name or password: record the URL without them"
            )
        if _EMAIL.search(value):
            raise UnsafeAuditDetails(f"the audit detail {where!r} holds an e-mail address: leave it out")


# --- canonical form and hash ------------------------------------------------------------------------


def canonical_details(details: Mapping[str, Any]) -> str:
    """The one JSON text for a details dict: sorted keys, no spaces, UTF-8 kept; NaN refused."""
    try:
        return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UserError(f"audit details must be plain JSON values (text, numbers, lists, dicts): {exc}") from None


_encode_str = json.encoder.encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses


def _opt_int(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def canonical_form(seq: int, occurred_at: str, username: str, workstation: str, action: str, outcome: str,
                   camera_id: int | None, incident_id: int | None, details_json: str, prev_hash: str) -> bytes:
    """The bytes that are hashed: a compact JSON array of every field, details embedded as stored.

    It equals json.dumps([seq, occurred_at, ..., details, prev_hash], separators=(",", ":"),
    ensure_ascii=False, sort_keys=True) for canonical details; built by hand because verify runs it
    hundreds of thousands of times a second.
    """
    return (
        f"[{int(seq)},{_encode_str(occurred_at)},{_encode_str(username)},{_encode_str(workstation)},"
        f"{_encode_str(action)},{_encode_str(outcome)},{_opt_int(camera_id)},{_opt_int(incident_id)},"
        f"{details_json},{_encode_str(prev_hash)}]"
    ).encode("utf-8")


def event_hash(seq: int, occurred_at: str, username: str, workstation: str, action: str, outcome: str,
               camera_id: int | None, incident_id: int | None, details_json: str, prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical form."""
    return hashlib.sha256(
        canonical_form(seq, occurred_at, username, workstation, action, outcome, camera_id, incident_id,
                       details_json, prev_hash)
    ).hexdigest()


def record_hash(record: AuditRecord) -> str:
    return event_hash(record.seq, record.occurred_at, record.username, record.workstation, record.action,
                      record.outcome, record.camera_id, record.incident_id, record.details_json, record.prev_hash)


# --- the chain walk ---------------------------------------------------------------------------------

# A stored row as a plain tuple, in column order: seq, occurred_at, username, workstation, action,
# outcome, camera_id, incident_id, details, prev_hash, hash. Tuples keep verify fast.
Row = tuple


class ChainWalker:
    """Feeds rows in seq order; stops at the first event that was changed, removed, inserted or reordered."""

    def __init__(self, anchor: tuple[int, str] | None = None, marks: Iterable[int] = ()) -> None:
        # anchor (seq, hash) from an earlier verify or export: also catches a cut-off or rewritten chain.
        # marks: events whose hash to keep as walked (`hashes_at`), e.g. the ones signed checkpoints cover.
        self.anchor = anchor
        self._marks = set(marks) | ({anchor[0]} if anchor else set())
        self.hashes_at: dict[int, str] = {}
        self.checked = 0
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH
        self.broken: VerifyResult | None = None

    def feed(self, rows: Iterable[Row]) -> bool:
        """Check a batch of stored rows (all columns); False once the chain is broken (later rows are ignored)."""
        enc = _encode_str  # a local: this runs once per stored event
        return self.feed_forms(
            (seq, f"[{seq},{enc(at)},{enc(user)},{enc(ws)},{enc(action)},{enc(outcome)},"
                  f"{'null' if cam is None else cam},{'null' if inc is None else inc},{details},{enc(row_prev)}]"
                  .encode("utf-8"), row_prev, row_hash)
            for seq, at, user, ws, action, outcome, cam, inc, details, row_prev, row_hash in rows)

    def feed_forms(self, rows: Iterable[tuple]) -> bool:
        """Check a batch of (seq, canonical form as UTF-8 bytes, prev_hash, hash): `feed` builds the forms from the
        stored columns; the SQLite store builds them in SQL (console/store/audit.py) so that only four values per
        event cross the driver. False once the chain is broken (later rows are then ignored)."""
        if self.broken is not None:
            return False
        sha256 = hashlib.sha256
        marks, hashes_at = self._marks, self.hashes_at
        expected, prev = self.expected_seq, self.prev_hash
        for seq, form, row_prev, row_hash in rows:
            if seq != expected:
                why = (f"event {expected} is missing" if seq > expected
                       else f"event {seq} appears out of order after event {expected - 1}")
                return self._break(seq, why, expected, prev)
            if row_prev != prev:
                return self._break(seq, "its previous-event hash does not match the event before it", expected, prev)
            if sha256(form).hexdigest() != row_hash:
                return self._break(seq, "its contents do not match its hash (the event was changed)", expected, prev)
            if seq in marks:
                hashes_at[seq] = row_hash
            expected += 1
            prev = row_hash
        self.checked += expected - self.expected_seq
        self.expected_seq, self.prev_hash = expected, prev
        return True

    def _break(self, seq: int, reason: str, expected: int, prev: str) -> bool:
        self.checked += expected - self.expected_seq
        self.expected_seq, self.prev_hash = expected, prev
        self.broken = VerifyResult(ok=False, checked=self.checked, first_bad_seq=seq, reason=reason)
        return False

    @property
    def last_good_seq(self) -> int:
        """The newest event that fits the chain so far (0 when none does)."""
        return self.expected_seq - 1

    def result(self) -> VerifyResult:
        """The verdict once every row was fed."""
        if self.broken is not None:
            return self.broken
        last_seq = self.expected_seq - 1 if self.checked else None
        last_hash = self.prev_hash if self.checked else None
        if self.anchor is not None:
            seq, digest = self.anchor
            if last_seq is None or seq > last_seq:
                return VerifyResult(False, self.checked, (last_seq or 0) + 1,
                                    f"events after {last_seq or 0} are missing: an earlier check saw event {seq}",
                                    last_seq, last_hash)
            if self.hashes_at.get(seq) != digest:
                return VerifyResult(False, self.checked, seq,
                                    "its hash differs from the one an earlier check recorded (the chain was rewritten)",
                                    last_seq, last_hash)
        return VerifyResult(True, self.checked, None, "", last_seq, last_hash)

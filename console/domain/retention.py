"""Retention rules: the kinds of record that are purged, legal holds on them, and the auditor's signed cut of the trail.

Pure: who may place or release a hold, what a hold's reason may hold, what each kind's limit means, and the exact
bytes the auditor's key signs to let the audit trail be cut at one event (a different statement from a checkpoint,
so a checkpoint's signature can never be passed off as permission to purge).
"""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from console.domain.users import Role
from console.errors import UserError

MAX_REASON = 500
HOLD_ROLES = (Role.SUPERVISOR, Role.ADMIN)
CUT_TYPE = "rtic-console audit cut v1"  # in the signed bytes: this signature means "may purge up to seq", nothing else
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class HoldTarget(str, enum.Enum):
    INCIDENT = "incident"
    FOOTAGE_REQUEST = "footage_request"
    CAMERA = "camera"


def parse_target(text: str) -> HoldTarget:
    cleaned = (text or "").strip().lower().replace("-", "_").replace(" ", "_")
    if cleaned == "request":
        cleaned = HoldTarget.FOOTAGE_REQUEST.value
    try:
        return HoldTarget(cleaned)
    except ValueError:
        raise UserError(f"a legal hold is placed on an incident, a footage_request or a camera, not "
                        f"{text[:40]!r}") from None


class Kind(str, enum.Enum):
    """The kinds of record a retention run purges, in the order it purges them (the audit trail last: its cut
    comes after every other purge was recorded)."""

    VIEW_SESSIONS = "view_sessions"
    SNAPSHOTS = "snapshots"
    FOOTAGE = "footage"
    BULLETINS = "bulletins"
    OUTREACH = "outreach_calls"
    DECLINED = "declined_registrations"
    FIELD_COPY = "field_copy"
    AUDIT = "audit_trail"


def hold_refusal(role: Role) -> str | None:
    """Why `role` may not place or release a legal hold, or None (supervisors and administrators may)."""
    if role in HOLD_ROLES:
        return None
    return f"the {role.value} role cannot place or release a legal hold: only a supervisor or an administrator can"


def checked_reason(text: str | None, what: str = "reason") -> str:
    """A hold's (or release's) reason as stored: required, at most MAX_REASON characters, printable text."""
    reason = (text or "").strip()
    if not reason:
        raise UserError(f"a legal hold needs a {what} (for example the case number and the order or request): "
                        "nothing was done")
    if len(reason) > MAX_REASON:
        raise UserError(f"the {what} is {len(reason)} characters long: at most {MAX_REASON} fit (nothing was done)")
    bad = [c for c in reason if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") and c != " "]
    if bad:
        raise UserError(f"the {what} holds a control or invisible character (U+{ord(bad[0]):04X}): write it as plain "
                        "text (nothing was done)")
    return reason


@dataclass(frozen=True)
class Hold:
    id: int
    target: HoldTarget
    target_id: int
    reason: str
    held_by: str
    held_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None


@dataclass(frozen=True)
class Held:
    """Everything under an active hold, by id; a held footage request also holds its incident's audit events."""

    incidents: frozenset[int] = frozenset()
    requests: frozenset[int] = frozenset()
    cameras: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Due:
    """What a run would purge of one kind: how many, the oldest, why it is due, and what stops it ("" if nothing)."""

    kind: Kind
    count: int
    oldest: datetime | None
    why: str
    held: int = 0  # due by age but kept by a legal hold
    blocked: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind.value, "count": self.count, "held": self.held,
                "oldest": self.oldest.isoformat() if self.oldest else None, "why": self.why, "blocked": self.blocked}


# --- the auditor's signed cut -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cut:
    """The auditor's signed permission to purge the audit trail up to event `seq`, whose hash was `hash`."""

    seq: int
    hash: str
    signed_at: str
    key: str
    signature: str

    def signed_bytes(self) -> bytes:
        return cut_bytes(self.seq, self.hash, self.signed_at, self.key)

    def as_dict(self) -> dict:
        return {"seq": self.seq, "hash": self.hash, "signed_at": self.signed_at, "key": self.key,
                "signature": self.signature}


def cut_bytes(seq: int, hash: str, signed_at: str, key: str) -> bytes:
    return json.dumps({"type": CUT_TYPE, "seq": int(seq), "hash": hash, "signed_at": signed_at, "key": key},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def cut_from(values: Mapping) -> Cut:
    """A Cut from untrusted values (a stored row); ValueError naming the malformed field."""
    seq = values.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= 2**63 - 1:
        raise ValueError("its seq is not a whole number")
    for name, pattern in (("hash", _HEX64), ("signed_at", _TIME), ("key", _HEX64), ("signature", _HEX128)):
        if not isinstance(values.get(name), str) or not pattern.match(values[name]):
            raise ValueError(f"its {name} is malformed")
    return Cut(seq, values["hash"], values["signed_at"], values["key"], values["signature"])

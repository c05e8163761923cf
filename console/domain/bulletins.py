"""Incident bulletins: what a dispatcher sends the officers responding (a snapshot, a short clip, a text), checked.

Everything here is checked at the edge, once: the text's length and characters, each recipient address
(email-validator, no DNS), each attachment by its magic bytes (never by its name), the sizes. A bulletin is
evidence, so it has one SHA-256 over its canonical JSON (incident, sender, time, text, reason, the attachments'
hashes and the recipients' hashes); the audit trail holds that hash and the recipients' hashes, never an address.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from email_validator import EmailNotValidError, validate_email

from console.errors import UserError

MAX_TEXT_CHARS = 1000
MAX_REASON_CHARS = 200
MAX_RECIPIENTS = 50
MAX_GROUP_NAME = 60
MAX_GROUP_MEMBERS = 100
DEFAULT_MAX_MB = 10.0
DEFAULT_CLIP_MAX_S = 15.0
STALE_SENDING = timedelta(minutes=10)  # a "sending" item nobody finished: its console died mid-send
BACKOFF_FIRST_S = 5.0
BACKOFF_MAX_S = 300.0
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_GROUP = re.compile(r"^[\w][\w .#/-]{0,59}$")


class AttachmentKind(str, enum.Enum):
    PNG = "image/png"
    JPEG = "image/jpeg"
    MP4 = "video/mp4"

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg", "video/mp4": "mp4"}[self.value]

    @property
    def is_image(self) -> bool:
        return self is not AttachmentKind.MP4


class DeliveryState(str, enum.Enum):
    QUEUED = "queued"  # waiting for its turn (first try, or after a temporary failure: see next_attempt_at)
    SENDING = "sending"  # a console claimed it and is talking to the relay
    SENT = "sent"  # the relay accepted it
    FAILED = "failed"  # the relay refused it for good (5xx), or it can never be sent (too big)


def sniff(data: bytes) -> AttachmentKind | None:
    """The kind of file `data` is by its first bytes; None when it is none of the kinds a bulletin may carry."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return AttachmentKind.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return AttachmentKind.JPEG
    # MP4 (ISO base media): a box size, then 'ftyp' and a brand; QuickTime's 'qt  ' brand is not MP4.
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in {
            b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V "}:
        return AttachmentKind.MP4
    return None


@dataclass(frozen=True)
class Attachment:
    name: str
    kind: AttachmentKind
    data: bytes = field(repr=False)
    # A clip read for a list is not loaded (megabytes per row): its stored hash and size stand in for it.
    stored_sha256: str | None = None
    stored_size: int | None = None

    @property
    def loaded(self) -> bool:
        return bool(self.data) or self.stored_sha256 is None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.loaded else self.stored_sha256

    @property
    def size(self) -> int:
        return len(self.data) if self.loaded else (self.stored_size or 0)


def check_attachment(data: bytes, label: str, want_image: bool) -> Attachment:
    """An Attachment of `data`, or UserError saying what it is not. `label` names it for the person."""
    kind = sniff(data)
    if kind is None:
        raise UserError(f"{label} is not a PNG, JPEG or MP4 file (its content says otherwise, whatever its name)")
    if want_image and not kind.is_image:
        raise UserError(f"{label} is a video: give a PNG or JPEG picture as the image and the video as the clip")
    if not want_image and kind.is_image:
        raise UserError(f"{label} is a picture: a clip must be an MP4 video")
    stem = "snapshot" if kind.is_image else "clip"
    return Attachment(f"{stem}.{kind.extension}", kind, data)


def check_size(attachments: list[Attachment], max_mb: float) -> None:
    total = sum(a.size for a in attachments)
    if total > max_mb * 1_000_000:
        raise UserError(f"the attachments are {total / 1_000_000:.1f} MB together: a bulletin carries at most "
                        f"{max_mb:g} MB (setting bulletin_max_mb); send a shorter clip or no clip")


def clean_text(text: str, limit: int, what: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if _CONTROL.search(text):
        raise UserError(f"the {what} holds control characters: type it again as plain text")
    if len(text) > limit:
        raise UserError(f"the {what} is {len(text)} characters long: keep it to {limit}")
    return text


def normalise_address(address: str) -> str:
    """The address in its one stored form, or UserError saying why it is not an e-mail address."""
    raw = (address or "").strip()
    if len(raw) > 254 or _CONTROL.search(raw) or "\n" in raw or "\r" in raw:
        raise UserError(f"{_shown(raw)} is not an e-mail address a bulletin can go to")
    try:
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise UserError(f"{_shown(raw)} is not an e-mail address a bulletin can go to: {exc}") from None
    return checked.normalized.lower()


def address_hash(address: str) -> str:
    """What the audit trail and the shared registry's reports hold instead of the address."""
    return hashlib.sha256(address.lower().encode("utf-8")).hexdigest()


def check_group_name(name: str) -> str:
    name = (name or "").strip()
    if not _GROUP.match(name) or "@" in name:
        raise UserError(f"{_shown(name)} is not a group name: letters, digits, spaces and . # / - only, "
                        f"at most {MAX_GROUP_NAME} characters, no @")
    return name


def _shown(text: str) -> str:
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def backoff_s(attempts: int) -> float:
    """Seconds to wait before try number attempts+1: 5, 10, 20, ... at most 300."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * (2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Recipient:
    id: int
    bulletin_id: int
    address: str
    group_name: str | None
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    message_id: str
    last_error: str = ""
    sent_at: datetime | None = None
    claimed_at: datetime | None = None
    claimed_by: str | None = None


@dataclass(frozen=True)
class Bulletin:
    id: int
    incident_id: int
    cad_number: str
    sent_by: str
    sent_at: datetime
    text: str
    reason: str
    camera_id: int | None
    workstation: str
    content_sha256: str
    attachments: tuple[Attachment, ...] = ()
    recipients: tuple[Recipient, ...] = ()

    @property
    def image(self) -> Attachment | None:
        return next((a for a in self.attachments if a.kind.is_image), None)

    @property
    def clip(self) -> Attachment | None:
        return next((a for a in self.attachments if not a.kind.is_image), None)

    @property
    def delivery_summary(self) -> str:
        counts: dict[str, int] = {}
        for r in self.recipients:
            counts[r.state.value] = counts.get(r.state.value, 0) + 1
        return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no e-mail recipients"


def content_hash(incident_id: int, cad_number: str, sent_by: str, sent_at: datetime, text: str, reason: str,
                 camera_id: int | None, attachments: list[Attachment], addresses: list[str]) -> str:
    """SHA-256 of the bulletin's canonical JSON: anyone holding the parts can compute it again."""
    body = {"incident_id": incident_id, "cad_number": cad_number, "sent_by": sent_by,
            "sent_at": sent_at.astimezone(timezone.utc).isoformat(), "text": text, "reason": reason,
            "camera_id": camera_id,
            "attachments": [{"name": a.name, "type": a.kind.value, "sha256": a.sha256, "size": a.size}
                            for a in attachments],
            "recipients": sorted(address_hash(a) for a in addresses)}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()

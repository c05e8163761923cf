"""A camera registration taken over the phone, what counts as the same place or owner, and outreach call outcomes.

Pure: the form as the outreach staffer fills it, its checks (one clear sentence per problem), address
normalisation for duplicate detection, and the consent wording read to the owner.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import datetime

from console.domain.cameras import Capability, CameraInvalid, SharingMode, check_camera_fields
from console.domain.geo import validate_point
from console.domain.owners import OwnerContact, OwnerKind, mask_text

DUPLICATE_SITE_RADIUS_M = 15.0

# Read aloud, word for word, before the owner agrees; stored with every camera registered on the call.
PHONE_CONSENT_WORDING = (
    "You are registering your security cameras with the police department's community camera program. "
    "We will record each camera's location and direction and how to contact you. Registering gives police "
    "no access to your cameras: investigators may call you to ask for recorded footage, and you may say no. "
    "If a camera is live-capable, police may watch it only as you choose: never, only while you have raised "
    "an alert, or always; every look is recorded. You can change your choice, remove a camera or ask us to "
    "delete your registration at any time by calling this office. Do you agree to register on these terms?"
)


class Placement(str, enum.Enum):
    OUTSIDE = "outside"
    INSIDE = "inside"


@dataclass(frozen=True)
class IntakeCamera:
    label: str
    lat: float
    lon: float
    capability: Capability = Capability.REGISTERED
    sharing_mode: SharingMode = SharingMode.NEVER
    placement: Placement = Placement.OUTSIDE
    bearing_deg: float | None = None
    fov_deg: float | None = None
    range_m: float | None = None
    stream_url: str = ""  # may carry user:password@; split off and encrypted when stored

    def __repr__(self) -> str:  # the stream URL may hold a password
        return f"IntakeCamera({self.label!r}, {self.capability.value}, {self.sharing_mode.value})"


@dataclass(frozen=True)
class IntakeForm:
    """Everything taken on one call: who, where, which cameras, and that the owner agreed to the wording."""

    owner_kind: OwnerKind
    contact: OwnerContact
    site_name: str
    address: str
    lat: float
    lon: float
    cameras: tuple[IntakeCamera, ...]
    owner_agreed: bool
    consent_wording: str = PHONE_CONSENT_WORDING


def check_form(form: IntakeForm) -> None:
    """ValueError with one sentence for the first thing that keeps the registration from being saved."""
    if not form.owner_agreed:
        raise ValueError("the owner has not agreed: read the consent wording and tick 'owner agreed' first")
    if not form.contact.name.strip():
        raise ValueError("give the owner's name")
    if form.owner_kind is OwnerKind.BUSINESS and not form.contact.organisation.strip():
        raise ValueError("give the business name for a business owner")
    if not (form.contact.phone.strip() or form.contact.email.strip()):
        raise ValueError("give a phone number or an e-mail address so the owner can be reached for footage")
    if form.contact.phone.strip() and len(re.sub(r"\D", "", form.contact.phone)) < 7:
        raise ValueError("the phone number has too few digits")
    if form.contact.email.strip() and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", form.contact.email.strip()):
        raise ValueError("the e-mail address does not look like one (name@example.org)")
    if not form.address.strip():
        raise ValueError("give the site's address")
    validate_point(form.lat, form.lon)
    if not form.cameras:
        raise ValueError("add at least one camera")
    labels = [c.label.strip().lower() for c in form.cameras]
    for number, camera in enumerate(form.cameras, 1):
        _check_camera(number, camera)
    if len(set(labels)) != len(labels):
        raise ValueError("two cameras have the same label: give each camera its own label")


def _check_camera(number: int, camera: IntakeCamera) -> None:
    where = f"camera {number}"
    if not camera.label.strip():
        raise ValueError(f"{where} has no label (e.g. 'Front door')")
    where = f"camera {number} ({camera.label.strip()})"
    try:
        validate_point(camera.lat, camera.lon)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    for name, value, low, high in (("direction", camera.bearing_deg, 0, 360), ("field of view", camera.fov_deg, 1, 360),
                                   ("range", camera.range_m, 1, 1000)):
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{where}: the {name} must be between {low} and {high}")
    url = camera.stream_url.strip()
    try:
        check_camera_fields(camera.capability, camera.sharing_mode, [url] if url else [])
    except CameraInvalid as exc:
        raise ValueError(f"{where}: {exc}") from None


# --- addresses --------------------------------------------------------------------------------------

_ABBREVIATIONS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "boulevard": "blvd", "lane": "ln",
    "court": "ct", "place": "pl", "terrace": "ter", "highway": "hwy", "parkway": "pkwy", "square": "sq",
    "circle": "cir", "north": "n", "south": "s", "east": "e", "west": "w", "apartment": "apt", "suite": "ste",
    "massachusetts": "ma", "mount": "mt", "saint": "st",
}


def normalise_address(address: str) -> str:
    """'12 Main Street, Chicopee MA' and '12 main st chicopee, ma' give the same text."""
    words = re.findall(r"[a-z0-9]+", (address or "").lower().replace("#", " "))
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


def house_number(address: str) -> str | None:
    """The leading number of an address (what narrows a search for the same address), or None."""
    match = re.match(r"\s*(\d+)", address or "")
    return match.group(1) if match else None


# --- duplicates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteCandidate:
    """An existing site that may be the one on the phone: same address, or within 15 m."""

    site_id: int
    owner_id: int
    name: str
    address: str
    distance_m: float
    same_address: bool

    @property
    def why(self) -> str:
        return "same address" if self.same_address else f"{self.distance_m:.0f} m away"


@dataclass(frozen=True)
class OwnerCandidate:
    """An existing owner with the same phone or e-mail. `name` is masked (initials): the caller typed the rest."""

    owner_id: int
    kind: OwnerKind
    name: str
    matched_on: tuple[str, ...]  # "phone", "email"
    sites: int

    @staticmethod
    def masked_name(contact: OwnerContact) -> str:
        return contact.organisation or mask_text(contact.name)


@dataclass(frozen=True)
class Duplicates:
    sites: tuple[SiteCandidate, ...] = ()
    owners: tuple[OwnerCandidate, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sites or self.owners)

    def summary(self) -> str:
        parts = [f"owner #{o.owner_id} ({o.name}) has the same {' and '.join(o.matched_on)}" for o in self.owners]
        parts += [f"site #{s.site_id} '{s.name}' at {s.address} ({s.why})" for s in self.sites]
        return "; ".join(parts)


# --- outreach calls ---------------------------------------------------------------------------------


class CallOutcome(str, enum.Enum):
    REGISTERED = "registered"
    DECLINED = "declined"
    CALL_BACK = "call_back"
    NO_ANSWER = "no_answer"


def parse_outcome(text: str) -> CallOutcome:
    try:
        return CallOutcome(text.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        raise ValueError(f"unknown call outcome {text!r}: use one of "
                         f"{', '.join(o.value for o in CallOutcome)}") from None


@dataclass(frozen=True)
class DueCall:
    """A business or resident to call (again): a call-back that is due, or a call nobody answered a while ago."""

    call_id: int
    business: str
    address: str
    last_called_at: datetime
    last_outcome: CallOutcome
    due_at: datetime
    staff: str
    notes: str

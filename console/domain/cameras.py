"""Registered cameras, their streams and the owner's consent, as the registry program defines them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


class Capability(str, enum.Enum):
    """What a registration gives police: a location and a contact, or a live-capable camera too."""

    REGISTERED = "registered"
    LIVE = "live"


class SharingMode(str, enum.Enum):
    """When the owner lets police watch a live-capable camera."""

    NEVER = "never"
    ON_ALERT = "on_alert"
    ALWAYS = "always"


class CameraStatus(str, enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"  # offline or paused by the owner; kept in the registry
    REMOVED = "removed"  # the owner withdrew it; kept for history, never shown as nearby


class ConsentChannel(str, enum.Enum):
    WEB = "web"
    PHONE = "phone"
    IN_PERSON = "in_person"
    DEVICE = "device"


class StreamProtocol(str, enum.Enum):
    RTSP = "rtsp"
    RTSPS = "rtsps"
    WHEP = "whep"
    HLS = "hls"
    HTTP = "http"


class StreamRole(str, enum.Enum):
    MAIN = "main"
    SUB = "sub"


class FieldOfView(NamedTuple):
    """Where the camera looks: compass bearing of the centre line, opening angle, useful range."""

    bearing_deg: float
    angle_deg: float
    range_m: float


@dataclass(frozen=True)
class ConsentRecord:
    """When, how and by whom the owner's registration (and sharing choice) was recorded."""

    at: datetime
    channel: ConsentChannel
    taken_by: str
    wording: str = ""


@dataclass(frozen=True)
class Stream:
    """One way to watch a camera. `url` never holds credentials; those are kept encrypted apart."""

    protocol: StreamProtocol
    url: str
    role: StreamRole = StreamRole.MAIN
    id: int | None = None
    has_credentials: bool = False


@dataclass(frozen=True)
class Camera:
    id: int | None
    site_id: int | None
    label: str
    lat: float
    lon: float
    address: str
    capability: Capability
    sharing_mode: SharingMode
    status: CameraStatus = CameraStatus.ACTIVE
    field_of_view: FieldOfView | None = None
    consent: ConsentRecord | None = None
    streams: tuple[Stream, ...] = field(default=())
    portal_id: str | None = None
    is_demo: bool = False

    @property
    def is_live_capable(self) -> bool:
        return self.capability is Capability.LIVE


class NearbyCamera(NamedTuple):
    """A camera found near a point: what the nearby list and the map need, without streams or contact.

    A NamedTuple, not a dataclass: a search builds hundreds of these and must answer in a few milliseconds.
    """

    id: int
    site_id: int
    owner_id: int
    label: str
    lat: float
    lon: float
    address: str
    capability: Capability
    sharing_mode: SharingMode
    status: CameraStatus
    field_of_view: FieldOfView | None
    consent_at: datetime | None
    distance_m: float
    bearing_deg: float  # from the search centre to the camera, degrees clockwise from north

    @property
    def is_live_capable(self) -> bool:
        return self.capability is Capability.LIVE

"""Registered cameras, their streams and the owner's consent, as the registry program defines them."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, NamedTuple
from urllib.parse import quote, unquote, urlsplit, urlunsplit

MAX_STREAM_URL = 1000  # characters, as the streams table stores it


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
    tls_pin_sha256: str | None = None  # 64 hex digits (normalize_fingerprint): the one certificate its TLS may show

    @property
    def is_live_capable(self) -> bool:
        return self.capability is Capability.LIVE

    @property
    def has_stream(self) -> bool:
        return bool(self.streams)


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
    has_stream: bool = False  # whether a stream address is registered (what may_view needs of the streams)

    @property
    def is_live_capable(self) -> bool:
        return self.capability is Capability.LIVE


# --- the one stream-URL classifier and the camera invariants (every ingest path goes through these) -------------


class CameraInvalid(ValueError):
    """A camera that breaks one of the registry's rules; `field` names the value to fix, str() says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# Query parameters some cameras take credentials in (Foscam ?usr=&pwd=, cheap P2P cameras ?loginuse=&loginpas=,
# CGI snapshot/MJPEG URLs ?user=&password=, ...). Compared without case; their values are split off like user info.
QUERY_USER_NAMES = frozenset({"user", "username", "usr", "loginuse", "login"})
QUERY_PASSWORD_NAMES = frozenset({"password", "passwd", "pass", "pwd", "pas", "psw", "pw", "loginpas"})
USER_PLACEHOLDER, PASSWORD_PLACEHOLDER = "{user}", "{password}"


def split_stream_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(url, user, password) with every credential taken out of a stream URL, decoded (%XX undone).

    User info (`rtsp://user:pass@host/`) is removed; a credential in the query (`?user=admin&pwd=secret`) keeps its
    place as a placeholder (`?user={user}&pwd={password}`), which `fill_stream_credentials` fills in, percent-
    encoded, only when the stream is opened: the stored URL never holds a secret. A URL without credentials comes
    back unchanged.
    """
    parts = urlsplit(url)
    user = password = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        raw_user, has_colon, raw_password = userinfo.partition(":")
        user = unquote(raw_user) or None
        password = unquote(raw_password) if has_colon and raw_password else None
    query = parts.query
    if query:
        fields = []
        for field_text in query.split("&"):
            name, eq, value = field_text.partition("=")
            key = unquote(name).lower()
            if eq and key in QUERY_USER_NAMES and value != USER_PLACEHOLDER:
                user = user or unquote(value.replace("+", " ")) or None
                field_text = f"{name}={USER_PLACEHOLDER}"
            elif eq and key in QUERY_PASSWORD_NAMES and value != PASSWORD_PLACEHOLDER:
                password = password or unquote(value.replace("+", " ")) or None
                field_text = f"{name}={PASSWORD_PLACEHOLDER}"
            fields.append(field_text)
        query = "&".join(fields)
    if netloc == parts.netloc and query == parts.query:
        return url, None, None
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)), user, password


def fill_stream_credentials(url: str, user: str | None, password: str | None) -> str:
    """The URL to open: the query placeholders of `split_stream_credentials` replaced by the credentials,
    percent-encoded (an empty one when none is stored). User info is not added here (see StreamSource)."""
    parts = urlsplit(url)
    if USER_PLACEHOLDER not in parts.query and PASSWORD_PLACEHOLDER not in parts.query:
        return url
    query = (parts.query.replace(USER_PLACEHOLDER, quote(user or "", safe=""))
             .replace(PASSWORD_PLACEHOLDER, quote(password or "", safe="")))
    return urlunsplit(parts._replace(query=query))


def has_query_credentials(url: str) -> bool:
    """True when the URL takes its credentials in the query (placeholders to fill), not as user info."""
    query = urlsplit(url).query
    return USER_PLACEHOLDER in query or PASSWORD_PLACEHOLDER in query


def normalize_fingerprint(text: str) -> str:
    """A certificate's SHA-256 fingerprint as 64 lower-case hex digits, from the forms people copy it in
    (`AB:CD:...`, `sha256 Fingerprint=AB:CD...`, with spaces); ValueError with one sentence otherwise."""
    value = (text or "").strip()
    if "=" in value:
        value = value.rpartition("=")[2]
    value = value.lower().removeprefix("sha256:").replace(":", "").replace(" ", "").replace("-", "")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError("the certificate fingerprint must be a SHA-256 fingerprint: 64 hex digits (colons allowed), "
                         "as `openssl x509 -noout -fingerprint -sha256` prints it")
    return value


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """('rtsp://host/path', user, password) from a URL that may carry 'user:password@' or query credentials
    (see split_stream_credentials: what intake, import and the registry store)."""
    return split_stream_credentials(url)


def stream_protocol(url: str) -> StreamProtocol:
    """How a stream URL is played, decided here for every path (intake, edits, imports, the feed, the players).

    rtsp:// and rtsps:// are RTSP (RTSPS keeps that it runs over TLS); http(s):// with a path segment `whep` is
    WebRTC (WHEP); a path ending in .m3u8 is HLS; any other http(s):// is plain HTTP. Anything else, and a URL
    that is not absolute, too long, or holds spaces or control characters, is refused: ValueError, one sentence.
    """
    if not isinstance(url, str) or not url:
        raise ValueError("the stream URL is empty")
    if len(url) > MAX_STREAM_URL:
        raise ValueError(f"the stream URL is {len(url):,} characters long; at most {MAX_STREAM_URL:,}")
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        raise ValueError("the stream URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValueError("the stream URL is not a valid URL (check the host and port)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("rtsp", "rtsps", "http", "https"):
        shown = f"{scheme[:12]}:" if scheme else "no scheme"  # urlsplit keeps only letters, digits, + - . here
        raise ValueError(f"the stream URL must start with rtsp://, rtsps://, http:// or https:// (it has {shown})")
    if not parts.hostname:
        raise ValueError("the stream URL has no host name")
    if scheme in ("rtsp", "rtsps"):
        return StreamProtocol(scheme)
    path = parts.path.lower()
    if "whep" in path.split("/"):
        return StreamProtocol.WHEP
    if path.endswith(".m3u8"):
        return StreamProtocol.HLS
    return StreamProtocol.HTTP


def check_camera_fields(capability: Capability, sharing_mode: SharingMode, stream_urls: Iterable[str]
                        ) -> tuple[StreamProtocol, ...]:
    """The registry's rules for one camera; the streams' protocols, or CameraInvalid naming the field.

    Registered only: sharing never and no stream (registration gives police no live access). Live-capable: at
    least one stream, each with a URL the classifier knows.
    """
    urls = [u for u in stream_urls]
    if capability is Capability.REGISTERED:
        if sharing_mode is not SharingMode.NEVER:
            raise CameraInvalid("sharing_mode", "a registered-only camera cannot be shared live: its sharing must be "
                                "'never' (or make it live-capable with a stream)")
        if urls:
            raise CameraInvalid("stream_url", "a registered-only camera has no stream: make it live-capable to give "
                                "a stream URL, or leave the stream URL empty")
        return ()
    if not urls:
        raise CameraInvalid("stream_url", "a live-capable camera needs a stream URL")
    protocols = []
    for url in urls:
        try:
            protocols.append(stream_protocol(url))
        except ValueError as exc:
            raise CameraInvalid("stream_url", str(exc)) from None
    return tuple(protocols)


def check_camera(camera: Camera) -> Camera:
    """`camera` if it keeps the registry's rules (see check_camera_fields) and each stream's protocol is the one
    its URL gives; CameraInvalid otherwise. What every path calls before it writes a camera."""
    protocols = check_camera_fields(camera.capability, camera.sharing_mode, [s.url for s in camera.streams])
    if camera.tls_pin_sha256 is not None:
        try:
            pin = normalize_fingerprint(camera.tls_pin_sha256)
        except ValueError as exc:
            raise CameraInvalid("tls_pin_sha256", str(exc)) from None
        if pin != camera.tls_pin_sha256:
            raise CameraInvalid("tls_pin_sha256", "the certificate fingerprint must be stored as 64 lower-case hex "
                                "digits (normalize_fingerprint)")
    for stream, protocol in zip(camera.streams, protocols):
        if stream.protocol is not protocol:
            raise CameraInvalid("stream_url", f"the stream URL is {protocol.value}, not {stream.protocol.value}")
    return camera

"""Footage requests: the area and time window asked for, the contact attempts and what they do to a request.

Pure rules only (no I/O): which cameras an area holds, whether a window may be requested, the default window
around an incident, and the status a request takes after an attempt to reach its owner.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.domain.geo import Box, bounding_boxes, distance_from, validate_point
from console.errors import UserError

DEFAULT_MAX_WINDOW = timedelta(hours=2)  # Genetec Clearance's request window; a setting may raise it
MAX_NOTE_CHARS = 2000


class FootageStatus(str, enum.Enum):
    OPEN = "open"
    AGREED = "agreed"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"
    OVERWRITTEN = "overwritten"  # the recorder already overwrote the window
    RECEIVED = "received"  # files are attached


class ContactChannel(str, enum.Enum):
    PHONE = "phone"
    EMAIL = "email"
    IN_PERSON = "in_person"


class ContactOutcome(str, enum.Enum):
    AGREED = "agreed"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"
    OVERWRITTEN = "overwritten"
    LEFT_MESSAGE = "left_message"


def status_after(current: FootageStatus, outcome: ContactOutcome) -> FootageStatus:
    """The request's status once an attempt with `outcome` is recorded.

    Files in hand (received) are not undone by a later call. An owner's answer (agreed, declined, overwritten)
    replaces the status; not reaching the owner only says so while nothing better is known.
    """
    if current is FootageStatus.RECEIVED:
        return current
    if outcome is ContactOutcome.NO_ANSWER:
        return FootageStatus.NO_ANSWER if current in (FootageStatus.OPEN, FootageStatus.NO_ANSWER) else current
    if outcome is ContactOutcome.LEFT_MESSAGE:
        return current
    return FootageStatus(outcome.value)


def parse_choice(kind: type[enum.Enum], text: str, what: str):
    """An enum member from text (case and spaces forgiven); UserError naming the choices otherwise."""
    try:
        return kind(str(text).strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        raise UserError(f"{what} {text!r} is not known: choose one of {', '.join(m.value for m in kind)}") from None


# --- the time window ------------------------------------------------------------------------------


def _length(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def check_window(start: datetime, end: datetime, now: datetime, max_window: timedelta = DEFAULT_MAX_WINDOW) -> None:
    """UserError with a sentence a person can act on when the window cannot be requested."""
    if start.tzinfo is None or end.tzinfo is None:
        raise UserError("the window's start and end need a time zone (write times like 2026-11-23T21:00:00Z)")
    if end <= start:
        raise UserError(f"the window must end after it starts (it starts {start:%Y-%m-%d %H:%M} and ends "
                        f"{end:%Y-%m-%d %H:%M} UTC)")
    if end > now:
        raise UserError(f"the window ends {end:%Y-%m-%d %H:%M} UTC, after now: footage can only be requested "
                        "for time that has passed; end it now or earlier")
    if end - start > max_window:
        raise UserError(f"the window is {_length(end - start)} long: at most {_length(max_window)} may be "
                        "requested (setting footage_max_window_hours); make it shorter")


def default_window(incident_at: datetime, now: datetime,
                   max_window: timedelta = DEFAULT_MAX_WINDOW) -> tuple[datetime, datetime]:
    """One hour either side of the incident, never ending after now and never longer than `max_window`."""
    end = min(incident_at + timedelta(hours=1), now)
    start = min(incident_at - timedelta(hours=1), end - timedelta(minutes=1))
    if end - start > max_window:
        start = end - max_window
    return start.replace(microsecond=0), end.replace(microsecond=0)


# --- the area -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Circle:
    lat: float
    lon: float
    radius_m: float

    def __post_init__(self):
        try:
            validate_point(self.lat, self.lon)
        except ValueError as exc:
            raise UserError(f"the area's centre is not on Earth: {exc}") from None
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise UserError(f"the area's radius {self.radius_m} m is not valid: give a distance above 0 metres")

    def boxes(self) -> list[Box]:
        return bounding_boxes(self.lat, self.lon, self.radius_m)

    def contains(self, lat: float, lon: float) -> bool:
        return distance_from(self.lat, self.lon)(lat, lon) <= self.radius_m


@dataclass(frozen=True)
class Polygon:
    """A ring of (lat, lon) points as drawn on the map, closed implicitly; edges are straight in lat/lon.

    Meant for areas a street or a block across: one that spans the antimeridian or more than 180 degrees
    of longitude is refused rather than guessed at.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self):
        points = tuple((float(lat), float(lon)) for lat, lon in self.points)
        if len(points) > 1 and points[0] == points[-1]:
            points = points[:-1]  # a ring given closed (GeoJSON style)
        object.__setattr__(self, "points", points)
        if len(points) < 3:
            raise UserError(f"an area needs at least 3 corner points, not {len(points)}")
        for lat, lon in points:
            try:
                validate_point(lat, lon)
            except ValueError as exc:
                raise UserError(f"the area's corner ({lat}, {lon}) is not on Earth: {exc}") from None
        lons = [lon for _, lon in points]
        if max(lons) - min(lons) > 180.0:
            raise UserError("the area spans more than half the globe in longitude (or crosses the 180th meridian): "
                            "draw a smaller area")
        if _twice_area(points) == 0.0:
            raise UserError("the area's corners lie on one line: it holds nothing")

    def boxes(self) -> list[Box]:
        lats = [lat for lat, _ in self.points]
        lons = [lon for _, lon in self.points]
        return [Box(min(lats), max(lats), min(lons), max(lons))]

    def contains(self, lat: float, lon: float) -> bool:
        return point_in_polygon(lat, lon, self.points)


Area = Circle | Polygon


def _twice_area(points) -> float:
    return sum(a[1] * b[0] - b[1] * a[0] for a, b in zip(points, points[1:] + points[:1]))


def _on_segment(lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]) -> bool:
    (ay, ax), (by, bx) = a, b
    cross = (bx - ax) * (lat - ay) - (by - ay) * (lon - ax)
    if abs(cross) > 1e-12 * max(1.0, abs(bx - ax) + abs(by - ay)):
        return False
    return min(ax, bx) <= lon <= max(ax, bx) and min(ay, by) <= lat <= max(ay, by)


def point_in_polygon(lat: float, lon: float, points: tuple[tuple[float, float], ...]) -> bool:
    """True when (lat, lon) is inside the ring or on its edge (even-odd rule, so a self-crossing ring is fine)."""
    inside = False
    n = len(points)
    for i in range(n):
        a, b = points[i], points[(i + 1) % n]
        if _on_segment(lat, lon, a, b):
            return True
        (ay, ax), (by, bx) = a, b
        if (ay > lat) != (by > lat):  # the edge straddles the point's latitude
            crossing_lon = ax + (lat - ay) * (bx - ax) / (by - ay)
            if lon < crossing_lon:
                inside = not inside
    return inside


def enclosing_circle(area: Area) -> Circle:
    """A circle holding the whole area, so the spatial index can narrow the search before `contains` decides."""
    if isinstance(area, Circle):
        return area
    box = area.boxes()[0]
    lat, lon = (box.min_lat + box.max_lat) / 2, (box.min_lon + box.max_lon) / 2
    distance = distance_from(lat, lon)
    reach = max(distance(p_lat, p_lon) for p_lat, p_lon in area.points)
    # Straight lat/lon edges bulge slightly past their corners' great-circle reach; 1 % covers any drawn block.
    return Circle(lat, lon, reach * 1.01 + 1.0)


DEFAULT_MAX_AREA_RADIUS_M = 2000.0
_EARTH_RADIUS_M = 6371008.8


def area_m2(area: Area) -> float:
    """The area's size in square metres (a polygon's on a local flat projection: exact enough for a city)."""
    if isinstance(area, Circle):
        return math.pi * area.radius_m ** 2
    lat0 = sum(lat for lat, _ in area.points) / len(area.points)
    scale_x = math.radians(1) * _EARTH_RADIUS_M * math.cos(math.radians(lat0))
    scale_y = math.radians(1) * _EARTH_RADIUS_M
    flat = [(lon * scale_x, lat * scale_y) for lat, lon in area.points]
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(flat, flat[1:] + flat[:1]))) / 2


def check_area_size(area: Area, max_radius_m: float) -> None:
    """Refuse an area larger than a circle of `max_radius_m` (setting footage_max_area_radius_m): a footage request
    asks the owners of one scene, not every owner in the city."""
    if isinstance(area, Circle):
        if area.radius_m > max_radius_m:
            raise UserError(f"the area's radius {area.radius_m:g} m is larger than the {max_radius_m:g} m a footage "
                            "request may cover (setting footage_max_area_radius_m): choose a smaller area")
        return
    size, limit = area_m2(area), math.pi * max_radius_m ** 2
    if size > limit:
        raise UserError(f"the drawn area ({size / 1e6:.2f} km²) is larger than a circle of {max_radius_m:g} m "
                        f"({limit / 1e6:.2f} km²) that a footage request may cover (setting "
                        "footage_max_area_radius_m): draw a smaller area")


# --- what is stored ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactAttempt:
    id: int
    at: datetime
    username: str
    channel: ContactChannel
    outcome: ContactOutcome
    note: str


@dataclass(frozen=True)
class EvidenceFile:
    id: int
    request_id: int
    camera_id: int | None
    file_name: str  # the name it is stored (and exported) under
    stored_path: str
    sha256: str
    size_bytes: int
    received_by: str
    received_at: datetime


@dataclass(frozen=True)
class FootageRequest:
    """One owner asked for footage of some of their cameras, for one incident and window."""

    id: int
    incident_id: int
    owner_id: int
    window_start: datetime
    window_end: datetime
    status: FootageStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    camera_ids: tuple[int, ...] = ()
    contacts: tuple[ContactAttempt, ...] = ()
    files: tuple[EvidenceFile, ...] = ()

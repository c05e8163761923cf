"""Camera records from a registration portal (a CSV or GeoJSON export, or the portal's feed): fields and validation.

One record is one camera with its owner's contact and site address. `validate` turns one raw row (text from a
CSV, or numbers and text from JSON) into a `PortalRecord` or the list of what is wrong with it, each problem
naming the row and column; `validate_rows` does that for a whole file and adds what only the whole file shows:
duplicate portal ids and coordinates that are probably swapped. Pure: no I/O, no database.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping, NamedTuple

from console.domain.cameras import CameraInvalid, Capability, ConsentChannel, SharingMode, check_camera_fields
from console.domain.geo import haversine_m

# The default columns of a portal export, in order: one row per camera (GeoJSON: Point feature properties).
FIELDS = (
    "portal_id", "owner_name", "organisation", "phone", "email", "address", "lat", "lon", "camera_label",
    "capability", "sharing_mode", "stream_url", "bearing_deg", "fov_deg", "range_m", "consent_date",
    "consent_channel",
)
REQUIRED = ("portal_id", "owner_name", "address", "lat", "lon")
CONTACT_FIELDS = ("owner_name", "phone", "email")  # never in logs, audit details or error messages
# (stream_url: its length is the stream-URL classifier's check, console/domain/cameras.py)
MAX_TEXT = {"portal_id": 64, "owner_name": 200, "organisation": 200, "phone": 40, "email": 254, "address": 300,
            "camera_label": 200}
# A camera this far from the middle of the file, that would be near it with latitude and longitude exchanged,
# was almost certainly entered the wrong way round.
SWAP_DISTANCE_M = 200_000.0


class Problem(NamedTuple):
    """What is wrong with one value: the row (1 = the first data row; GeoJSON: the feature number), column, why."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


@dataclass(frozen=True, repr=False)
class PortalRecord:
    """One camera as the portal registered it, checked and typed. `stream_url` may still carry credentials."""

    portal_id: str
    owner_name: str
    address: str
    lat: float
    lon: float
    organisation: str = ""
    phone: str = ""
    email: str = ""
    camera_label: str = "Camera"
    capability: Capability = Capability.REGISTERED
    sharing_mode: SharingMode = SharingMode.NEVER
    stream_url: str = ""
    bearing_deg: float | None = None
    fov_deg: float | None = None
    range_m: float | None = None
    consent_at: datetime | None = None
    consent_channel: ConsentChannel | None = None
    row: int = 0  # where it came from, for reports

    def __repr__(self) -> str:  # contact details and stream credentials stay out of logs and tracebacks
        return f"PortalRecord(portal_id={self.portal_id!r}, row={self.row})"

    __str__ = __repr__


def validate(row: Mapping[str, Any], number: int = 0) -> PortalRecord | list[Problem]:
    """One raw row (field name -> text, number or None) as a record, or every problem found in it."""
    problems: list[Problem] = []

    def fail(column: str, message: str) -> None:
        problems.append(Problem(number, column, message))

    text = {name: _text(row.get(name)) for name in FIELDS if name not in ("lat", "lon", "bearing_deg", "fov_deg",
                                                                         "range_m")}
    for name in REQUIRED:
        if name not in ("lat", "lon") and not text[name]:
            fail(name, "is empty; every camera needs one")
    for name, limit in MAX_TEXT.items():
        if len(text[name]) > limit:
            fail(name, f"is {len(text[name])} characters long; at most {limit}")

    lat = _number(row.get("lat"), "lat", fail, required=True)
    lon = _number(row.get("lon"), "lon", fail, required=True)
    if lat is not None and lon is not None:
        _check_coordinates(lat, lon, fail)
        if any(p.column in ("lat", "lon") for p in problems):
            lat = lon = None

    capability = _choice(text["capability"], Capability, Capability.REGISTERED, "capability", fail)
    sharing = _choice(text["sharing_mode"], SharingMode, SharingMode.NEVER, "sharing_mode", fail)
    channel = _choice(text["consent_channel"], ConsentChannel, None, "consent_channel", fail)

    url = text["stream_url"]
    if not any(p.column in ("capability", "sharing_mode") for p in problems):
        try:  # the camera rules and the stream-URL classifier are the domain's, for every path
            check_camera_fields(capability, sharing, [url] if url else [])
        except CameraInvalid as exc:
            fail(exc.field, str(exc))

    bearing = _number(row.get("bearing_deg"), "bearing_deg", fail)
    if bearing is not None and not 0 <= bearing <= 360:
        fail("bearing_deg", f"{bearing:g} is not a compass bearing (0 to 360 degrees)")
    fov = _number(row.get("fov_deg"), "fov_deg", fail)
    if fov is not None and not 0 < fov <= 360:
        fail("fov_deg", f"{fov:g} is not a field of view (more than 0, at most 360 degrees)")
    reach = _number(row.get("range_m"), "range_m", fail)
    if reach is not None and not 0 < reach <= 5000:
        fail("range_m", f"{reach:g} is not a camera's range (more than 0, at most 5000 metres)")

    consent_at = None
    if text["consent_date"]:
        consent_at = _moment(text["consent_date"])
        if consent_at is None:
            fail("consent_date", f"{_shown(text['consent_date'])} is not a date (use YYYY-MM-DD or ISO 8601)")
    if consent_at is not None and channel is None:
        channel = ConsentChannel.WEB  # a portal registration is consent given on the web

    if problems:
        return problems
    return PortalRecord(
        portal_id=text["portal_id"], owner_name=text["owner_name"], address=text["address"], lat=lat, lon=lon,
        organisation=text["organisation"], phone=text["phone"], email=text["email"],
        camera_label=text["camera_label"] or "Camera", capability=capability, sharing_mode=sharing,
        stream_url=url, bearing_deg=bearing, fov_deg=fov, range_m=reach, consent_at=consent_at,
        consent_channel=channel, row=number,
    )


def validate_rows(rows: Iterable[tuple[int, Mapping[str, Any]]],
                  centre: tuple[float, float] | None = None) -> tuple[list[PortalRecord], list[Problem]]:
    """Every row of a file, numbered: (good records, problems). A row with any problem gives no record.

    Adds the checks only the whole file allows: a portal id seen twice (both rows are reported), and coordinates
    far from the `centre` (default: the median of the file's cameras, when it has at least three) that would be
    near it swapped. A row flagged here is removed from the good records.
    """
    records: list[PortalRecord] = []
    problems: list[Problem] = []
    for number, row in rows:
        result = validate(row, number)
        if isinstance(result, PortalRecord):
            records.append(result)
        else:
            problems.extend(result)
    bad_rows: set[int] = set()

    first_row: dict[str, int] = {}
    for record in records:
        seen = first_row.setdefault(record.portal_id, record.row)
        if seen != record.row:
            problems.append(Problem(record.row, "portal_id",
                                    f"{_shown(record.portal_id)} is also the portal id of row {seen}"))
            bad_rows.update((record.row, seen))
    for row in sorted(bad_rows & set(first_row.values())):
        problems.append(Problem(row, "portal_id", "this portal id appears again later in the file"))

    if centre is None and len(records) >= 3:
        centre = (statistics.median(r.lat for r in records), statistics.median(r.lon for r in records))
    if centre is not None:
        for record in records:
            if looks_swapped(record.lat, record.lon, centre):
                problems.append(Problem(record.row, "lat", f"lat {record.lat:g}, lon {record.lon:g} are probably "
                                        "swapped (the other cameras are near "
                                        f"{centre[0]:.2f}, {centre[1]:.2f})"))
                bad_rows.add(record.row)
    if bad_rows:
        records = [r for r in records if r.row not in bad_rows]
    problems.sort(key=lambda p: p.row)
    return records, problems


def looks_swapped(lat: float, lon: float, centre: tuple[float, float]) -> bool:
    """True when (lat, lon) is far from `centre` but (lon, lat) would be close to it."""
    if not -90 <= lon <= 90:
        return False
    return (haversine_m(centre[0], centre[1], lat, lon) > SWAP_DISTANCE_M
            and haversine_m(centre[0], centre[1], lon, lat) < SWAP_DISTANCE_M)


def as_row(record: PortalRecord) -> dict[str, str]:
    """A record back as the text of a CSV row in the default columns (what `export` writes)."""
    def num(value: float | None) -> str:
        return "" if value is None else repr(float(value))

    return {
        "portal_id": record.portal_id, "owner_name": record.owner_name, "organisation": record.organisation,
        "phone": record.phone, "email": record.email, "address": record.address, "lat": num(record.lat),
        "lon": num(record.lon), "camera_label": record.camera_label, "capability": record.capability.value,
        "sharing_mode": record.sharing_mode.value, "stream_url": record.stream_url,
        "bearing_deg": num(record.bearing_deg), "fov_deg": num(record.fov_deg), "range_m": num(record.range_m),
        "consent_date": record.consent_at.isoformat() if record.consent_at else "",
        "consent_channel": record.consent_channel.value if record.consent_channel else "",
    }


# --- one value ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a JSON portal id 1234.0
    return str(value).strip()


def _shown(value: str) -> str:
    """A value quoted for a message, cut short."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _number(value: Any, column: str, fail, required: bool = False) -> float | None:
    if isinstance(value, bool):
        fail(column, f"{value!r} is not a number")
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        raw = _text(value)
        if not raw:
            if required:
                fail(column, "is empty; every camera needs one")
            return None
        try:
            number = float(raw)
        except ValueError:
            fail(column, f"{_shown(raw)} is not a number")
            return None
    if not math.isfinite(number):
        fail(column, f"{number!r} is not a finite number")
        return None
    return number


def _check_coordinates(lat: float, lon: float, fail) -> None:
    if not -90 <= lat <= 90:
        if -90 <= lon <= 90 and -180 <= lat <= 180:
            fail("lat", f"lat {lat:g} is out of range (-90 to 90); lat {lat:g} and lon {lon:g} look swapped")
        else:
            fail("lat", f"{lat:g} is out of range (-90 to 90)")
    if not -180 <= lon <= 180:
        fail("lon", f"{lon:g} is out of range (-180 to 180)")
    if lat == 0 and lon == 0:
        fail("lat", "0, 0 is not a place anyone registers a camera: the coordinates are missing")


def _choice(raw: str, kind, default, column: str, fail):
    if not raw:
        return default
    normal = raw.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return kind(normal)
    except ValueError:
        fail(column, f"{_shown(raw)} is not one of {', '.join(m.value for m in kind)}")
        return default


def _moment(raw: str) -> datetime | None:
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)

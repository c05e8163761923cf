"""Incidents from Computer-Aided Dispatch: read a NENA EIDO (NENA-STA-021, JSON) into a `CadIncident`, or reject it.

Pure: no I/O. A document is either read whole into a CadIncident or rejected with `CadRejected` naming the field
and why; nothing in between, so a malformed or partial EIDO can never become a half-made incident.

EIDO fields read (everything else is ignored):

- `incidentComponent` (one object, or a list holding exactly one):
  - `incidentTrackingIdentifier` (required): the CAD number, the console's key for the incident (at most 64
    characters). `internalIncidentId` is used only when the tracking identifier is absent.
  - `incidentTypeInternalText`, else `incidentTypeCommonRegistryText` (one of them required): the type shown.
  - `incidentPriorityInternalText` ("P1", "1", "Priority 2"): the agency's own scale, 1 most urgent, used as is;
    else `incidentCommonPriorityNumber` (0..10, 10 most urgent) mapped onto 1..5 as 6 - ceil(n / 2), clamped.
    One of them is required.
  - `incidentStatusCommonRegistryText` (a string or a list of strings), else `incidentStatusInternalText`:
    CAD's status word; a word in `CLOSED_STATUSES` (any of the list) means CAD closed the incident. Absent: open.
  - `lastUpdateTimeStamp` (else the document's own `lastUpdateTimeStamp`; required, ISO 8601 with a UTC offset):
    orders updates, so an older update arriving late changes nothing.
  - `locationReference` (`{"$ref": id}`, a list of them, or "$ref:id" strings): which `locationComponent` entry.
- `locationComponent` (list): the referenced entry (else: the one typed CurrentIncident, Incident or Initial in
  `locationTypeDescriptionRegistryText`, else the first). Its `locationByValue` is either
  - a PIDF-LO XML document (the standard's form): `gml:Point/gml:pos` "lat lon" and `ca:civicAddress`
    (HNO HNS PRD RD STS POD, A3 city, A1 state, PC), or
  - a JSON object: a GeoJSON Point (`{"type": "Point", "coordinates": [lon, lat]}`, itself or under `point` /
    `geometry`) and/or `civicAddress` (the same PIDF keys, or one line of text).
  A location needs a point or an address; with only an address the service geocodes it before storing.
- No `incidentComponent` but one `callComponent` (NENA's published sample EIDOs are like this): the incident is
  opened at the call's location: `callTrackingIdentifier` (the key), `callTypeInternalText` /
  `callTypeDescriptionRegistryText` (the type), `callPriorityInternalText` or `callCommonPriorityNumber` (read as
  the incident's), `lastUpdateTimeStamp` (the call's, else the document's, else `callStartTimeStamp`), `callLocationReference` (else
  `locationReference`). Whatever is missing is named in the rejection.
- `emergencyResourceComponent` (one object or a list; optional): the units on the incident, each named by
  `emergencyResourceIdentifier`, else `unitIdentifier`, else `emergencyResourceCallSign`. Untrusted text: at most
  `MAX_UNITS` units, each id at most `MAX_UNIT_ID` printable characters (no control characters), given as text;
  anything else rejects the document naming the field. Duplicates are kept once, in order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from console.errors import UserError

CLOSED_STATUSES = frozenset({"closed", "cancelled", "canceled", "cleared", "completed", "resolved", "disposed"})
MAX_CAD_NUMBER = 64
MAX_TYPE = 100
MAX_ADDRESS = 300
MAX_STATUS = 32
MAX_PIDF_CHARS = 100_000
MAX_UNITS = 50
MAX_UNIT_ID = 40
_UNIT_FIELDS = ("emergencyResourceIdentifier", "unitIdentifier", "emergencyResourceCallSign")
_INCIDENT_LOCATION_TYPES = ("currentincident", "incident", "initial")
_CIVIC_ORDER = ("HNO", "HNS", "PRD", "RD", "STS", "POD")
_CALL_TYPE_FIELDS = ("callTypeInternalText", "callTypeDescriptionRegistryText", "callTypeRegistryText")


class CadRejected(UserError):
    """A CAD document or row the console will not take: `field` says where, the message says why."""

    def __init__(self, field: str, why: str, cad_number: str | None = None):
        where = f"{cad_number}: " if cad_number else ""
        super().__init__(f"{where}{field}: {why}")
        self.field = field
        self.why = why
        self.cad_number = cad_number


@dataclass(frozen=True)
class CadIncident:
    """One incident as CAD sees it now. `lat`/`lon` are None until an address-only location is geocoded."""

    cad_number: str
    type: str
    priority: int  # 1 is the most urgent
    address: str
    lat: float | None
    lon: float | None
    status: str | None  # CAD's own status word
    closed: bool
    updated_at: datetime  # UTC
    source: str = "eido"
    units: tuple[str, ...] = ()  # the units CAD names on the incident, as CAD spells them

    @property
    def placed(self) -> bool:
        return self.lat is not None and self.lon is not None

    def placed_at(self, lat: float, lon: float, address: str | None = None) -> CadIncident:
        return replace(self, lat=lat, lon=lon, address=self.address or address or "")


def parse_eido(document: Any) -> CadIncident:
    """The incident an EIDO describes; raises CadRejected naming the field when it cannot be taken whole."""
    if not isinstance(document, Mapping):
        raise CadRejected("EIDO", f"expected a JSON object, got {_kind(document)}")
    if document.get("incidentComponent") is None and document.get("callComponent") is not None:
        return _call_incident(document)
    component = _incident_component(document)
    cad_number = _text(component.get("incidentTrackingIdentifier")) or _text(component.get("internalIncidentId"))
    if not cad_number:
        raise CadRejected("incidentComponent.incidentTrackingIdentifier", "missing: the incident has no CAD number")
    if len(cad_number) > MAX_CAD_NUMBER:
        raise CadRejected("incidentComponent.incidentTrackingIdentifier", f"longer than {MAX_CAD_NUMBER} characters")

    def reject(field: str, why: str):
        raise CadRejected(field, why, cad_number)

    kind = _text(component.get("incidentTypeInternalText")) or _text(component.get("incidentTypeCommonRegistryText"))
    if not kind:
        reject("incidentComponent.incidentTypeCommonRegistryText", "missing: the incident has no type")
    priority = _eido_priority(component, reject)
    statuses = _statuses(component.get("incidentStatusCommonRegistryText"), reject) or _statuses(
        component.get("incidentStatusInternalText"), reject)
    closing = [s for s in statuses if s.lower() in CLOSED_STATUSES]
    status = (closing or statuses or [None])[0]
    stamp_field = "incidentComponent.lastUpdateTimeStamp"
    stamp = component.get("lastUpdateTimeStamp")
    if stamp is None:
        stamp, stamp_field = document.get("lastUpdateTimeStamp"), "lastUpdateTimeStamp"
    if stamp is None:
        reject("incidentComponent.lastUpdateTimeStamp", "missing: updates cannot be put in order without it")
    updated_at = parse_timestamp(stamp, stamp_field, cad_number)
    address, lat, lon = _location(document, component, reject)
    return CadIncident(cad_number, kind[:MAX_TYPE], priority, address[:MAX_ADDRESS], lat, lon,
                       status[:MAX_STATUS] if status else None, bool(closing), updated_at, "eido",
                       _units(document, reject))


def _call_incident(document: Mapping) -> CadIncident:
    """An EIDO with a call and its location but no incident component (as NENA's published samples are): the
    incident is opened at the call's location with the call's type and priority, or rejected naming what is missing."""
    calls = document.get("callComponent")
    if isinstance(calls, list):
        if len(calls) != 1:
            raise CadRejected("callComponent", f"expected one call when there is no incidentComponent, found "
                              f"{len(calls)}")
        calls = calls[0]
    if not isinstance(calls, Mapping):
        raise CadRejected("callComponent", f"expected an object, got {_kind(calls)}")
    call = calls
    cad_number = _text(call.get("callTrackingIdentifier"))
    if not cad_number:
        raise CadRejected("callComponent.callTrackingIdentifier",
                          "missing: a call with no incidentComponent needs its tracking identifier to open an incident")
    if len(cad_number) > MAX_CAD_NUMBER:
        raise CadRejected("callComponent.callTrackingIdentifier", f"longer than {MAX_CAD_NUMBER} characters")

    def reject(field: str, why: str):
        raise CadRejected(field, why, cad_number)

    kind = next((_text(call.get(k)) for k in _CALL_TYPE_FIELDS if _text(call.get(k))), "")
    if not kind:
        reject("callComponent.callTypeDescriptionRegistryText",
               "missing: there is no incidentComponent and the call has no type, so no incident can be opened")
    priority = _eido_priority(call, reject, "call")
    # The call's own update time, else the document's, else when the call started: what orders updates.
    stamps = (("callComponent.lastUpdateTimeStamp", call.get("lastUpdateTimeStamp")),
              ("lastUpdateTimeStamp", document.get("lastUpdateTimeStamp")),
              ("callComponent.callStartTimeStamp", call.get("callStartTimeStamp")))
    stamp_field, stamp = next(((f, v) for f, v in stamps if v is not None), (None, None))
    if stamp is None:
        reject("callComponent.lastUpdateTimeStamp", "missing (and no callStartTimeStamp): updates cannot be put in "
               "order without it")
    updated_at = parse_timestamp(stamp, stamp_field, cad_number)
    ref = "callLocationReference" if call.get("callLocationReference") is not None else "locationReference"
    address, lat, lon = _location(document, call, reject, f"callComponent.{ref}")
    return CadIncident(cad_number, kind[:MAX_TYPE], priority, address[:MAX_ADDRESS], lat, lon, None, False,
                       updated_at, "eido", _units(document, reject))


def is_closed_status(status: str | None) -> bool:
    return bool(status) and status.strip().lower() in CLOSED_STATUSES


def parse_timestamp(value: Any, field: str, cad_number: str | None = None) -> datetime:
    """An ISO 8601 time with a UTC offset, as UTC."""
    text = _text(value)
    if not text:
        raise CadRejected(field, "missing", cad_number)
    try:
        moment = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text))
    except ValueError:
        raise CadRejected(field, f"{text!r} is not a time: write it like 2026-11-23T22:05:00Z", cad_number) from None
    if moment.tzinfo is None:
        raise CadRejected(field, f"{text!r} has no UTC offset: write it like 2026-11-23T22:05:00-05:00", cad_number)
    return moment.astimezone(UTC)


def check_point(lat: Any, lon: Any, field: str, cad_number: str | None = None) -> tuple[float, float]:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise CadRejected(field, f"{lat!r}, {lon!r} are not coordinates", cad_number) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise CadRejected(field, f"{lat}, {lon} is not a place on Earth (latitude -90..90, longitude -180..180)",
                          cad_number)
    return lat, lon


# --- parts --------------------------------------------------------------------------------------------


def _incident_component(document: Mapping) -> Mapping:
    component = document.get("incidentComponent")
    if isinstance(component, list):
        if len(component) != 1:
            raise CadRejected("incidentComponent", f"expected one incident, found {len(component)}")
        component = component[0]
    if component is None:
        raise CadRejected("incidentComponent", "missing: this is not an incident EIDO")
    if not isinstance(component, Mapping):
        raise CadRejected("incidentComponent", f"expected an object, got {_kind(component)}")
    return component


def _eido_priority(component: Mapping, reject, kind: str = "incident") -> int:
    text_field, number_field = f"{kind}PriorityInternalText", f"{kind}CommonPriorityNumber"
    internal = _text(component.get(text_field))
    if internal:
        found = re.fullmatch(r"(?:p|pri|priority)?\s*-?\s*(\d{1,2})", internal, re.IGNORECASE)
        if found and int(found.group(1)) >= 1:
            return int(found.group(1))
    number = component.get(number_field)
    if number is None:
        if internal:
            reject(f"{kind}Component.{text_field}",
                   f"{internal!r} is not a priority number and there is no {number_field}")
        reject(f"{kind}Component.{number_field}", f"missing: the {kind} has no priority")
    whole = isinstance(number, (int, float)) and not isinstance(number, bool) and number == int(number)
    if not whole or not 0 <= number <= 10:
        reject(f"{kind}Component.{number_field}", f"{number!r} is not a whole number from 0 to 10")
    return min(5, max(1, 6 - math.ceil(int(number) / 2)))


def _statuses(value: Any, reject) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        reject("incidentComponent.incidentStatusCommonRegistryText", "expected a word or a list of words")
    return [v.strip() for v in values if v.strip()]


def _location(document: Mapping, component: Mapping, reject,
              ref_field: str = "incidentComponent.locationReference") -> tuple[str, float | None, float | None]:
    locations = document.get("locationComponent")
    if locations is None:
        reject("locationComponent", "missing: the incident has no location")
    if isinstance(locations, Mapping):
        locations = [locations]
    if not isinstance(locations, list) or not locations or not all(isinstance(x, Mapping) for x in locations):
        reject("locationComponent", "expected a list of location objects")
    field = ref_field.rsplit(".", 1)[-1]
    refs = _references(component.get(field), reject, ref_field)
    if refs:
        by_id = {str(x.get("$id") or x.get("componentIdentifier") or ""): x for x in locations}
        missing = [r for r in refs if r not in by_id]
        if missing:
            reject(ref_field, f"{missing[0]!r} names no entry of locationComponent")
        locations = [by_id[r] for r in refs]
    typed = [x for x in locations if _text(x.get("locationTypeDescriptionRegistryText")).replace(" ", "").lower()
             in _INCIDENT_LOCATION_TYPES]
    chosen = (typed or locations)[0]
    value = chosen.get("locationByValue")
    if value is None:
        reject("locationComponent.locationByValue",
               "missing: give the location by value (locationByReferenceUrl is not followed)")
    if isinstance(value, str):
        address, point = _pidf_location(value, reject)
    elif isinstance(value, Mapping):
        address, point = _json_location(value, reject)
    else:
        reject("locationComponent.locationByValue", f"expected PIDF-LO XML or an object, got {_kind(value)}")
    if point is None and not address:
        reject("locationComponent.locationByValue", "has neither a point nor a civic address")
    if point is None:
        return address, None, None
    lat, lon = check_point(*point, "locationComponent.locationByValue", None)
    return address or f"{lat:.6f}, {lon:.6f}", lat, lon


def check_unit_id(value: Any, field: str = "emergencyResourceComponent.emergencyResourceIdentifier") -> str:
    """One unit id as the console keeps it: text of 1..MAX_UNIT_ID printable characters, spaces collapsed."""
    if not isinstance(value, str):
        raise CadRejected(field, f"expected the unit's id as text, got {_kind(value)}")
    if len(value) > 4 * MAX_UNIT_ID:  # before looking at every character of a huge string
        raise CadRejected(field, f"a unit id is longer than {MAX_UNIT_ID} characters")
    if not value.isprintable():
        raise CadRejected(field, "a unit id holds a control or unprintable character")
    text = " ".join(value.split())
    if not text:
        raise CadRejected(field, "a unit id is empty")
    if len(text) > MAX_UNIT_ID:
        raise CadRejected(field, f"a unit id is longer than {MAX_UNIT_ID} characters")
    return text


def _units(document: Mapping, reject) -> tuple[str, ...]:
    field = "emergencyResourceComponent"
    resources = document.get(field)
    if resources is None:
        return ()
    if isinstance(resources, Mapping):
        resources = [resources]
    if not isinstance(resources, list):
        reject(field, f"expected a list of unit objects, got {_kind(resources)}")
    if len(resources) > MAX_UNITS:
        reject(field, f"{len(resources)} units: at most {MAX_UNITS} are taken on one incident")
    out: dict[str, None] = {}
    for resource in resources:
        if not isinstance(resource, Mapping):
            reject(field, f"expected a unit object, got {_kind(resource)}")
        name = next((k for k in _UNIT_FIELDS if resource.get(k) is not None), None)
        if name is None:
            reject(f"{field}.emergencyResourceIdentifier", "missing: a unit has no identifier")
        try:
            out.setdefault(check_unit_id(resource[name], f"{field}.{name}"), None)
        except CadRejected as exc:
            reject(exc.field, exc.why)
    return tuple(out)


def _references(value: Any, reject, field: str = "incidentComponent.locationReference") -> list[str]:
    if value is None:
        return []
    out = []
    for ref in value if isinstance(value, list) else [value]:
        if isinstance(ref, Mapping):
            ref = ref.get("$ref")
        if not isinstance(ref, str) or not ref.strip():
            reject(field, 'expected {"$ref": "<location $id>"}')
        out.append(re.sub(r"^(\$ref:|#)", "", ref.strip()))
    return out


def _pidf_location(xml: str, reject) -> tuple[str, tuple[Any, Any] | None]:
    if len(xml) > MAX_PIDF_CHARS:
        reject("locationComponent.locationByValue", f"the PIDF-LO document is longer than {MAX_PIDF_CHARS} characters")
    if "<!DOCTYPE" in xml.upper() or "<!ENTITY" in xml.upper():
        reject("locationComponent.locationByValue", "PIDF-LO with a DOCTYPE or entities is not accepted")
    try:
        root = ElementTree.fromstring(xml.strip())
    except ElementTree.ParseError as exc:
        reject("locationComponent.locationByValue", f"not well-formed PIDF-LO XML ({exc})")
    point = None
    for element in root.iter():
        if _local(element.tag) == "pos":
            parts = (element.text or "").split()
            if len(parts) < 2:
                reject("locationComponent.locationByValue", "gml:pos needs 'latitude longitude'")
            point = (parts[0], parts[1])
            break
    civic: dict[str, str] = {}
    for element in root.iter():
        if _local(element.tag) == "civicAddress":
            civic = {_local(child.tag): (child.text or "").strip() for child in element}
            break
    return _civic_line(civic), point


def _json_location(value: Mapping, reject) -> tuple[str, tuple[Any, Any] | None]:
    point = None
    geometry = value if value.get("type") == "Point" else value.get("point") or value.get("geometry")
    if geometry is not None:
        coordinates = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            reject("locationComponent.locationByValue.coordinates", "a GeoJSON Point needs [longitude, latitude]")
        point = (coordinates[1], coordinates[0])
    civic = value.get("civicAddress")
    if isinstance(civic, str):
        address = " ".join(civic.split())
    elif isinstance(civic, Mapping):
        address = _civic_line({str(k): _text(v) for k, v in civic.items()})
    elif civic is None:
        address = ""
    else:
        reject("locationComponent.locationByValue.civicAddress", "expected an object or one line of text")
    return address, point


def _civic_line(civic: Mapping[str, str]) -> str:
    street = " ".join(civic[k] for k in _CIVIC_ORDER if civic.get(k))
    if not street and civic.get("LOC"):
        street = civic["LOC"]
    place = " ".join(v for v in (civic.get("A1"), civic.get("PC")) if v)
    return ", ".join(v for v in (street, civic.get("A3", ""), place) if v)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", type(None): "null"}.get(type(value), type(value).__name__)

"""Simple CAD exports (CSV rows or JSON objects with flat fields) read into `CadIncident`s, with a column mapping.

Pure: the caller reads the file. Fields (the column names by default; `ColumnMapping` renames them):
incident_number (required), type (required), priority (required, a whole number, 1 most urgent), address,
lat and lon (both or neither; an address or a point is required), status (CAD's word; a closing word such as
"closed" or "cancelled" closes the incident), updated_at (required, ISO 8601 with a UTC offset).
Each row is taken whole or rejected with the column and the reason; one bad row does not stop the others.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from console.domain.eido import (
    MAX_ADDRESS,
    MAX_CAD_NUMBER,
    MAX_STATUS,
    MAX_TYPE,
    CadIncident,
    CadRejected,
    check_point,
    is_closed_status,
    parse_timestamp,
)

FIELDS = ("incident_number", "type", "priority", "address", "lat", "lon", "status", "updated_at")


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column holds each field: {field: column}; fields not named keep their own name."""

    columns: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        unknown = sorted(set(self.columns) - set(FIELDS))
        if unknown:
            raise CadRejected("column mapping", f"{unknown[0]!r} is not a field: use {', '.join(FIELDS)}")

    def column(self, name: str) -> str:
        return self.columns.get(name, name)

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> ColumnMapping:
        """From FIELD=COLUMN texts (the command line's --map)."""
        columns = {}
        for pair in pairs:
            name, sep, column = pair.partition("=")
            if not sep or not name.strip() or not column.strip():
                raise CadRejected("column mapping", f"{pair!r} is not FIELD=COLUMN, e.g. incident_number=EventNo")
            columns[name.strip()] = column.strip()
        return cls(columns)


_SAME_NAMES = ColumnMapping()


@dataclass(frozen=True)
class RowResult:
    """One row read: the incident, or why not. `where` names the row (e.g. "line 3")."""

    where: str
    incident: CadIncident | None = None
    rejection: CadRejected | None = None


def parse_row(row: Mapping[str, Any], mapping: ColumnMapping = _SAME_NAMES) -> CadIncident:
    def value(name: str) -> str:
        raw = row.get(mapping.column(name))
        if raw is None:
            return ""
        if isinstance(raw, (dict, list)):
            raise CadRejected(mapping.column(name), "expected a single value")
        return " ".join(str(raw).split())

    cad_number = value("incident_number")
    if not cad_number:
        raise CadRejected(mapping.column("incident_number"), "missing: the incident has no CAD number")
    if len(cad_number) > MAX_CAD_NUMBER:
        raise CadRejected(mapping.column("incident_number"), f"longer than {MAX_CAD_NUMBER} characters")
    kind = value("type")
    if not kind:
        raise CadRejected(mapping.column("type"), "missing: the incident has no type", cad_number)
    priority_text = value("priority")
    try:
        priority = int(priority_text)
    except ValueError:
        raise CadRejected(mapping.column("priority"), f"{priority_text!r} is not a whole number (1 is the most urgent)"
                          if priority_text else "missing: the incident has no priority", cad_number) from None
    if priority < 1:
        raise CadRejected(mapping.column("priority"), f"{priority} is below 1 (1 is the most urgent)", cad_number)
    lat_text, lon_text = value("lat"), value("lon")
    if bool(lat_text) != bool(lon_text):
        raise CadRejected(f"{mapping.column('lat')}/{mapping.column('lon')}", "give both or neither", cad_number)
    lat = lon = None
    if lat_text:
        lat, lon = check_point(lat_text, lon_text, f"{mapping.column('lat')}/{mapping.column('lon')}", cad_number)
    address = value("address")
    if lat is None and not address:
        raise CadRejected(mapping.column("address"), "missing, and no lat/lon: the incident has no location",
                          cad_number)
    status = value("status") or None
    updated_at = parse_timestamp(value("updated_at"), mapping.column("updated_at"), cad_number)
    return CadIncident(cad_number, kind[:MAX_TYPE], priority, (address or f"{lat:.6f}, {lon:.6f}")[:MAX_ADDRESS],
                       lat, lon, status[:MAX_STATUS] if status else None, is_closed_status(status), updated_at,
                       "cad_export")


def parse_csv(text: str, mapping: ColumnMapping = _SAME_NAMES) -> list[RowResult]:
    reader = csv.DictReader(io.StringIO(text))
    needed = [mapping.column(n) for n in ("incident_number", "type", "priority", "updated_at")]
    missing = [c for c in needed if c not in (reader.fieldnames or [])]
    if missing:
        raise CadRejected("CSV header", f"no column {missing[0]!r} (columns: {', '.join(reader.fieldnames or [])})")
    return [_result(f"line {reader.line_num}", row, mapping) for row in reader]


def parse_json_rows(document: Any, mapping: ColumnMapping = _SAME_NAMES) -> list[RowResult]:
    rows = document if isinstance(document, list) else [document]
    out = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            out.append(RowResult(f"item {number}", rejection=CadRejected(f"item {number}", "expected an object")))
        else:
            out.append(_result(f"item {number}", row, mapping))
    return out


def looks_like_export_row(document: Any, mapping: ColumnMapping = _SAME_NAMES) -> bool:
    """A JSON object in the export's flat form rather than an EIDO."""
    return isinstance(document, Mapping) and mapping.column("incident_number") in document


def _result(where: str, row: Mapping, mapping: ColumnMapping) -> RowResult:
    try:
        return RowResult(where, incident=parse_row(row, mapping))
    except CadRejected as rejection:
        return RowResult(where, rejection=rejection)

"""Reading a registration portal's export (CSV or GeoJSON) into raw rows, column mappings, and the rejects file.

Everything a person could get wrong about the file itself (too big, empty, not UTF-8, not CSV or not a GeoJSON
FeatureCollection, columns missing) is a UserError naming the file and what to do; problems of single rows are
returned as `Problem`s for the import's report. The file is hashed (SHA-256) as read, for the audit trail.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from console.domain.portal_records import FIELDS, REQUIRED, Problem
from console.errors import UserError
from console.paths import APP_AUTHOR, APP_NAME

MAX_FILE_BYTES = 1 << 30  # 1 GiB: refused before reading
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class PortalFile:
    """A file read and mapped: its rows as (row number, {our field: value}), numbered as a spreadsheet shows them
    (CSV: the header is row 1) or by feature (GeoJSON: the first feature is 1)."""

    path: Path
    format: str  # csv | geojson
    sha256: str
    columns: list[str]  # as in the file
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    originals: dict[int, dict[str, Any]] = field(default_factory=dict)  # as in the file, for the rejects file
    problems: list[Problem] = field(default_factory=list)  # rows unreadable as such (no record made of them)


def _size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} bytes"


def read_portal_file(path: str | Path, mapping: dict[str, str] | None = None,
                     max_bytes: int | None = None) -> PortalFile:
    """Read a CSV or GeoJSON export (UTF-8), apply `mapping` (their column -> our field), check the columns."""
    path, max_bytes = Path(path), max_bytes or MAX_FILE_BYTES
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise UserError(f"{path} is a folder: give the exported file")
    if size > max_bytes:
        raise UserError(f"{path.name} is {_size(size)}; the import reads files up to {_size(max_bytes)}: "
                        "split the export into smaller files and import each")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    content = _decode(data, path.name)
    if not content.strip():
        raise UserError(f"{path.name} is empty: there is nothing to import")
    fmt = _format(path, content)
    mapping = _normal_mapping(mapping or {})
    result = PortalFile(path, fmt, digest, [])
    if fmt == "geojson":
        _read_geojson(content, path.name, mapping, result)
    else:
        _read_csv(content, path.name, mapping, result)
    if not result.rows and not result.problems:
        raise UserError(f"{path.name} has no camera rows, only {'a header' if fmt == 'csv' else 'an empty collection'}")
    return result


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{name} is UTF-16 text: save it as UTF-8 (in Excel: CSV UTF-8) and import it again")
    head = data[:4096]
    if b"\x00" in head:
        if head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4:
            raise UserError(f"{name} looks like UTF-16 text: save it as UTF-8 (in Excel: CSV UTF-8) and import it again")
        raise UserError(f"{name} is not a text file (it holds binary data): give the portal's CSV or GeoJSON export")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        byte = data[exc.start]
        try:
            data.decode("cp1252")
            guess = "; it looks like Latin-1 / Windows-1252 text"
        except UnicodeDecodeError:
            guess = ""
        raise UserError(f"{name} is not UTF-8 text (byte 0x{byte:02X} on line {line}{guess}): save it as UTF-8 "
                        "and import it again") from None


def _format(path: Path, content: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    return "geojson" if content.lstrip().startswith("{") else "csv"


def _key(name: str) -> str:
    return name.strip().casefold()


def _normal_mapping(mapping: dict[str, str]) -> dict[str, str]:
    normal: dict[str, str] = {}
    for theirs, ours in mapping.items():
        if ours not in FIELDS:
            raise UserError(f"the column mapping sends {theirs!r} to {ours!r}, which is not one of our fields: "
                            f"{', '.join(FIELDS)}")
        normal[_key(theirs)] = ours
    return normal


def _fields_of(columns: list[str], mapping: dict[str, str], name: str) -> list[str | None]:
    """Our field for each of the file's columns (None: a column we do not use)."""
    ours: list[str | None] = []
    for column in columns:
        key = _key(column)
        target = mapping.get(key) or (key if key in FIELDS else None)
        if target is not None and target in ours:
            raise UserError(f"{name}: two columns give {target!r} (the second is {column!r}); map only one of them")
        ours.append(target)
    return ours


def _missing(present: set[str], name: str, columns: list[str]) -> None:
    missing = [f for f in REQUIRED if f not in present]
    if missing:
        shown = ", ".join(columns[:20]) + (" ..." if len(columns) > 20 else "")
        raise UserError(f"{name} has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''} "
                        f"(its columns: {shown or 'none'}); name them so or give a --mapping")


def _read_csv(content: str, name: str, mapping: dict[str, str], result: PortalFile) -> None:
    first_line = content.split("\n", 1)[0]
    delimiter = "," if "," in first_line else ";" if ";" in first_line else "\t" if "\t" in first_line else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise UserError(f"{name} is empty: there is nothing to import")
        columns = [c.strip() for c in header]
        ours = _fields_of(columns, mapping, name)
        _missing({f for f in ours if f}, name, columns)
        result.columns = columns
        for number, values in enumerate(reader, 2):
            if not any(v.strip() for v in values):
                continue
            result.originals[number] = dict(zip(columns, values))
            if len(values) != len(columns):
                result.problems.append(Problem(number, "(row)", f"has {len(values)} values; the header has "
                                               f"{len(columns)} columns (a stray comma or quote?)"))
                continue
            result.rows.append((number, {f: v for f, v in zip(ours, values) if f}))
    except csv.Error as exc:
        raise UserError(f"{name} is not a readable CSV file (line {reader.line_num}: {exc})") from None


def _read_geojson(content: str, name: str, mapping: dict[str, str], result: PortalFile) -> None:
    try:
        document = json.loads(content)
    except json.JSONDecodeError as exc:
        raise UserError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise UserError(f"{name} is nested too deeply to be a GeoJSON export") from None
    kind = document.get("type") if isinstance(document, dict) else type(document).__name__
    if not isinstance(document, dict) or kind != "FeatureCollection" or not isinstance(document.get("features"), list):
        raise UserError(f"{name} is not a GeoJSON FeatureCollection (its top level is {str(kind)[:40]!r}): export "
                        "the cameras as a FeatureCollection of Point features")
    features = document["features"]
    seen: set[str] = set()
    for feature in features:
        if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
            seen.update(str(k) for k in feature["properties"])
    columns = sorted(seen)
    ours = dict(zip(columns, _fields_of(columns, mapping, name)))
    _missing({f for f in ours.values() if f} | {"lat", "lon"}, name, columns)
    result.columns = columns + ["lon", "lat"]
    for number, feature in enumerate(features, 1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        original = dict(properties) if isinstance(properties, dict) else {}
        result.originals[number] = original
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            result.problems.append(Problem(number, "(feature)", "is not a GeoJSON Feature"))
            continue
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if (not isinstance(geometry, dict) or geometry.get("type") != "Point" or not isinstance(coordinates, list)
                or len(coordinates) < 2):
            result.problems.append(Problem(number, "geometry", "is not a Point with [longitude, latitude]"))
            continue
        original.update(lon=coordinates[0], lat=coordinates[1])
        row = {ours[str(k)]: v for k, v in (properties or {}).items() if ours.get(str(k))}
        row["lon"], row["lat"] = coordinates[0], coordinates[1]
        result.rows.append((number, row))


# --- column mappings ------------------------------------------------------------------------------


def mappings_dir() -> Path:
    """Saved column mappings: `import-mappings/NAME.json` in the user's config folder."""
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / "import-mappings"


def load_mapping(name_or_path: str) -> dict[str, str]:
    """A mapping from a JSON file ({"their column": "our field", ...}) or saved earlier under a name."""
    path = Path(name_or_path)
    if not path.is_file():
        if not _NAME.match(name_or_path):
            raise UserError(f"--mapping {name_or_path!r}: no such file")
        path = mappings_dir() / f"{name_or_path}.json"
        if not path.is_file():
            saved = sorted(p.stem for p in mappings_dir().glob("*.json")) if mappings_dir().is_dir() else []
            raise UserError(f"--mapping {name_or_path!r} is neither a file nor a saved mapping "
                            f"(saved: {', '.join(saved) or 'none'})")
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"the mapping {path} is not a readable JSON file ({exc.__class__.__name__})") from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise UserError(f"the mapping {path} must be one JSON object of \"their column\": \"our field\" pairs")
    _normal_mapping(mapping)  # names a wrong field now, before any file is read
    return mapping


def save_mapping(name: str, mapping: dict[str, str]) -> Path:
    if not _NAME.match(name):
        raise UserError(f"--save-mapping {name!r}: use letters, digits, '-', '_' or '.' (at most 64)")
    _normal_mapping(mapping)
    folder = mappings_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(mapping, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


# --- the rejects file -------------------------------------------------------------------------------


def write_rejects(path: Path, source: PortalFile, problems: list[Problem]) -> int:
    """The bad rows as they were in the file, each with its row number and why (CSV; it holds contact details,
    so only the user may read it). Returns how many rows it holds."""
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        reasons.setdefault(problem.row, []).append(f"{problem.column}: {problem.message}")
    columns = ["row", *source.columns, "reason"]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        for row in sorted(reasons):
            writer.writerow({**source.originals.get(row, {}), "row": row, "reason": "; ".join(reasons[row])})
    return len(reasons)

"""The setting `service_area` read into a ServiceArea: a box written in the setting, or a GeoJSON file (read here)."""

from __future__ import annotations

from pathlib import Path

from console.domain.service_area import (
    MAX_FILE_BYTES,
    ServiceArea,
    ServiceAreaInvalid,
    looks_like_box,
    parse_box,
    parse_geojson,
)
from console.errors import UserError


def load_service_area(value: str) -> ServiceArea | None:
    """None when the setting is empty (no area: nothing is checked); UserError naming what to fix otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if looks_like_box(value):
            return parse_box(value)
        path = Path(value).expanduser()
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ServiceAreaInvalid(f"{path.name} is larger than {MAX_FILE_BYTES:,} bytes")
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise UserError(f"setting service_area: cannot read {path} ({exc.strerror or exc}): give a GeoJSON "
                            "file or a box south,west,north,east") from None
        area = parse_geojson(data, path.name)
    except ServiceAreaInvalid as exc:
        raise UserError(f"setting service_area: {exc}") from None
    return area

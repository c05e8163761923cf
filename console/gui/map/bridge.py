"""The object the map page sees as `bridge`: the page's only way back into Python, and it takes nothing on trust.

Every call is checked before it becomes a signal: numbers finite and in range, camera ids the console has put on
the map, areas a bounded list of points. A call that changes anything (select a camera, place the incident,
close or abandon an area) is honoured only when the user's own click or key on the web view stands behind it
(`UserGestures`). Anything else is ignored and logged once per kind, so a page that misbehaves cannot flood
the log either.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from console.gui.map.guard import UserGestures

log = logging.getLogger(__name__)
MAX_AREA_POINTS = 500
_MAX_AREA_JSON = 64_000


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def _point(lat: Any, lon: Any) -> tuple[float, float] | None:
    la, lo = _number(lat, -90.0, 90.0), _number(lon, -180.0, 180.0)
    return None if la is None or lo is None else (la, lo)


class MapBridge(QObject):
    """Slots the page calls by name; signals carry only checked values."""

    sig_ready = Signal()
    """The page has made its map and connected the channel."""
    sig_marker_clicked = Signal(int)
    """The user clicked a camera marker (a camera id the console put on the map)."""
    sig_map_clicked = Signal(float, float)
    """The user clicked the map away from any marker (lat, lon)."""
    sig_area_drawn = Signal(list)
    """The user closed an area: its corners as [[lat, lon], ...]."""
    sig_area_cancelled = Signal()
    """The user abandoned the area being drawn (Escape or Cancel on the map)."""

    def __init__(self, gestures: UserGestures, known_camera: Callable[[int], bool], parent: QObject | None = None):
        super().__init__(parent)
        self.gestures = gestures
        self.known_camera = known_camera
        self.refused: list[str] = []
        """Names of the calls refused so far (for diagnostics and tests)."""
        self._ready = False

    def _refuse(self, call: str, why: str) -> None:
        if not any(seen == call for seen in self.refused):
            log.warning("map page: ignored %s (%s)", call, why)
        self.refused.append(call)

    def _allowed(self, call: str) -> bool:
        if self.gestures.consume(call):
            return True
        self._refuse(call, "no click or key of the user behind it")
        return False

    @Slot()
    def pageReady(self) -> None:  # noqa: N802 (called by name from JavaScript)
        if self._ready:
            self._refuse("pageReady", "the page was already ready")
            return
        self._ready = True
        self.sig_ready.emit()

    @Slot("QVariant")
    def markerClicked(self, camera_id: Any) -> None:  # noqa: N802
        if isinstance(camera_id, float) and camera_id.is_integer():
            camera_id = int(camera_id)  # a JS number arrives as a double
        if isinstance(camera_id, bool) or not isinstance(camera_id, int) or not self.known_camera(camera_id):
            self._refuse("markerClicked", "not a camera on the map")
            return
        if self._allowed("markerClicked"):
            self.sig_marker_clicked.emit(camera_id)

    @Slot("QVariant", "QVariant")
    def mapClicked(self, lat: Any, lon: Any) -> None:  # noqa: N802
        point = _point(lat, lon)
        if point is None:
            self._refuse("mapClicked", "not a latitude and longitude")
            return
        if self._allowed("mapClicked"):
            self.sig_map_clicked.emit(*point)

    @Slot("QVariant")
    def areaDrawn(self, points_json: Any) -> None:  # noqa: N802 (JSON: a JS array does not cross as a list)
        points = None
        if isinstance(points_json, str) and len(points_json) <= _MAX_AREA_JSON:
            try:
                raw = json.loads(points_json)
            except ValueError:
                raw = None
            if isinstance(raw, list) and 3 <= len(raw) <= MAX_AREA_POINTS:
                checked = [_point(*p) if isinstance(p, list) and len(p) == 2 else None for p in raw]
                points = None if None in checked else [list(p) for p in checked]
        if points is None:
            self._refuse("areaDrawn", "not a list of 3 or more points")
            return
        if self._allowed("areaDrawn"):
            self.sig_area_drawn.emit(points)

    @Slot()
    def areaCancelled(self) -> None:  # noqa: N802
        if self._allowed("areaCancelled"):
            self.sig_area_cancelled.emit()

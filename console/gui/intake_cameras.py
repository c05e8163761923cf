"""The intake form's camera table: one row per camera (label, direction, field of view, range, its own point or the
site's, placement, capability, sharing, stream URL), read back as IntakeCamera values with a sentence naming the row
and column of a bad number."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from console.domain.cameras import Capability, SharingMode
from console.domain.intake import IntakeCamera, Placement
from console.gui.choice_box import ChoiceBox

_SHARING_TEXT = {SharingMode.NEVER: "never", SharingMode.ON_ALERT: "only during owner alert",
                 SharingMode.ALWAYS: "always"}
_COLUMNS = ("Label", "Direction °", "FOV °", "Range m", "Latitude", "Longitude", "Placement", "Capability", "Sharing",
            "Stream URL")
# Column numbers, by what they hold.
LABEL, BEARING, FOV, RANGE, LAT, LON, PLACEMENT, CAPABILITY, SHARING, URL = range(len(_COLUMNS))


class CameraTable(QTableWidget):
    """One row per camera; registered-only cameras have sharing fixed to 'never' and no stream URL.

    A camera's latitude and longitude may stay empty: it is then at the site's point.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(_COLUMNS), parent)
        self.setHorizontalHeaderLabels(_COLUMNS)
        for column in (LAT, LON):
            self.horizontalHeaderItem(column).setToolTip("Empty: the camera is at the site's point")
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setVisible(False)

    def add_camera(self, label: str = "", bearing: str = "", fov: str = "90", range_m: str = "30",
                   placement: Placement = Placement.OUTSIDE, capability: Capability = Capability.REGISTERED,
                   sharing: SharingMode = SharingMode.NEVER, url: str = "", lat: str = "", lon: str = "") -> int:
        row = self.rowCount()
        self.insertRow(row)
        for column, text in ((LABEL, label), (BEARING, bearing), (FOV, fov), (RANGE, range_m), (LAT, lat),
                             (LON, lon)):
            self.setItem(row, column, QTableWidgetItem(text))
        self.setCellWidget(row, PLACEMENT, ChoiceBox([(p.value, p) for p in Placement], placement))
        capability_box = ChoiceBox([("registered only", Capability.REGISTERED), ("live-capable", Capability.LIVE)],
                                capability)
        sharing_box = ChoiceBox([(text, mode) for mode, text in _SHARING_TEXT.items()], sharing)
        self.setCellWidget(row, CAPABILITY, capability_box)
        self.setCellWidget(row, SHARING, sharing_box)
        self.setItem(row, URL, QTableWidgetItem(url))
        capability_box.currentIndexChanged.connect(lambda _i, r=row: self._capability_changed(r))
        self._capability_changed(row)
        return row

    def _capability_changed(self, row: int) -> None:
        live = self.cellWidget(row, CAPABILITY).choice() is Capability.LIVE
        sharing = self.cellWidget(row, SHARING)
        if not live:
            sharing.select(SharingMode.NEVER)
        sharing.setEnabled(live)
        url = self.item(row, URL)
        flags = url.flags() | Qt.ItemFlag.ItemIsEnabled if live else url.flags() & ~Qt.ItemFlag.ItemIsEnabled
        url.setFlags(flags)

    def remove_selected(self) -> None:
        for row in sorted({index.row() for index in self.selectedIndexes()}, reverse=True):
            self.removeRow(row)

    def set_point(self, row: int, lat: float, lon: float) -> None:
        """The camera's own point (placed on the map)."""
        self.item(row, LAT).setText(f"{lat:.6f}")
        self.item(row, LON).setText(f"{lon:.6f}")

    def cameras(self, lat: float, lon: float) -> tuple[IntakeCamera, ...]:
        """The rows as cameras, at their own point or else the site's (lat, lon); ValueError naming the row and
        column of a bad number."""
        out = []
        for row in range(self.rowCount()):
            text = [(self.item(row, c).text().strip() if self.item(row, c) else "") for c in range(len(_COLUMNS))]
            numbers = {}
            for column in (BEARING, FOV, RANGE, LAT, LON):
                try:
                    numbers[column] = float(text[column]) if text[column] else None
                except ValueError:
                    raise ValueError(f"camera {row + 1}: {_COLUMNS[column]} must be a number, not {text[column]!r}") \
                        from None
            own = numbers[LAT], numbers[LON]
            if (own[0] is None) != (own[1] is None):
                raise ValueError(f"camera {row + 1}: give both latitude and longitude, or neither (the site's point)")
            point = own if own[0] is not None else (lat, lon)
            out.append(IntakeCamera(text[LABEL], *point, self.cellWidget(row, CAPABILITY).choice(),
                                    self.cellWidget(row, SHARING).choice(), self.cellWidget(row, PLACEMENT).choice(),
                                    numbers[BEARING], numbers[FOV], numbers[RANGE], stream_url=text[URL]))
        return tuple(out)

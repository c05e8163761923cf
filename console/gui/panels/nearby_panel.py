"""The nearby-cameras list: nearest first, with distance, bearing, sharing state, masked owner and consent date."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.domain.cameras import SharingMode
from console.domain.geo import compass_point
from console.domain.sharing import SharingState
from console.gui.theme import Icons
from console.gui.video.tile import CAMERA_MIME
from console.services.incident_view import NearbyAnswer, ShownCamera

STATE_TEXT = {
    SharingState.LIVE_NOW: "Live now",
    SharingState.LIVE_NOT_NOW: "Live-capable, not shared now",
    SharingState.REGISTERED: "Registered only",
}
MODE_TEXT = {SharingMode.ALWAYS: "always", SharingMode.ON_ALERT: "on owner alert", SharingMode.NEVER: "never"}
COLUMNS = ("Camera", "Distance", "Bearing", "Sharing", "Owner", "Consent")


def format_distance(metres: float) -> str:
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.2f} km"


_STATE_ORDER = {SharingState.LIVE_NOW: 0, SharingState.LIVE_NOT_NOW: 1, SharingState.REGISTERED: 2}
_SORT_KEYS = (
    lambda c: c.camera.label.casefold(),
    lambda c: c.camera.distance_m,
    lambda c: c.camera.bearing_deg,
    lambda c: (_STATE_ORDER[c.state], c.camera.distance_m),  # live now first, then nearest
    lambda c: c.owner_masked.casefold(),
    lambda c: (c.camera.consent_at is None, c.camera.consent_at.timestamp() if c.camera.consent_at else 0.0),
)


class NearbyModel(QAbstractTableModel):
    def __init__(self, icons: Icons, parent=None):
        super().__init__(parent)
        self.icons = icons
        self.rows: list[ShownCamera] = []
        self.sorted_by = (1, Qt.SortOrder.AscendingOrder)  # nearest first until the user clicks a header

    def set_rows(self, rows: list[ShownCamera]) -> None:
        self.beginResetModel()
        self.rows = self._sorted(rows)
        self.endResetModel()

    def _sorted(self, rows: list[ShownCamera]) -> list[ShownCamera]:
        column, order = self.sorted_by
        return sorted(rows, key=_SORT_KEYS[column], reverse=order == Qt.SortOrder.DescendingOrder)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Qt's header click: the rows in that column's order (stable, so ties keep the nearest first)."""
        if not 0 <= column < len(COLUMNS):
            return
        self.layoutAboutToBeChanged.emit()
        self.sorted_by = (column, order)
        self.rows = self._sorted(sorted(self.rows, key=_SORT_KEYS[1]))
        self.layoutChanged.emit()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        shown = self.rows[index.row()]
        cam, column = shown.camera, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return cam.label
            if column == 1:
                return format_distance(cam.distance_m)
            if column == 2:
                return f"{compass_point(cam.bearing_deg)} {cam.bearing_deg:.0f}°"
            if column == 3:
                return MODE_TEXT[cam.sharing_mode] if cam.is_live_capable else "registered"
            if column == 4:
                return shown.owner_masked
            if column == 5:
                return cam.consent_at.date().isoformat() if cam.consent_at else "—"
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self.icons.get(f"state-{shown.state.value}")
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{cam.label}\n{cam.address}\n{STATE_TEXT[shown.state]}"
        if role == Qt.ItemDataRole.UserRole:
            return cam.id
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # A row dragged onto a video tile carries its camera id (the wall's drop format).
    def flags(self, index: QModelIndex):
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt's name)
        return [CAMERA_MIME]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802 (Qt's name)
        data = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        if rows:
            data.setData(CAMERA_MIME, QByteArray(str(self.rows[rows[0]].camera.id).encode()))
        return data


class NearbyPanel(QWidget):
    sig_camera_selected = Signal(int)
    """The user selected a camera in the list (camera id)."""
    sig_open_nearest_live = Signal(list)
    """Open the N nearest live-now cameras (list of camera ids, nearest first)."""
    sig_camera_activated = Signal(int)
    """The user double-clicked a camera's row or pressed Enter on it (camera id): open its feed."""

    def __init__(self, icons: Icons, nearest_live_n: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("nearbyPanel")
        self.nearest_live_n = nearest_live_n
        self.model = NearbyModel(icons, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setDragEnabled(True)
        self.table.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((150, 76, 84, 122, 120)):  # "on owner alert" fits its column
            self.table.setColumnWidth(column, width)
        self.table.setSortingEnabled(True)  # a header click sorts by that column (Distance: nearest first)
        self.table.horizontalHeader().setSortIndicator(1, Qt.SortOrder.AscendingOrder)
        self.summary = QLabel("No incident yet.")
        self.live_only = QCheckBox("Live now only")
        self.live_only.setToolTip("Show only the cameras whose owners share them live now")
        self.live_only.toggled.connect(lambda _on: self._show_rows())
        self.open_live = QPushButton()
        self.open_live.setObjectName("primary")
        self.open_live.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.live_only)
        top.addWidget(self.open_live)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self._answer: NearbyAnswer | None = None
        self._update_open_live([])
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.activated.connect(self._activated)  # double-click, or Enter on the current row
        self.open_live.clicked.connect(self.request_open_nearest_live)

    def show_answer(self, answer: NearbyAnswer) -> None:
        self._answer = answer
        inside = answer.inside
        self._show_rows()
        live = sum(1 for c in inside if c.state is SharingState.LIVE_NOW)
        self.summary.setText(f"{len(inside)} camera{'' if len(inside) == 1 else 's'} within {format_distance(answer.radius_m)}, {live} live now")
        self._update_open_live(answer.nearest_live(self.nearest_live_n))

    def _show_rows(self) -> None:
        """The answer's cameras in the list: all of them, or only the live-now ones (the toggle); the selection kept."""
        if self._answer is None:
            return
        selected = self.selected_id()
        rows = self._answer.inside
        if self.live_only.isChecked():
            rows = [c for c in rows if c.state is SharingState.LIVE_NOW]
        self.model.set_rows(rows)
        if selected is not None:
            self.select_camera(selected)

    def _update_open_live(self, ids: list[int]) -> None:
        self.open_live.setText(f"Open nearest live ({len(ids)})")
        self.open_live.setEnabled(bool(ids))
        self.open_live.setToolTip("Ask to open the live feeds of the nearest live-now cameras (Ctrl+Shift+O)")

    def nearest_live_ids(self) -> list[int]:
        return self._answer.nearest_live(self.nearest_live_n) if self._answer else []

    def request_open_nearest_live(self) -> None:
        ids = self.nearest_live_ids()
        if ids:
            self.sig_open_nearest_live.emit(ids)

    def camera_ids(self) -> list[int]:
        return [row.camera.id for row in self.model.rows]

    def selected_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.rows[index.row()].camera.id if index.isValid() else None

    def select_camera(self, camera_id: int) -> bool:
        """Select the camera's row (e.g. after a marker click); False when it is not in the list."""
        for row, shown in enumerate(self.model.rows):
            if shown.camera.id == camera_id:
                index = self.model.index(row, 0)
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
                self.table.scrollTo(index)
                return True
        self.table.clearSelection()
        return False

    def step(self, delta: int) -> None:
        """Select the next (+1) or previous (-1) camera in the list."""
        count = self.model.rowCount()
        if not count:
            return
        current = self.table.currentIndex().row()
        row = 0 if current < 0 else max(0, min(count - 1, current + delta))
        self.select_camera(self.model.rows[row].camera.id)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.select_camera(self.model.rows[index.row()].camera.id)
            self.sig_camera_activated.emit(self.model.rows[index.row()].camera.id)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.sig_camera_selected.emit(self.model.rows[current.row()].camera.id)

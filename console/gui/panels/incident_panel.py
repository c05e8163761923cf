"""The incident panel: where the incident comes from (address, coordinates, open incident) and the search radius."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console.domain.incidents import Incident
from console.errors import UserError
from console.geo.coordinates import looks_like_coordinates, parse_coordinates
from console.gui.text import SHOWN_MAX, TOOLTIP_MAX, plain_tooltip, shortened, show_text

MIN_RADIUS_M, MAX_RADIUS_M = 10, 100_000


class IncidentPanel(QWidget):
    sig_point_entered = Signal(float, float, str)
    """The user gave a location directly (lat, lon, label): coordinates typed or pasted."""
    sig_address_search = Signal(str)
    """The user asked to look up an address (needs the geocoder)."""
    sig_incident_picked = Signal(object)
    """An open incident from the database was chosen (an Incident)."""
    sig_radius_changed = Signal(float)
    """The search radius changed (metres), after the user paused typing or stepping."""

    def __init__(self, radius_m: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("incidentPanel")
        self.search = QLineEdit(placeholderText="Address, or coordinates like 42.1487, -72.6079")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Enter: look up the address, or place the incident at the coordinates (Ctrl+L)")
        self.find_button = QPushButton("Find")
        self.open_incidents = QComboBox()
        self.open_incidents.setPlaceholderText("Open incidents…")
        self.open_incidents.setToolTip("Open incidents in the registry, most urgent first")
        self.radius = QSpinBox(minimum=MIN_RADIUS_M, maximum=MAX_RADIUS_M, singleStep=50, suffix=" m")
        self.radius.setValue(int(radius_m))
        self.radius.setAccelerated(True)
        self.current = QLabel("No incident yet: type an address or coordinates, pick an open incident, or "
                              "click the map.")
        self.current.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.message.hide()

        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.find_button)
        form = QFormLayout()
        form.addRow("Location", row)
        form.addRow("Open", self.open_incidents)
        form.addRow("Radius", self.radius)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.current)
        layout.addWidget(self.message)
        layout.addStretch(1)

        self._incidents: list[Incident] = []
        # A held arrow key steps the radius many times a second: search once the user pauses.
        self._radius_timer = QTimer(self, singleShot=True, interval=150)
        self._radius_timer.timeout.connect(lambda: self.sig_radius_changed.emit(float(self.radius.value())))
        self.radius.valueChanged.connect(lambda _v: self._radius_timer.start())
        self.search.returnPressed.connect(self.submit)
        self.find_button.clicked.connect(self.submit)
        self.open_incidents.activated.connect(self._picked)

    def submit(self) -> None:
        text = self.search.text().strip()
        self.clear_message()
        if not text:
            self.show_message("Type an address, or coordinates such as 42.1487, -72.6079.")
            return
        if looks_like_coordinates(text):
            try:
                lat, lon = parse_coordinates(text)
            except UserError as exc:
                self.show_message(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
                return
            self.sig_point_entered.emit(lat, lon, f"{lat:.5f}, {lon:.5f}")
        elif any(ch.isdigit() for ch in text) and not any(ch.isalpha() for ch in text):
            # Digits only but not a valid pair: say what is wrong instead of sending it to the geocoder.
            try:
                parse_coordinates(text)
            except UserError as exc:
                self.show_message(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        else:
            self.sig_address_search.emit(text)

    def set_open_incidents(self, incidents: list[Incident]) -> None:
        self._incidents = list(incidents)
        self.open_incidents.clear()
        for incident in self._incidents:
            cad = f"{incident.cad_number} · " if incident.cad_number else ""
            self.open_incidents.addItem(f"P{incident.priority} {cad}{incident.type} — {incident.address}")
        self.open_incidents.setCurrentIndex(-1)

    def _picked(self, index: int) -> None:
        if 0 <= index < len(self._incidents):
            self.clear_message()
            self.sig_incident_picked.emit(self._incidents[index])

    def show_incident(self, label: str, lat: float, lon: float, incident: Incident | None = None) -> None:
        """The incident now on the map: its label, and the Location box and the open-incidents list follow it (the
        box holds its coordinates, so Enter there keeps it in place; the list names it, or nothing)."""
        # The label may be CAD or geocoder text: plain, cut to a line's worth, the coordinates always shown.
        show_text(self.current, f"{shortened(label)}\n{lat:.5f}, {lon:.5f}", limit=SHOWN_MAX + 40)
        self.current.setToolTip(plain_tooltip(shortened(label, TOOLTIP_MAX)))
        self.search.setText(f"{lat:.5f}, {lon:.5f}")
        index = next((i for i, known in enumerate(self._incidents)
                      if incident is not None and known.id is not None and known.id == incident.id), -1)
        self.open_incidents.setCurrentIndex(index)

    def show_message(self, text: str, more: str = "") -> None:
        """A short sentence under the incident (never more than a few lines: the panel keeps its size); `more`, the
        detail, in its tooltip."""
        self.message.setText(text)
        self.message.setToolTip(more)
        self.message.show()

    def clear_message(self) -> None:
        self.message.clear()
        self.message.hide()

    def radius_m(self) -> float:
        return float(self.radius.value())

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()


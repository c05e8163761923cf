"""A footage request's area drawn on the map: the buttons, the drawing's states, and the cameras found inside.

Mixed into FootageRequestDialog (console/gui/footage_dialog.py), whose `area_map` is the window's map: while an area is
drawn the dialog says so (`sig_drawing`) so map clicks become its corners, and the drawn area stays on the map while
the dialog is open. The search for the cameras inside runs in FootageCalls (console/gui/footage_calls.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QPushButton

from console.domain.cameras import NearbyCamera


class AreaDrawing:
    """Draw, finish, cancel an area on `self.area_map`, and go back to the incident's radius."""

    def _build_area_row(self) -> QHBoxLayout:
        self.draw_button = QPushButton("Draw area on map…")
        self.draw_button.setToolTip("Click the map corner by corner; double-click or Finish area to close it")
        self.draw_button.clicked.connect(self.start_drawing)
        self.draw_button.setEnabled(self.area_map is not None)
        self.finish_button = QPushButton("Finish area")
        self.finish_button.setObjectName("primary")
        self.finish_button.clicked.connect(self.finish_drawing)
        self.cancel_draw_button = QPushButton("Cancel")
        self.cancel_draw_button.clicked.connect(self.cancel_drawing)
        self.radius_button = QPushButton("Back to the radius")
        self.radius_button.setToolTip("Remove the area and list the cameras within the incident's radius again")
        self.radius_button.clicked.connect(self.back_to_radius)
        area_row = QHBoxLayout()
        for button in (self.draw_button, self.finish_button, self.cancel_draw_button, self.radius_button):
            button.setAutoDefault(False)  # Enter in the dialog is not a reason to start or end a drawing
            area_row.addWidget(button)
        area_row.addStretch(1)
        self._show_area_buttons()
        return area_row

    def _follow_area_map(self) -> None:
        if self.area_map is not None:
            self.area_map.sig_area_drawn.connect(self._area_drawn)
            self.area_map.sig_area_cancelled.connect(self._area_cancelled)

    def _leave_area_map(self) -> None:
        """The area belongs to the dialog: it leaves the map with it."""
        if self.area_map is not None:
            self.area_map.sig_area_drawn.disconnect(self._area_drawn)
            self.area_map.sig_area_cancelled.disconnect(self._area_cancelled)
            self.area_map.cancel_area()
            self.area_map = None
            self._drawing_ended()

    def _show_area_buttons(self) -> None:
        self.draw_button.setVisible(not self.drawing)
        self.finish_button.setVisible(self.drawing)
        self.cancel_draw_button.setVisible(self.drawing)
        self.radius_button.setVisible(not self.drawing and self.area is not None)

    def start_drawing(self) -> None:
        if self.area_map is None or self.drawing:
            return
        if self.windowModality() != Qt.WindowModality.NonModal:
            # The map must take clicks while the dialog stays open (modality changes only while hidden).
            self.hide()
            self.setWindowModality(Qt.WindowModality.NonModal)
            self.show()
        self.drawing = True
        self._show_area_buttons()
        self.sig_drawing.emit(True)
        self.area_map.start_area()
        self.sig_message.emit("Click the map at each corner of the area; double-click or Finish area to close it, "
                              "Esc or Cancel to stop")

    def finish_drawing(self) -> None:
        if self.area_map is not None and self.drawing:
            self.area_map.finish_area()  # the map answers with sig_area_drawn (or keeps drawing under 3 corners)

    def cancel_drawing(self) -> None:
        if self.area_map is not None and self.drawing:
            self.area_map.cancel_area()  # the map answers with sig_area_cancelled

    def _drawing_ended(self) -> None:
        if self.drawing:
            self.drawing = False
            self._show_area_buttons()
            self.sig_drawing.emit(False)

    def _area_cancelled(self) -> None:
        if not self.drawing:
            return
        self._drawing_ended()
        self.sig_message.emit("Area drawing cancelled")
        if self.area is not None:  # the earlier area is still what the list shows: put it back on the map
            self.area_map.show_area(self.area)

    def _area_drawn(self, points: list[list[float]]) -> None:
        if not self.drawing:
            return  # not ours (the map was drawn on for something else)
        self._drawing_ended()
        self.sig_message.emit(f"Finding the cameras inside the area of {len(points)} corners…")
        self.find_cameras_in_area(points)

    def _show_area_cameras(self, points: list[list[float]], cameras: list[NearbyCamera]) -> None:
        self.area = points
        self._set_cameras(cameras, f"Cameras inside the area drawn on the map ({len(cameras)})")
        self._show_area_buttons()
        self.sig_message.emit(f"{len(cameras)} camera(s) inside the drawn area" if cameras else
                              "No registered camera inside the drawn area: draw a larger one, or go back to the radius")

    def back_to_radius(self) -> None:
        self.area = None
        if self.area_map is not None:
            self.area_map.show_area([])
        self._set_cameras(self.radius_cameras, f"Cameras within the incident's radius ({len(self.radius_cameras)})")
        self._show_area_buttons()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if self.drawing and event.key() == Qt.Key.Key_Escape:  # Esc stops the drawing, not the dialog
            self.cancel_drawing()
            return
        super().keyPressEvent(event)

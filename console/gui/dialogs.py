"""Small dialogs built from ui/*.ui forms: picking one of several geocoder candidates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from console.gui.forms import load_form
from console.gui.text import keep_plain

if TYPE_CHECKING:
    from console.geo.geocoder import Candidate


class CandidatesDialog(QDialog):
    """Shown when an address matches several places; never blocks the event loop (opened with open())."""

    sig_chosen = Signal(object)
    """The dispatcher picked a place (a Candidate)."""

    def __init__(self, ui_dir: Path, query: str, candidates: list[Candidate], parent: QWidget | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.form = load_form(ui_dir, "geocode_candidates", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        self.setWindowTitle(self.form.windowTitle())
        self.candidates = candidates
        self.form.prompt.setText(f"“{query}” matches {len(candidates)} places. Pick the incident location:")
        for candidate in candidates:
            outside = "  — OUTSIDE the service area" if candidate.inside is False else ""
            self.form.candidates.addItem(f"{candidate.label}  ({candidate.lat:.5f}, {candidate.lon:.5f}){outside}")
        self.form.candidates.setCurrentRow(0)
        self.form.candidates.itemDoubleClicked.connect(lambda _item: self.accept())
        self.form.buttons.accepted.connect(self.accept)
        self.form.buttons.rejected.connect(self.reject)

    def accept(self) -> None:
        row = self.form.candidates.currentRow()
        super().accept()
        if 0 <= row < len(self.candidates):
            self.sig_chosen.emit(self.candidates[row])

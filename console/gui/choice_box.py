"""A combo box that gives back the enum member chosen (the intake form, the camera editor)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox


class ChoiceBox(QComboBox):
    """A combo box of (text, enum member) choices; `choice()` gives the member back (Qt would turn a str enum
    into a plain string)."""

    def __init__(self, items: list[tuple[str, object]], current: object = None):
        super().__init__()
        self.choices = [data for _text, data in items]
        for text, _data in items:
            self.addItem(text)
        if current is not None:
            self.select(current)

    def choice(self):
        return self.choices[self.currentIndex()]

    def select(self, value) -> None:
        self.setCurrentIndex(self.choices.index(value))

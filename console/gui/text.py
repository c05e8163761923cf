"""Text from outside (registry, CAD, geocoder, audit) is shown as text: one helper for Qt widgets.

QLabel and QMessageBox guess: with the default Qt.AutoText a camera label "<i>Org</i>" shows in italics and an
"<img>" as a broken picture. Here every label is plain text unless the code says otherwise: `show_text` and
`plain_label` set Qt.PlainText, and `keep_plain` (installed on each window and dialog) turns any label still on
AutoText to PlainText when its window is shown. Only fixed UI wording may be rich text (`fixed_rich_text`), and it
must never contain data. Tooltips guess too: `plain_tooltip` makes one that shows its text literally.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


# A registrant's 10 kB "label" must not widen a panel until the map is a sliver: longer text is cut here, and the
# whole of it (up to TOOLTIP_MAX) is in the tooltip.
SHOWN_MAX = 160
TOOLTIP_MAX = 2000


def shortened(text: object, limit: int = SHOWN_MAX) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[:limit - 1] + "…"


def show_text(label: QLabel, text: object, limit: int = SHOWN_MAX) -> None:
    """Put data into a label: always as plain text, at most `limit` characters (the rest in the tooltip)."""
    value = "" if text is None else str(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(shortened(value, limit))
    label.setToolTip(plain_tooltip(shortened(value, TOOLTIP_MAX)) if len(value) > limit else "")


def plain_label(text: object = "", parent: QWidget | None = None) -> QLabel:
    label = QLabel(parent)
    show_text(label, text)
    return label


def fixed_rich_text(label: QLabel, html: str) -> None:
    """The console's own wording with markup (bold, paragraphs). Never pass data in `html`."""
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setText(html)


def plain_tooltip(text: object) -> str:
    """A tooltip string that shows `text` literally (Qt would otherwise guess whether it is HTML)."""
    body = escape("" if text is None else str(text)).replace("\n", "<br>")
    return f"<qt>{body}</qt>"


def plain_message_box(box: QMessageBox) -> QMessageBox:
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


def plain_labels(root: QWidget) -> int:
    """Every label under `root` still on Qt.AutoText becomes PlainText; how many were changed."""
    changed = 0
    for label in root.findChildren(QLabel):
        if label.textFormat() == Qt.TextFormat.AutoText:
            label.setTextFormat(Qt.TextFormat.PlainText)
            changed += 1
    return changed


class _PlainOnShow(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Show:
            plain_labels(watched)
        return False


def keep_plain(window: QWidget) -> None:
    """A safety net under `show_text` for one window or dialog: each time it is shown, any label in it still on
    Qt.AutoText (one someone forgot, a form's) becomes PlainText. Labels set to RichText on purpose
    (`fixed_rich_text`) are left as they are. (Per window, not an application-wide filter: a Python filter on every
    event of the application costs time and can meet objects half destroyed.)"""
    window.installEventFilter(_PlainOnShow(window))

"""Qt widgets with the hostile corpus loaded (tests/gui/hostile_corpus.py): every widget that shows registry or CAD
text shows it as plain text, in the signed-in window and the dialogs it opens; item views show it literally."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QApplication, QGroupBox, QLabel, QWidget

from console.domain.users import Role
from console.gui.registry_tools import ActionIds
from console.gui.text import SHOWN_MAX, TOOLTIP_MAX, fixed_rich_text, keep_plain, plain_tooltip, shortened
from console.store import registry as repo
from console.store.db import open_database
from tests.gui.conftest import signed_in
from tests.gui.hostile_corpus import Canary, seed

pytestmark = pytest.mark.gui


@pytest.fixture
def hostile(sqlite_url, tmp_path):
    with Canary() as canary:
        yield seed(sqlite_url, tmp_path, canary.base_url)


def carries_data(text: str, corpus: list[str]) -> bool:
    return any(t and t in text for t in corpus)


def walk(root: QWidget, corpus: list[str]) -> tuple[list[str], int]:
    """(labels showing corpus text not in plain-text mode, how many widgets showed corpus text)."""
    bad, seen = [], 0
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        if isinstance(widget, QLabel):
            text = widget.text()
        elif isinstance(widget, QAbstractButton):
            text = widget.text()
        elif isinstance(widget, QGroupBox):
            text = widget.title()
        else:
            text = widget.windowTitle() if widget.isWindow() else ""
        if not carries_data(text, corpus):
            continue
        seen += 1
        if isinstance(widget, QLabel) and widget.textFormat() != Qt.TextFormat.PlainText:
            bad.append(f"{type(widget).__name__} {widget.objectName() or '?'} in "
                       f"{type(widget.parent()).__name__}: {widget.textFormat().name} {text[:60]!r}")
    return bad, seen


def view_texts(root: QWidget) -> list[str]:
    texts = []
    for view in root.findChildren(QAbstractItemView):
        model = view.model()
        if model is None:
            continue
        stack = [model.index(r, c) for r in range(model.rowCount()) for c in range(model.columnCount())]
        while stack:  # trees: children too
            index = stack.pop()
            texts.append(str(model.data(index, Qt.ItemDataRole.DisplayRole) or ""))
            stack += [model.index(r, c, index) for r in range(model.rowCount(index))
                      for c in range(model.columnCount(index))]
    return texts


def test_no_widget_shows_registry_or_cad_text_as_rich_text(qtbot, make_console, hostile, tmp_path, players):
    signed = signed_in(make_console(hostile.url), "disp-hostile", Role.DISPATCHER, tmp_path, players)
    window, controller = signed.window, signed.window.controller
    corpus = hostile.texts
    try:
        with open_database(hostile.url) as database, database.engine.connect() as conn:
            incident = repo.get_incident(conn, hostile.incident_id)
        incident_label = f"{incident.cad_number} {incident.type}, {incident.address}"
        with qtbot.waitSignal(controller.sig_nearby_shown, timeout=30_000) as shown:
            controller.set_incident(incident.lat, incident.lon, incident_label, incident)
        answer = shown.args[0]
        assert {c.camera.label for c in answer.inside} == set(hostile.labels)

        # The nearby list shows every hostile label literally (item views never render markup).
        listed = view_texts(window.nearby_panel)
        for label in hostile.labels:
            assert label in listed, f"{label[:60]!r} not listed literally"

        # Each camera in turn in the detail panel; after each, the whole window is walked.
        problems, seen = [], 0
        for camera in answer.inside:
            with qtbot.waitSignal(controller.sig_camera_shown, timeout=10_000):
                controller.select(camera.camera.id)
            title = window.detail_panel.form.title
            assert title.text() == shortened(camera.camera.label)  # literally (a 10 kB label cut, with "…")
            if len(camera.camera.label) > SHOWN_MAX:
                assert title.toolTip() == plain_tooltip(shortened(camera.camera.label, TOOLTIP_MAX))
            bad, n = walk(window, corpus)
            problems += bad
            seen += n
        assert window.incident_panel.current.text().startswith(shortened(incident_label))
        assert seen >= len(answer.inside)  # the walk did see the data it looks for

        # The footage request dialog (CAD heading, cameras and addresses of the hostile owners).
        window.actions_by_id[ActionIds.FOOTAGE_REQUEST].trigger()
        dialog = signed.tools.footage_dialog
        qtbot.waitUntil(dialog.isVisible, timeout=5_000)
        bad, n = walk(dialog, corpus)
        problems += bad
        assert n >= 1  # the heading carries the CAD text
        dialog_texts = view_texts(dialog)
        assert any(label in dialog_texts for label in hostile.labels)
        dialog.close()
        # Every top-level window the app has open (message boxes, other dialogs), for good measure.
        for top in QApplication.topLevelWidgets():
            if top.isVisible():
                problems += walk(top, corpus)[0]
        assert problems == []
    finally:
        signed.close()
        QApplication.instance().setStyleSheet("")


def test_a_label_left_on_auto_text_becomes_plain_when_its_window_is_shown(qtbot):
    window = QWidget()
    keep_plain(window)
    qtbot.addWidget(window)
    label = QLabel("<i>Org</i> <img src=x>", window)
    rich = QLabel(window)
    fixed_rich_text(rich, "<b>Kept</b>: the console's own words")  # set on purpose: left alone
    assert label.textFormat() == Qt.TextFormat.AutoText
    window.show()
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert rich.textFormat() == Qt.TextFormat.RichText


def test_a_tooltip_shows_its_text_literally():
    text = "<b>bold</b> & <img src=x>"
    from PySide6.QtGui import QTextDocument

    document = QTextDocument()
    document.setHtml(plain_tooltip(text))
    assert document.toPlainText() == text

"""The red bar alone, with hostile text from the registry: labels, site names and addresses are outside text and show
as plain text, whatever they hold; several alerts list each (and say how many more); no alert, no bar."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt

from console.domain.grants import GrantSource
from console.domain.incidents import Incident
from console.gui.panels.panic_alert import MAX_ROWS, PanicAlertBar, alert_text
from console.services.owner_alerts import AlertBar

pytestmark = [pytest.mark.gui]
NOW = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)
HOSTILE = [
    "<b>bold</b><img src=x onerror=alert(1)>",
    "\u202eevil\u202c label",  # right-to-left override
    "line\nbreak\r\nand\ttab",
    "x" * 5000,
    "<a href='https://example.invalid/'>click</a>",
    "\x00nul and \ufffd",
    "<script>document.title='pwned'</script>",
]


def bar(label: str, n: int = 1, camera: bool = True) -> AlertBar:
    incident = Incident(n, None, "owner alert", 1, label, 42.1, -72.6, NOW)
    return AlertBar(n, n if camera else None, label, label, label, 42.1 + n / 1000, -72.6, GrantSource.PANIC_BUTTON,
                    NOW, NOW + timedelta(minutes=30), True, incident)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_outside_text_shows_as_plain_text(qtbot, hostile):
    widget = PanicAlertBar()
    qtbot.addWidget(widget)
    shown = bar(hostile)
    widget.show_alerts([(shown, alert_text(shown, None, timezone.utc))])
    (row,) = widget.rows
    assert row.label.textFormat() == Qt.TextFormat.PlainText
    assert hostile[:200] in row.label.text() and row.label.text().startswith("PANIC BUTTON: camera ")
    assert "Open live" == row.open_live.text()
    assert len(shown.reason) <= 500 and shown.reason.startswith("Owner alert (panic button) at ")


def test_several_alerts_list_each_and_say_how_many_more(qtbot):
    widget = PanicAlertBar()
    qtbot.addWidget(widget)
    alerts = [bar(f"camera {n}", n) for n in range(1, MAX_ROWS + 3)]
    widget.show_alerts([(a, alert_text(a, None, timezone.utc)) for a in alerts])
    assert [r.alert.grant_id for r in widget.rows] == list(range(1, MAX_ROWS + 1))
    assert widget.more.text() == "+2 more owner alerts in force"
    widget.show_alerts([])
    assert widget.rows == [] and widget.more.text() == ""


def test_enter_opens_the_first_alert_and_the_buttons_say_which(qtbot):
    widget = PanicAlertBar()
    qtbot.addWidget(widget)
    first, second = bar("front", 1), bar("yard", 2, camera=False)
    widget.show_alerts([(first, alert_text(first, None, None)), (second, alert_text(second, None, None))])
    assert "every camera" in widget.rows[1].label.text()
    opened, acked = [], []
    widget.sig_open_live.connect(opened.append)
    widget.sig_acknowledge.connect(acked.append)
    qtbot.keyClick(widget, Qt.Key.Key_Return)
    widget.rows[1].acknowledge.click()
    assert opened == [first] and acked == [second]


def test_the_alerts_own_incident_on_the_map_is_said_in_words_not_zero_metres():
    from types import SimpleNamespace

    shown = bar("front")
    at = alert_text(shown, SimpleNamespace(lat=shown.lat, lon=shown.lon), timezone.utc)
    assert "at the incident on the map" in at and " 0 m " not in at
    away = alert_text(shown, SimpleNamespace(lat=shown.lat - 0.001, lon=shown.lon), timezone.utc)
    assert "111 m N of the incident" in away, away

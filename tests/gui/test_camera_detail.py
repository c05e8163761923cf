"""The camera detail panel (ui/camera_detail.ui): grant countdown to expiry, no credentials, reveal as a signal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from console.domain.cameras import (
    Camera,
    Capability,
    SharingMode,
    Stream,
    StreamProtocol,
    StreamRole,
)
from console.domain.grants import GrantSource, ShareGrant
from console.domain.sharing import SharingState
from console.gui.panels.camera_detail import CameraDetailPanel, format_countdown
from console.paths import ui_dir
from console.services.incident_view import CameraDetail

pytestmark = pytest.mark.gui
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def detail(expires_in_s: float) -> CameraDetail:
    camera = Camera(id=9, site_id=3, label="Porch", lat=42.1, lon=-72.6, address="12 Elm St",
                    capability=Capability.LIVE, sharing_mode=SharingMode.ON_ALERT,
                    streams=(Stream(StreamProtocol.RTSP, "rtsp://10.0.0.5/main", StreamRole.MAIN, 1, True),))
    grant = ShareGrant(1, 9, None, NOW - timedelta(minutes=1), NOW + timedelta(seconds=expires_in_s),
                       GrantSource.PANIC_BUTTON)
    return CameraDetail(camera, SharingState.LIVE_NOW, grant, "M**** L****")


def test_countdown_format():
    assert format_countdown(65) == "01:05"
    assert format_countdown(3725) == "1:02:05"
    assert format_countdown(-3) == "00:00"


def test_the_grant_counts_down_and_expiry_closes_the_feed_button(qtbot):
    clock = {"now": NOW}
    panel = CameraDetailPanel(ui_dir(), clock=lambda: clock["now"])
    qtbot.addWidget(panel)
    panel.show_detail(detail(90), 42.0, 90.0)
    assert panel.grant_text() == "panic button: ends in 01:30"
    assert panel.form.openFeed.isEnabled()
    assert "10.0.0.5" not in panel.form.streams.text() and "with credentials" in panel.form.streams.text()
    assert panel.form.owner.text() == "M**** L****"
    clock["now"] = NOW + timedelta(seconds=89)
    panel._tick()
    assert panel.grant_text() == "panic button: ends in 00:01"
    clock["now"] = NOW + timedelta(seconds=91)
    with qtbot.waitSignal(panel.sig_grant_expired, timeout=3_000) as blocker:
        pass  # the panel's own one-second timer notices the expiry
    assert blocker.args == [9]
    assert panel.grant_text() == "expired" and not panel.form.openFeed.isEnabled()
    with qtbot.waitSignal(panel.sig_reveal_contact, timeout=1_000) as blocker:
        panel.form.revealContact.click()
    assert blocker.args == [9]

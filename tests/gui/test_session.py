"""A signed-in console end to end: audited searches, 'open nearest live' onto the wall, reveal, sign-out."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.domain.access import Purpose
from console.domain.users import Role
from console.gui.main_window import ActionId
from console.gui.video.tile import CAMERA_MIME

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def test_a_dispatchers_shift_in_one_window(qtbot, registry, sign_in):
    _, ids, incident = registry
    signed = sign_in("disp7", Role.DISPATCHER)
    window, audit = signed.window, signed.services.audit
    asked = []
    signed.feeds.ask_purpose = lambda context, count: asked.append(context) or Purpose("shots fired, looking for "
                                                                                       "the shooter", incident=context.incident)

    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        window.controller.set_incident(incident.lat, incident.lon, "CHI-2026-555001 Shots fired", incident)
    qtbot.waitUntil(lambda: len(audit.query(actions=("search_near",))) == 1, timeout=10_000)
    assert "User: disp7" in window.user_label.text()
    assert ActionId.AUDIT_TRAIL not in window.actions_by_id  # dispatchers do not read the audit trail

    window.actions_by_id[ActionId.OPEN_NEAREST_LIVE].trigger()
    qtbot.waitUntil(lambda: sum(t.view is not None for t in signed.wall.visible_tiles()) == 2, timeout=20_000)
    qtbot.waitUntil(lambda: all(t.state == "live" for t in signed.wall.visible_tiles() if t.view), timeout=20_000)
    assert asked and asked[0].incident == incident
    started = audit.query(actions=("view_start",))
    assert sorted(e.camera_id for e in started) == sorted([ids["door"], ids["yard"]])
    assert all(e.incident_id == incident.id for e in started)
    qtbot.waitUntil(lambda: all(t.painted >= 10 for t in signed.wall.visible_tiles() if t.view), timeout=20_000)
    OUTPUT.mkdir(exist_ok=True)
    assert window.grab().save(str(OUTPUT / "console-live.png"))

    # A row dragged from the nearby list onto a free tile: the drop carries the camera id, the tile plays it.
    model = window.nearby_panel.model
    row = next(r for r in range(model.rowCount()) if model.rows[r].camera.id == ids["door"])
    mime = model.mimeData([model.index(row, 0)])
    assert bytes(mime.data(CAMERA_MIME)).decode() == str(ids["door"])
    assert signed.wall.shape == (1, 2)  # two feeds side by side, no free tile: the dispatcher picks 2 x 2
    signed.wall.set_grid(2)
    free = next(t for t in signed.wall.visible_tiles() if t.view is None)
    assert signed.wall.open_in(free, int(bytes(mime.data(CAMERA_MIME)).decode()))
    qtbot.waitUntil(lambda: free.view is not None and free.view.camera_id == ids["door"], timeout=20_000)
    layout = signed.wall.save_layout(1)

    signed.close()
    assert sorted(e.camera_id for e in audit.query(actions=("view_end",))) == sorted([ids["door"], ids["door"],
                                                                                       ids["yard"]])
    assert json.loads(signed.layouts_file.read_text()) == {"1": layout}  # saved layouts outlive the session
    assert [e.username for e in audit.query(actions=("logout",))] == ["disp7"]
    assert audit.verify().ok


def test_a_supervisor_opens_the_audit_trail_from_the_window(qtbot, sign_in):
    signed = sign_in("sup1", Role.SUPERVISOR)
    signed.window.actions_by_id[ActionId.AUDIT_TRAIL].trigger()
    viewer = signed.audit_viewer
    qtbot.waitUntil(lambda: viewer.isVisible() and viewer.model.rowCount() >= 2, timeout=10_000)
    signed.close()


def test_views_ended_elsewhere_leave_the_wall_without_a_second_end_event(qtbot, registry, sign_in):
    from console.domain.changes import ChangeKind
    from console.store import changes as feed

    _, ids, incident = registry
    signed = sign_in("disp8", Role.DISPATCHER)
    window, audit = signed.window, signed.services.audit
    signed.feeds.ask_purpose = lambda context, count: Purpose("robbery, suspect on foot", incident=context.incident)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        window.controller.set_incident(incident.lat, incident.lon, "CHI-2026-555001 Shots fired", incident)
    window.actions_by_id[ActionId.OPEN_NEAREST_LIVE].trigger()
    qtbot.waitUntil(lambda: sum(t.view is not None for t in signed.wall.visible_tiles()) == 2, timeout=20_000)

    # CAD closes the incident on another workstation: its views end there, and the change is announced.
    now = datetime.now(timezone.utc)
    for event in audit.query(actions=("view_start",)):
        signed.services.viewing.end_view(int(event.details["session_id"]), "incident_closed", now)
    with signed.services.registry.database.engine.begin() as conn:
        feed.record_change(conn, ChangeKind.INCIDENT, incident.id, "cad-gateway")

    qtbot.waitUntil(lambda: all(t.view is None for t in signed.wall.visible_tiles()), timeout=10_000)
    assert "ended: incident closed" in window.notice_label.text()
    signed.close()
    ends = audit.query(actions=("view_end",))
    assert sorted(e.camera_id for e in ends) == sorted([ids["door"], ids["yard"]])  # one end each, not two
    assert audit.verify().ok

"""The README pictures, made by driving the real window and dialogs through real input (clicks and typed keys).

`installer/dev.sh pictures` runs `python -m tests.support.pictures resources/screenshots`; the GUI tests call the
same functions with a folder under tests/output/, so the pictures and the checks see the same screens. Nothing here
sets a label's text: every text on screen is what the console wrote after the input.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

CENTRE = (42.1487, -72.6079)
NOW = datetime(2026, 11, 23, 22, 10, tzinfo=timezone.utc)  # fixed: a picture changes only when the screen does


def wait_for(condition, what: str, seconds: float = 30.0, shown=None) -> None:
    """Run the event loop until `condition()` holds; fail naming `what` (and what `shown()` says) when it never does."""
    from PySide6.QtTest import QTest

    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            said = f"; it shows: {shown()!r}" if shown else ""
            raise AssertionError(f"the window never got to: {what} (waited {seconds:g} s){said}")
        QTest.qWait(10)


def settle(ms: int = 300) -> None:
    """Let the page paint after the last change: a grab right away can miss tiles and markers."""
    from PySide6.QtTest import QTest

    QTest.qWait(ms)


def click(widget, pos=None) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    if pos is None:
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
    else:
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)


def tick(checkbox) -> None:
    """Tick a check box with the space bar (a click at a wide box's centre can miss its label)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    checkbox.setFocus()
    QTest.keyClick(checkbox, Qt.Key.Key_Space)
    assert checkbox.isChecked(), f"{checkbox.text()!r} did not tick"


def type_into(widget, text: str) -> None:
    from PySide6.QtTest import QTest

    widget.setFocus()
    QTest.keyClicks(widget, text)


def choose(combo, text: str) -> None:
    """Pick an entry of a closed combo box with the arrow keys, as a keyboard user does."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentText() == text:
            return
        QTest.keyClick(combo, Qt.Key.Key_Down)
    raise AssertionError(f"the list has no entry {text!r}")


def replace_number(spin, value: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    spin.setFocus()
    QTest.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(spin, value)
    QTest.keyClick(spin, Qt.Key.Key_Tab)


def edit_cell(table, row: int, column: int, text: str) -> None:
    """Type into a table cell as a user does: click it, F2, type, Enter."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QAbstractItemView, QLineEdit

    table.scrollToItem(table.item(row, column))
    rect = table.visualItemRect(table.item(row, column))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    QTest.keyClick(table, Qt.Key.Key_F2)
    wait_for(lambda: table.state() == QAbstractItemView.State.EditingState, "a cell editor open")
    editor = table.indexWidget(table.model().index(row, column))
    assert isinstance(editor, QLineEdit), f"no text editor in cell {row}, {column}"
    QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(editor, text)
    QTest.keyClick(editor, Qt.Key.Key_Return)


MAX_PNG_BYTES = 400_000  # a README picture's budget


def save_png(image, out: Path) -> None:
    """Write `image` as PNG at full size; above the budget, with a 256-colour palette (the screen's flat colours and
    the demo's drawn scenes survive it; text stays sharp, as nothing is scaled)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise AssertionError(f"cannot encode {out}")
    buffer.close()
    out.write_bytes(bytes(data))
    if out.stat().st_size > MAX_PNG_BYTES:
        with Image.open(out) as picture:
            reduced = picture.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        reduced.save(out, optimize=True)


def dark_theme(app) -> None:
    from console.gui.theme import apply_theme
    from console.paths import resources_dir

    apply_theme(app, resources_dir(), "dark")


# -- the main window on the demo registry --


def demo_registry(url: str, cameras: int = 2500) -> None:
    """The demo registry of a first start: the town's cameras and the training site (its drill camera and its
    deliberately broken ones)."""
    from console.services.demo import generate_demo
    from console.services.demo_training import add_training_site
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key

    database = open_database(url, create=True)
    try:
        cipher = ContactCipher(load_contact_key())
        generate_demo(database, cipher, cameras=cameras, seed=1)
        add_training_site(database, cipher, datetime.now(timezone.utc))
    finally:
        database.close()


def demo_streets_file(work: Path) -> str:
    """The demo town's streets as a first start writes them (setting streets_geojson), in the scratch folder."""
    from console.services.demo_town import write_demo_streets

    path = work / "demo-streets.geojson"
    if not path.is_file():
        write_demo_streets(path, cameras=2500, seed=1)
    return str(path)


def console_picture(out: Path, db_url: str, settings, size: tuple[int, int] = (1600, 950)):
    """The dispatcher picks the most urgent open incident from the list and clicks the nearest live-now camera."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from console.app import build_console

    app = QApplication.instance()
    dark_theme(app)
    console = build_console(db_url, settings.replaced(theme="dark"), remember_layout=False)
    window = console.window
    try:
        window.resize(*size)
        window.show()
        wait_for(lambda: window.map.ready, "the map page loaded")
        incidents = window.incident_panel.open_incidents
        wait_for(lambda: incidents.count() > 0, "the open incidents listed")
        shown: list[int] = []
        window.controller.sig_context_shown.connect(shown.append)
        incidents.setFocus()
        QTest.keyClick(incidents, Qt.Key.Key_Down)  # the first entry: the most urgent open incident
        wait_for(lambda: shown, "the cameras near the incident shown")
        table = window.nearby_panel.table
        wait_for(lambda: table.model().rowCount() > 0, "the nearby cameras listed")
        chosen: list[int] = []
        window.controller.sig_camera_shown.connect(chosen.append)
        panel = window.nearby_panel
        live = panel.nearest_live_ids()
        row = panel.camera_ids().index(live[0]) if live else 0
        table.scrollTo(table.model().index(row, 1))
        click(table.viewport(), table.visualRect(table.model().index(row, 1)).center())
        wait_for(lambda: chosen, "the camera's detail shown")
        settle(800)
        image = window.grab().toImage()
        save_png(image, out)
        form = window.detail_panel.form
        return image, {"incident": window.incident_panel.current.text(), "camera": form.title.text(),
                       "state": form.state.text(), "may_open": form.openFeed.isEnabled(),
                       "address": form.address.text(), "address_width": form.address.width()}
    finally:
        console.close(app)


# -- the demo playing: streets, live feeds on the wall, the drill's panic alert, a bulletin with a mark-up --


REASON = "Shots fired call: looking for the suspect and vehicle"
MARK_TEXT = "grey car, heading north"


def _answer_reason_prompt(reason: str, answered: list) -> None:
    """When the reason prompt (a modal dialog) is up, type the reason into it and press Enter, as a dispatcher does."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from console.gui.live_feeds import PurposeDialog

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, PurposeDialog):
            QTimer.singleShot(50, answer)
            return
        dialog.reason.setFocus()
        QTest.keyClicks(dialog.reason, reason)
        QTest.keyClick(dialog.reason, Qt.Key.Key_Return)
        answered.append(reason)

    QTimer.singleShot(50, answer)


def demo_pictures(wall_out: Path, panic_out: Path, bulletin_out: Path, db_url: str, settings, work: Path,
                  size: tuple[int, int] = (1920, 1080), training_out: Path | None = None) -> dict:
    """A dispatcher's first minutes on the demo registry, signed in, the demo gateway playing (as `dev.sh run` does):

    the drill owner's panic alert rings (raised by the demo's own schedule through OwnerAlertService); the dispatcher
    clicks "Open live" on the red bar (panic-alert.png); picks the most urgent open incident from the list, opens the
    nearest live-now cameras from the nearby list with Enter, types the reason once (the wall fills with demo scenes:
    console-demo-wall.png); then Ctrl+Shift+B on a tile, a circle and a text mark placed with the keyboard on the
    picture, and the words typed (bulletin-send.png). Nothing is sent. With `training_out`: back to the training site
    with "Show on map" on the red bar, its wrong-password and offline cameras opened with Enter from the nearby list,
    each tile saying why it shows nothing, with Retry (training-failures.png)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from console.app import build_console
    from console.domain.users import Role
    from console.services.demo_gateway import DemoGatewayService
    from console.services.owner_alerts import OwnerAlertService
    from console.store.audit import AuditLog
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key
    from console.video.factory import PlayerFactory
    from tests.gui.conftest import signed_in

    app = QApplication.instance()
    dark_theme(app)
    settings = settings.replaced(theme="dark", streets_geojson=demo_streets_file(work))
    database = open_database(db_url)
    cipher = ContactCipher(load_contact_key())
    gateway = DemoGatewayService.from_registry(database, cipher, OwnerAlertService(database, AuditLog(database)))
    gateway.alert_every_s = 3600.0  # the drill's alert once, at start, as a console's first minutes see it
    players = PlayerFactory(resolve=gateway.resolve)
    console = build_console(db_url, settings, remember_layout=False)
    window = console.window
    signed = None
    facts: dict = {}
    try:
        window.resize(*size)
        window.show()
        wait_for(lambda: window.map.ready, "the map page loaded")
        signed = signed_in(console, "dispatcher1", Role.DISPATCHER, work, players)
        gateway.start()
        panic = signed.panic
        wait_for(lambda: panic.toolbar.isVisible() and panic.bar.rows, "the drill's panic alert on the red bar",
                 seconds=60)
        row = panic.bar.rows[0]
        facts["panic"] = row.label.text()
        click(row.show_map)  # the site on the map first (its incident and cameras), then its feed
        wait_for(lambda: window.controller.point is not None, "the alert's site on the map")
        click(row.open_live)
        wall = signed.wall
        playing = lambda: [t for t in wall.visible_tiles()  # noqa: E731
                           if t.view is not None and t.state == "live" and t.painted >= 5]
        wait_for(lambda: len(playing()) >= 1, "the drill camera's feed playing", seconds=60)
        settle(800)
        image = window.grab().toImage()
        save_png(image, panic_out)
        facts["panic_size"] = (image.width(), image.height())

        incidents = window.incident_panel.open_incidents
        wait_for(lambda: incidents.count() > 0, "the open incidents listed")
        shown: list[int] = []
        window.controller.sig_context_shown.connect(shown.append)
        incidents.setFocus()
        # The most urgent open incident of the town (the drill's own "owner alert" incident may be listed first).
        wanted = next(i for i in range(incidents.count()) if "owner alert" not in incidents.itemText(i).lower())
        QTest.keyClick(incidents, Qt.Key.Key_Home)
        for _ in range(wanted + (incidents.currentIndex() < 0)):
            QTest.keyClick(incidents, Qt.Key.Key_Down)
        wait_for(lambda: incidents.currentIndex() == wanted, "the incident picked", shown=incidents.currentText)
        facts["incident"] = incidents.currentText()
        controller = window.controller
        wait_for(lambda: controller.point is not None and controller.point.incident is not None
                 and "owner alert" not in (controller.point.incident.type or "").lower(), "the incident on the map")
        wait_for(lambda: shown, "the cameras near the incident shown")
        panel, table = window.nearby_panel, window.nearby_panel.table
        wait_for(lambda: table.model().rowCount() > 0, "the nearby cameras listed")
        live = panel.nearest_live_ids()[:3]
        answered: list = []
        chosen: list[int] = []
        controller.sig_camera_shown.connect(chosen.append)
        for number, camera_id in enumerate(live):
            row_index = panel.camera_ids().index(camera_id)
            index = table.model().index(row_index, 1)
            table.scrollTo(index)
            click(table.viewport(), table.visualRect(index).center())
            wait_for(lambda: camera_id in chosen, f"camera {camera_id}'s detail shown")
            if number == 0:
                _answer_reason_prompt(REASON, answered)
            table.setFocus()
            QTest.keyClick(table, Qt.Key.Key_Return)
            wait_for(lambda: camera_id in {t.view.camera_id for t in wall.tiles if t.view is not None},
                     f"camera {camera_id}'s feed on the wall", seconds=30,
                     shown=lambda: window.statusBar().currentMessage())
        wait_for(lambda: len(playing()) >= 1 + len(live), "the nearby demo feeds playing on the wall", seconds=90,
                 shown=lambda: [(t.view.camera_id if t.view else None, t.state, t.painted, t.isVisible(),
                                 t.failed and t.overlay()["notice"]) for t in wall.tiles] + [live])
        settle(1200)
        image = window.grab().toImage()
        save_png(image, wall_out)
        facts.update(reason_typed=answered, playing=len(playing()), wall_size=(image.width(), image.height()))

        tile = next(t for t in playing() if t.view.camera_id == live[0]) if live else playing()[0]
        window.activateWindow()  # a window shortcut needs its window active, as the dispatcher's is
        QTest.qWaitForWindowActive(window, 5000)
        tile.setFocus()
        QTest.keyClick(tile, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        tools = signed.bulletins
        wait_for(lambda: tools.dialog is not None and tools.dialog.isVisible(), "the send dialog open")
        dialog = tools.dialog
        dialog.resize(1500, 820)
        canvas = dialog.canvas
        wait_for(lambda: canvas is not None, "the picture in the send dialog")
        canvas.setFocus()
        QTest.keyClick(canvas, Qt.Key.Key_1)  # circle: Enter at the centre, then at the edge
        for _ in range(3):
            QTest.keyClick(canvas, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
        QTest.keyClick(canvas, Qt.Key.Key_Return)
        for _ in range(2):
            QTest.keyClick(canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
        QTest.keyClick(canvas, Qt.Key.Key_Return)
        type_into(dialog.mark_text, MARK_TEXT)
        QTest.keyClick(dialog.mark_text, Qt.Key.Key_Return)  # back to the picture
        QTest.keyClick(canvas, Qt.Key.Key_3)
        for _ in range(4):
            QTest.keyClick(canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
        QTest.keyClick(canvas, Qt.Key.Key_Return)
        type_into(dialog.to, "patrol-sector-2@chicopeepd.example, unit12@chicopeepd.example")
        type_into(dialog.text, "Suspect vehicle seen 2 min ago on the Parking lot camera, 323 Winter St: " + MARK_TEXT
                  + ".")
        type_into(dialog.reason, "Shots fired: suspect vehicle description for responding units")
        settle(400)
        image = dialog.grab().toImage()
        save_png(image, bulletin_out)
        facts.update(marks=len(getattr(canvas, "marks", [])), bulletin_size=(image.width(), image.height()))
        dialog.close()
        if training_out is not None:
            facts.update(training_pictures(training_out, window, signed, database))
        return facts
    finally:
        if signed is not None:
            signed.close()  # ends the views and logs out (audited), as the window's own close does
        console.close(app)
        players.close()
        gateway.stop()
        database.close()


def training_pictures(out: Path, window, signed, database) -> dict:
    """The training site's cameras that fail on purpose, opened as a dispatcher opens any camera (the site shown from
    the red bar, the camera picked in the nearby list, Enter): each tile says why it shows nothing and offers Retry."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from sqlalchemy import text

    from console.services.demo_training import TRAINING_CAMERAS

    labels = [label for _name, label, _mode, _url in TRAINING_CAMERAS if "wrong password" in label or "offline" in label]
    with database.engine.connect() as conn:
        ids = [conn.execute(text("SELECT id FROM cameras WHERE label = :label"), {"label": label}).scalar_one()
               for label in labels]
    controller, wall = window.controller, signed.wall
    panic = signed.panic  # the bar's rows are rebuilt as alerts change: take the drill's row as it is now
    wait_for(lambda: panic.toolbar.isVisible() and panic.bar.rows, "the drill's alert still on the red bar")
    click(panic.bar.rows[0].show_map)
    panel, table = window.nearby_panel, window.nearby_panel.table
    wait_for(lambda: all(camera_id in panel.camera_ids() for camera_id in ids), "the training cameras listed nearby",
             shown=panel.camera_ids)
    answered: list = []
    chosen: list[int] = []
    controller.sig_camera_shown.connect(chosen.append)
    for number, camera_id in enumerate(ids):
        index = table.model().index(panel.camera_ids().index(camera_id), 1)
        table.scrollTo(index)
        click(table.viewport(), table.visualRect(index).center())
        wait_for(lambda: camera_id in chosen, f"camera {camera_id}'s detail shown")
        if number == 0:
            _answer_reason_prompt("Training: what each camera failure looks like", answered)
        table.setFocus()
        QTest.keyClick(table, Qt.Key.Key_Return)
        wait_for(lambda: camera_id in {t.view.camera_id for t in wall.tiles if t.view is not None}
                 or any(t.failed and t.failed[0] == camera_id for t in wall.tiles),
                 f"camera {camera_id} on the wall", seconds=30, shown=lambda: window.statusBar().currentMessage())
    failed = lambda: [t for t in wall.visible_tiles() if t.failed and t.failed[0] in ids]  # noqa: E731
    wait_for(lambda: len(failed()) == len(ids) and all(t.retry.isVisible() for t in failed()),
             "each training camera's tile saying why, with Retry", seconds=120,
             shown=lambda: [(t.failed, t.state) for t in wall.tiles])
    settle(800)
    image = window.grab().toImage()
    save_png(image, out)
    return {"training_failed": [t.failed[2] for t in failed()], "training_size": (image.width(), image.height())}


# -- the phone intake dialog, mid-call --


def intake_picture(out: Path, db_url: str):
    """An outreach staffer types a caller's shop in; the address is looked up; saving finds the existing record."""
    from PySide6.QtWidgets import QApplication

    from console.domain.intake import IntakeCamera, IntakeForm
    from console.domain.owners import OwnerContact, OwnerKind
    from console.domain.users import Role, User
    from console.geo.geocoder import Geocoder
    from console.gui.intake_dialog import BEARING, CAPABILITY, LABEL, PLACEMENT, RANGE, SHARING, URL, IntakeDialog
    from console.services.intake import IntakeService
    from console.store.audit import AuditLog
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key
    from tests.geo.nominatim_server import NominatimServer, place

    staff = User(None, "jlee", "Jordan Lee", Role.OUTREACH, NOW - timedelta(days=3))
    address = "77 Center Street, Chicopee, MA 01013"
    database = open_database(db_url, create=True)
    app = QApplication.instance()
    dark_theme(app)
    try:
        intake = IntakeService(database, AuditLog(database), ContactCipher(load_contact_key()), "outreach-desk")
        # Registered last year: the caller does not remember it.
        intake.register(staff, IntakeForm(OwnerKind.BUSINESS, OwnerContact("Dev Patel", "Patel Grocery", "413-555-0182"),
                                          "Patel Grocery", "77 Center St, Chicopee", *CENTRE,
                                          (IntakeCamera("Front door", *CENTRE),), True))
        places = {address: [place("77, Center Street, Chicopee, Hampden County, Massachusetts, 01013, United States",
                                  42.148730, -72.607950)]}
        with NominatimServer(places) as server:
            geocoder = Geocoder("nominatim", server.url, "rtic-console pictures", min_interval_s=0.0)
            dialog = IntakeDialog(intake, staff, geocoder, started_at=datetime(2026, 11, 24, 14, 5, tzinfo=timezone.utc))
            try:
                dialog.resize(1100, 860)
                dialog.show()
                wait_for(dialog.isVisible, "the intake dialog shown")
                type_into(dialog.owner_name, "Devinder Patel")
                type_into(dialog.organisation, "Patel Grocery & Deli")
                type_into(dialog.phone, "(413) 555-0182")
                type_into(dialog.email, "orders@pateldeli.example")
                type_into(dialog.site_name, "Patel Grocery & Deli")
                type_into(dialog.address, address)
                click(dialog.lookup_button)
                wait_for(lambda: dialog.place_note.text().startswith("Found"), "the address found")
                for label, bearing, range_m in (("Front door", "180", "25"), ("Parking lot", "270", "40"),
                                                ("Till", "", "8")):
                    click(next(b for b in dialog.findChildren(type(dialog.lookup_button)) if b.text() == "Add camera"))
                    row = dialog.camera_table.rowCount() - 1
                    edit_cell(dialog.camera_table, row, LABEL, label)
                    if bearing:
                        edit_cell(dialog.camera_table, row, BEARING, bearing)
                    edit_cell(dialog.camera_table, row, RANGE, range_m)
                table = dialog.camera_table
                choose(table.cellWidget(1, CAPABILITY), "live-capable")
                choose(table.cellWidget(1, SHARING), "only during owner alert")
                edit_cell(table, 1, URL, "rtsp://192.0.2.10:554/stream1")
                choose(table.cellWidget(2, PLACEMENT), "inside")
                tick(dialog.agreed)
                click(dialog.save_button)
                wait_for(dialog.dup_box.isVisible, "the possible duplicates shown", shown=dialog.message.text)
                settle(100)
                image = dialog.grab().toImage()
                if not image.save(str(out)):
                    raise AssertionError(f"cannot write {out}")
                return image, dialog
            finally:
                dialog.done(0)
    finally:
        database.close()


# -- the footage request dialog, with a worked request --


def footage_picture(out: Path, db_url: str, folder: Path):
    """A detective's requests for an incident: they pick the shop's request and record the call that got the files."""
    from PySide6.QtWidgets import QApplication

    from console.domain.footage import ContactChannel, ContactOutcome
    from console.gui.footage_dialog import FootageRequestDialog
    from tests.gui.footage_data import footage_world

    world = footage_world(db_url, folder / "evidence", NOW)
    user, footage = world.user, world.footage
    app = QApplication.instance()
    dark_theme(app)
    try:
        # The earlier work on the case, as the detective did it (service calls; the dialog shows what they left).
        created = footage.create(user, world.incident.id, NOW - timedelta(minutes=150), NOW - timedelta(minutes=50),
                                 NOW - timedelta(minutes=45), [c.id for c in world.cameras])
        shop = max(created.request_ids, key=lambda i: len(footage.get(i).camera_ids))
        footage.record_attempt(user, shop, footage.get(shop).version, ContactChannel.PHONE, ContactOutcome.NO_ANSWER,
                               "Store closed, no voicemail", NOW - timedelta(minutes=40))
        clips = []
        for name in ("storefront 2140-2200.mp4", "register 2140-2200.mp4"):
            clips.append(folder / name)
            clips[-1].write_bytes(name.encode() * 40_000)
        footage.attach_files(user, shop, footage.get(shop).version, clips, NOW - timedelta(minutes=5))
        other = next(i for i in created.request_ids if i != shop)
        footage.record_attempt(user, other, 1, ContactChannel.PHONE, ContactOutcome.LEFT_MESSAGE, "",
                               NOW - timedelta(minutes=30))

        dialog = FootageRequestDialog(footage, world.contacts, user, world.incident, world.cameras, clock=lambda: NOW)
        try:
            dialog.resize(1280, 760)
            dialog.show()
            wait_for(lambda: dialog.request_list.count() == 3, "the incident's requests listed")
            requests = dialog.request_list
            row = next(i for i, r in enumerate(dialog.requests) if r.id == shop)
            click(requests.viewport(), requests.visualItemRect(requests.item(row)).center())
            wait_for(lambda: dialog.attempts.rowCount() == 1, "the shop's request shown")
            choose(dialog.channel, "In person")
            choose(dialog.outcome, "Agreed")
            type_into(dialog.note, "Manager will export the DVR, 3 cameras")
            click(dialog.record_button)
            wait_for(lambda: dialog.attempts.rowCount() == 2 and dialog.status.text().startswith("Attempt recorded"),
                     "the call recorded")
            settle(100)
            image = dialog.grab().toImage()
            if not image.save(str(out)):
                raise AssertionError(f"cannot write {out}")
            return image, dialog
        finally:
            dialog.done(0)
    finally:
        world.database.close()


def main(argv: list[str]) -> int:
    """`python -m tests.support.pictures FOLDER`: write console-dark.png, console-demo-wall.png, panic-alert.png,
    bulletin-send.png, training-failures.png, intake-form.png, footage-request.png."""
    import base64
    import os

    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python -m tests.support.pictures FOLDER (an existing folder, e.g. resources/screenshots)",
              file=sys.stderr)
        return 2
    folder = Path(argv[0])
    # A fixed scratch folder: its name shows in the status bar, and a picture should change only with the screen.
    work = Path(tempfile.gettempdir()) / "rtic-readme"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        # A throw-away user: no machine or user settings, data folder or contact key of this computer is read.
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(work / name.lower())
        os.environ["RTIC_MACHINE_SETTINGS"] = str(work / "machine.toml")
        os.environ["RTIC_USER_SETTINGS"] = str(work / "user.toml")
        os.environ["RTIC_CONTACT_KEY"] = base64.b64encode(os.urandom(32)).decode()
        os.environ.pop("RTIC_DATABASE_URL", None)
        from console.app import qt_application
        from console.gui.map.schemes import register_schemes
        from console.settings import load_settings

        register_schemes()
        app = qt_application()
        demo = f"sqlite:///{work / 'demo.db'}"
        demo_registry(demo)
        console_picture(folder / "console-dark.png", demo,
                        load_settings().replaced(streets_geojson=demo_streets_file(work)))
        facts = demo_pictures(folder / "console-demo-wall.png", folder / "panic-alert.png",
                              folder / "bulletin-send.png", demo, load_settings(), work,
                              training_out=folder / "training-failures.png")
        print(facts, file=sys.stderr)
        intake_picture(folder / "intake-form.png", f"sqlite:///{work / 'intake.db'}")
        (work / "footage").mkdir()
        footage_picture(folder / "footage-request.png", f"sqlite:///{work / 'footage.db'}", work / "footage")
        app.processEvents()
        for name in ("console-dark.png", "console-demo-wall.png", "panic-alert.png", "bulletin-send.png",
                     "training-failures.png", "intake-form.png", "footage-request.png"):
            print(folder / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

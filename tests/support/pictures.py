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


def dark_theme(app) -> None:
    from console.gui.theme import apply_theme
    from console.paths import resources_dir

    apply_theme(app, resources_dir(), "dark")


# -- the main window on the demo registry --


def demo_registry(url: str, cameras: int = 2500) -> None:
    from console.services.demo import generate_demo
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key

    database = open_database(url, create=True)
    try:
        generate_demo(database, ContactCipher(load_contact_key()), cameras=cameras, seed=1)
    finally:
        database.close()


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
        if not image.save(str(out)):
            raise AssertionError(f"cannot write {out}")
        form = window.detail_panel.form
        return image, {"incident": window.incident_panel.current.text(), "camera": form.title.text(),
                       "state": form.state.text(), "may_open": form.openFeed.isEnabled()}
    finally:
        console.close(app)


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
    """`python -m tests.support.pictures FOLDER`: write console-dark.png, intake-form.png, footage-request.png."""
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
        console_picture(folder / "console-dark.png", demo, load_settings())
        intake_picture(folder / "intake-form.png", f"sqlite:///{work / 'intake.db'}")
        (work / "footage").mkdir()
        footage_picture(folder / "footage-request.png", f"sqlite:///{work / 'footage.db'}", work / "footage")
        app.processEvents()
        for name in ("console-dark.png", "intake-form.png", "footage-request.png"):
            print(folder / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

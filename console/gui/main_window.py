"""The console's main window: composes the map (centre) and the dockable panels; owns actions and the status bar.

Other features add a panel with `add_panel(...)` and actions with `add_action(...)`; the layout of every dock
is saved with the window's geometry in the user's config folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QPushButton, QToolBar, QWidget

from console.domain.cameras import SharingMode
from console.domain.sharing import SharingState
from console.gui.incident_controller import IncidentController
from console.gui.map.streets import load_streets
from console.gui.map.view import DEFAULT_CENTER, MapView
from console.gui.panels.camera_detail import CameraDetailPanel
from console.gui.panels.incident_panel import IncidentPanel
from console.gui.panels.nearby_panel import NearbyPanel
from console.gui.text import keep_plain
from console.gui.theme import Icons, apply_theme, font_points
from console.gui.workers import Tasks
from console.local_time import clock_text, time_zone
from console.services.incident_view import IncidentView
from console.settings import Settings

if TYPE_CHECKING:  # imported for type hints only: geopy and requests load only when a geocoder is configured
    from console.geo.geocoder import Geocoder
    from console.geo.mbtiles import MBTiles

LAYOUT_VERSION = 1  # bump when the docks change, so an old saved layout is not forced onto new panels


class ActionId:
    """Every window action's id: menus, shortcuts and tests refer to actions by these names."""

    NEW_INCIDENT = "new_incident"
    PLACE_INCIDENT = "place_incident"
    FOCUS_SEARCH = "focus_search"
    NEXT_CAMERA = "next_camera"
    PREVIOUS_CAMERA = "previous_camera"
    OPEN_FEED = "open_feed"
    OPEN_NEAREST_LIVE = "open_nearest_live"
    ZOOM_TO_INCIDENT = "zoom_to_incident"
    TOGGLE_THEME = "toggle_theme"
    AUDIT_TRAIL = "audit_trail"
    CHANGE_REASON = "change_reason"
    LOCK_NOW = "lock_now"
    SEND_BULLETIN = "send_bulletin"
    WALL_EMPHASIS = "wall_emphasis"
    WALL_TO_MONITOR = "wall_to_monitor_{n}"  # n = 1, 2, ... one per screen
    WALL_IN_WINDOW = "wall_in_window"
    LOG_OUT = "log_out"
    QUIT = "quit"


@dataclass
class WindowParts:
    """What the composition root hands the window (no globals: everything it needs comes in here)."""

    incident_view: IncidentView
    settings: Settings
    resources: Path
    ui_dir: Path
    database_label: str
    sync_label: str = "local database"
    user_name: str = "not signed in"
    geocoder: Geocoder | None = None
    mbtiles: MBTiles | None = None
    window_state: QSettings | None = None
    cache_dir: Path | None = None
    map_view: MapView | None = None  # made early by the composition root so the page loads while the DB opens


def make_map_view(settings: Settings, resources: Path, mbtiles: "MBTiles | None", cache_dir: Path | None) -> MapView:
    return MapView(resources, center=DEFAULT_CENTER, theme=settings.theme, tile_url=settings.tile_url,
                   tile_attribution=settings.tile_attribution, mbtiles=mbtiles, user_agent=settings.user_agent,
                   cache_dir=cache_dir)


class MainWindow(QMainWindow):
    sig_open_feed = Signal(int)
    """The user asked to open one camera's live feed (camera id): wire to ViewingService.start_view."""
    sig_open_nearest_live = Signal(list)
    """The user asked to open the N nearest live-now cameras (camera ids, nearest first)."""
    sig_reveal_contact = Signal(int)
    """The user asked to reveal the owner contact of a camera (camera id): wire to the contact service."""
    sig_theme_changed = Signal(str)
    """The theme was switched ("dark" or "light")."""

    def __init__(self, parts: WindowParts, parent: QWidget | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.parts = parts
        self.settings = parts.settings
        self.theme = parts.settings.theme
        self.setObjectName("mainWindow")
        self.setWindowTitle("Community Connect Console")
        self.icons = Icons(parts.resources)
        self.tasks = Tasks(self)
        self.actions_by_id: dict[str, QAction] = {}
        # Asked before the window closes (the signed-in console asks when live views are open); False keeps it open.
        self.confirm_close: Callable[[], bool] | None = None
        self.docks: dict[str, QDockWidget] = {}

        self.map = parts.map_view or make_map_view(parts.settings, parts.resources, parts.mbtiles, parts.cache_dir)
        self.map.view.setZoomFactor(font_points(parts.settings.font_size_pt) / 10)  # the map's labels grow too
        self.setCentralWidget(self.map)
        self.incident_panel = IncidentPanel(parts.settings.search_radius_m)
        self.nearby_panel = NearbyPanel(self.icons, parts.settings.nearest_live_n)
        self.detail_panel = CameraDetailPanel(parts.ui_dir)
        self.add_panel("incident", "Incident", self.incident_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_panel("nearby", "Nearby cameras", self.nearby_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_panel("detail", "Camera", self.detail_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.docks["incident"], self.docks["nearby"]], [170, 500], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["incident"], self.docks["detail"]], [560, 320], Qt.Orientation.Horizontal)

        self.controller = IncidentController(parts.incident_view, parts.geocoder, self.tasks, self.incident_panel,
                                             self.nearby_panel, self.detail_panel, self.map, parts.ui_dir, self)
        self.nearby_panel.sig_open_nearest_live.connect(self.sig_open_nearest_live)
        self.nearby_panel.sig_camera_activated.connect(self.open_feed_of)
        self.detail_panel.sig_open_feed.connect(self.sig_open_feed)
        self.detail_panel.sig_reveal_contact.connect(self.sig_reveal_contact)
        self._build_status_bar()
        self._build_actions()
        self.controller.sig_status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.controller.sig_nearby_shown.connect(self._update_alerts)
        self._restore_layout()
        self.load_open_incidents()
        self.load_streets()

    # --- panels and actions: the API other features use ---------------------------------------

    def add_panel(self, key: str, title: str, widget: QWidget,
                  area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        """Dock a panel; its place and size are saved with the layout under `key` (keep keys stable)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")  # saveState() finds docks by object name
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        self.docks[key] = dock
        if hasattr(self, "view_menu"):
            self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def add_action(self, action_id: str, text: str, shortcut: str | None, slot, menu=None) -> QAction:
        """A window action with an id (see ActionId), an optional shortcut, in a menu (default: Incident)."""
        action = QAction(text, self)
        action.setObjectName(action_id)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{text} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        (menu or self.incident_menu).addAction(action)
        self.actions_by_id[action_id] = action
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        self.incident_menu = bar.addMenu("&Incident")
        camera_menu = bar.addMenu("&Camera")
        self.view_menu = bar.addMenu("&View")
        for dock in self.docks.values():
            self.view_menu.addAction(dock.toggleViewAction())
        self.add_action(ActionId.NEW_INCIDENT, "New incident", "Ctrl+N", self.new_incident)
        self.add_action(ActionId.FOCUS_SEARCH, "Find address or coordinates", "Ctrl+L",
                        self.incident_panel.focus_search)
        self.add_action(ActionId.ZOOM_TO_INCIDENT, "Zoom to incident", "Ctrl+I", self.map.zoom_to_incident)
        place = self.add_action(ActionId.PLACE_INCIDENT, "Place incident on map", "Ctrl+M",
                                self.controller.start_placing)
        place.setCheckable(True)
        self.controller.sig_placing.connect(place.setChecked)
        self.add_action(ActionId.QUIT, "Quit", "Ctrl+Q", self.close)
        self.add_action(ActionId.NEXT_CAMERA, "Next camera", "Ctrl+J", lambda: self.nearby_panel.step(1), camera_menu)
        self.add_action(ActionId.PREVIOUS_CAMERA, "Previous camera", "Ctrl+K", lambda: self.nearby_panel.step(-1),
                        camera_menu)
        self.add_action(ActionId.OPEN_FEED, "Open live feed", "Ctrl+O", self.open_selected_feed, camera_menu)
        self.add_action(ActionId.OPEN_NEAREST_LIVE, "Open nearest live", "Ctrl+Shift+O",
                        self.nearby_panel.request_open_nearest_live, camera_menu)
        self.add_action(ActionId.TOGGLE_THEME, "Dark/light theme", "Ctrl+Shift+T", self.toggle_theme, self.view_menu)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.user_label = QLabel(f"User: {self.parts.user_name}")
        self.database_label = QLabel(f"Database: {self.parts.database_label}")
        self.sync_label = QLabel(f"Sync: {self.parts.sync_label}")
        self.alerts_label = QLabel("Owner alerts: —")
        self.busy_label = QLabel("")
        # Owner alerts and other news from other consoles: a bar across the top of the window for 90 s.
        self.notice_bar = QToolBar("Notices", self)
        self.notice_bar.setObjectName("noticeBar")
        self.notice_bar.setMovable(False)
        self.notice_label = QLabel("")
        self.notice_label.setObjectName("noticeLabel")
        self.notice_bar.addWidget(self.notice_label)
        self.notice_button = QPushButton("")
        self.notice_button.setObjectName("noticeButton")
        self._notice_action = self.notice_bar.addWidget(self.notice_button)
        self._notice_slot = None
        self.notice_button.clicked.connect(self._notice_clicked)
        self.notice_button2 = QPushButton("")
        self.notice_button2.setObjectName("noticeButton2")
        self._notice_action2 = self.notice_bar.addWidget(self.notice_button2)
        self._notice_slot2 = None
        self.notice_button2.clicked.connect(lambda: self._notice_clicked(second=True))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.notice_bar)
        self.notice_bar.hide()
        self._field_copy_notice = False
        self._notice_timer = QTimer(self, singleShot=True, interval=90_000)
        self._notice_timer.timeout.connect(self.notice_bar.hide)
        for label in (self.busy_label, self.alerts_label, self.sync_label, self.database_label, self.user_label):
            bar.addPermanentWidget(label)
        self.tasks.sig_busy_changed.connect(lambda busy: self.busy_label.setText("Working…" if busy else ""))

    def show_notice(self, text: str, urgent: bool = True, button: str | None = None, slot=None,
                    button2: str | None = None, slot2=None) -> None:
        """A notice across the top of the window for 90 s (an owner alert raised on another console, an urgent CAD
        incident), with at most two buttons that act on it."""
        self.notice_label.setTextFormat(Qt.TextFormat.PlainText)  # camera labels and addresses are outside text
        self.notice_label.setText(text)
        self.notice_bar.setStyleSheet(
            "QToolBar { background: #ffb020; border: 0; } QLabel { background: transparent; color: #111; "
            "font-size: 15px; font-weight: bold; padding: 4px 10px; }" if urgent else
            "QLabel { background: transparent; font-size: 15px; font-weight: bold; padding: 4px 10px; }")
        self._notice_slot = slot
        self.notice_button.setText(button or "")
        self._notice_action.setVisible(bool(button and slot))
        self._notice_slot2 = slot2 if button2 else None
        self.notice_button2.setText(button2 or "")
        self._notice_action2.setVisible(bool(button2 and slot2))
        self.notice_bar.show()
        self._notice_timer.start()

    def hide_notice(self) -> None:
        self._notice_slot = self._notice_slot2 = None
        self.notice_bar.hide()

    def _notice_clicked(self, second: bool = False) -> None:
        slot = self._notice_slot2 if second else self._notice_slot
        self.hide_notice()
        if slot is not None:
            slot()

    def _update_alerts(self, answer) -> None:
        alerts = sum(1 for c in answer.inside
                     if c.state is SharingState.LIVE_NOW and c.camera.sharing_mode is SharingMode.ON_ALERT)
        self.alerts_label.setText(f"Owner alerts: {alerts}")
        as_of = getattr(answer, "data_as_of", None)
        if as_of is not None:  # the database is away: this answer came from the field laptop's copy
            self._field_copy_notice = True
            zone = time_zone(self.settings.time_zone)
            made = f"{as_of.astimezone(zone):%d %b} {clock_text(as_of, zone, seconds=False)}"
            self.show_notice(f"DATABASE OFFLINE: cameras from the field copy made {made}")
        elif self._field_copy_notice:
            self._field_copy_notice = False
            self.notice_bar.hide()

    # --- commands ------------------------------------------------------------------------------

    def new_incident(self) -> None:
        self.incident_panel.search.clear()
        self.incident_panel.clear_message()
        self.incident_panel.focus_search()

    def open_selected_feed(self) -> None:
        camera_id = self.controller.live_now_selected()
        if camera_id is None:
            self.statusBar().showMessage("Select a camera that is live now to open its feed.", 6000)
            return
        self.sig_open_feed.emit(camera_id)

    def open_feed_of(self, camera_id: int) -> None:
        """A row of the nearby list activated (double-click, Enter): that camera's feed, when it is live now."""
        shown = next((row for row in self.nearby_panel.model.rows if row.camera.id == camera_id), None)
        if shown is None or shown.state is not SharingState.LIVE_NOW:
            label = shown.camera.label if shown else f"camera {camera_id}"
            self.statusBar().showMessage(f"{label} is not live now: its owner's consent does not allow watching "
                                         "(call the owner for footage).", 6000)
            return
        self.sig_open_feed.emit(camera_id)

    def load_open_incidents(self) -> None:
        registry = self.parts.incident_view.registry
        self.tasks.run("open_incidents", registry.open_incidents, self.incident_panel.set_open_incidents,
                       self.incident_panel.show_message)

    def load_streets(self) -> None:
        """The streets file (setting streets_geojson) drawn under the cameras, read off the GUI thread; tiles, when
        configured, come first."""
        path = self.settings.streets_geojson
        if not path or self.map.tiles_source != "grid":
            return
        self.tasks.run("streets", lambda: load_streets(path), lambda found: self.map.set_streets(found[0]),
                       lambda error: self.statusBar().showMessage(f"No streets on the map: {error}", 20000))

    def set_theme(self, name: str) -> None:
        self.theme = name
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, self.parts.resources, name, self.settings.font_size_pt)
        self.map.set_theme(name)
        self.sig_theme_changed.emit(name)

    def toggle_theme(self) -> None:
        self.set_theme("light" if self.theme == "dark" else "dark")

    # --- layout persistence --------------------------------------------------------------------

    def _restore_layout(self) -> None:
        state = self.parts.window_state
        if state is None:
            self.resize(1600, 950)
            return
        geometry = state.value("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1600, 950)
        saved = state.value("state")
        if saved is not None:
            self.restoreState(saved, LAYOUT_VERSION)
            self.notice_bar.hide()  # a notice belongs to its moment: never restored (it would come back empty)

    def save_layout(self) -> None:
        state = self.parts.window_state
        if state is not None:
            state.setValue("geometry", self.saveGeometry())
            state.setValue("state", self.saveState(LAYOUT_VERSION))
            state.sync()

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.confirm_close is not None and not self.confirm_close():
            event.ignore()
            return
        self.confirm_close = None  # asked once: the shutdown that follows must not ask again
        self.save_layout()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop background work and release the web page (call before the window is deleted)."""
        self.tasks.close()
        self.detail_panel.clear()
        self.map.close_page()

"""The map widget: one QWebEngine page, one bridge object, Python->JS commands queued until the page is ready.

Like Anki's webview: the page says when it is ready (bridge.pageReady); until then commands wait in a queue;
callbacks that arrive after the view was closed are dropped.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QVBoxLayout, QWidget

from console.geo.mbtiles import MBTiles
from console.geo.tile_source import UrlTiles
from console.gui.map.bridge import MapBridge
from console.gui.map.guard import PageRequestGuard, UserGestures, tile_server_origin
from console.gui.map.page import build_map_html, content_security_policy, header_policy, with_policy_meta
from console.gui.map.schemes import APP_SCHEME, TILE_SCHEME, TILE_URL, AppSchemeHandler, TileSchemeHandler

log = logging.getLogger(__name__)
PAGE_URL = "app://local/index.html"
DEFAULT_CENTER = (42.1487, -72.6079)  # where the map opens before any incident (the demo town)


class _Page(QWebEnginePage):
    def javaScriptConsoleMessage(self, level, message, line, source):  # noqa: N802
        log.debug("map page %.200s:%s: %.500s", source, line, message)

    def acceptNavigationRequest(self, url, kind, is_main_frame):  # noqa: N802
        # The page is built once and never goes anywhere else (a link, a javascript: URL, a form).
        return url.toString() == PAGE_URL


class MapView(QWidget):
    """The centre of the window. Tiles: an MBTiles file (offline), else the tile server's URL template, else a grid."""

    sig_ready = Signal()
    """The page is loaded and accepts commands (queued ones have been sent)."""
    sig_marker_clicked = Signal(int)
    """A camera marker was clicked on the map (camera id)."""
    sig_map_clicked = Signal(float, float)
    """The map was clicked at (lat, lon): a possible incident location."""
    sig_area_drawn = Signal(list)
    """An area drawn with start_area() was closed: its corners as [[lat, lon], ...] (at least 3)."""
    sig_area_cancelled = Signal()
    """The area being drawn was abandoned on the map (Escape or its Cancel button)."""

    def __init__(self, resources: Path, *, center: tuple[float, float], theme: str = "dark",
                 tile_url: str = "", tile_attribution: str = "", mbtiles: MBTiles | None = None,
                 user_agent: str = "", cache_dir: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.ready = False
        self._queue: list[tuple[str, Callable[[Any], None] | None]] = []
        self._closed = False
        # A private, in-memory profile: the page keeps no cookies or cache between runs, and the
        # scheme handlers belong to this view alone.
        self.profile = QWebEngineProfile(self)
        if user_agent:
            self.profile.setHttpUserAgent(user_agent)  # tile servers' usage policies want an identifying agent
        # The page's walls (guard.py): only the app, qrc: and the tiles; its policy in a <meta> and a header.
        self.request_guard = PageRequestGuard(tile_server_origin(tile_url), self)
        self.profile.setUrlRequestInterceptor(self.request_guard)
        html = build_map_html(center[0], center[1], theme=theme, cache_dir=cache_dir)
        self.policy = content_security_policy(html)
        html = with_policy_meta(html, self.policy)
        self.app_handler = AppSchemeHandler(resources, html, self, policy=header_policy(self.policy))
        tiles = mbtiles
        if tiles is None and tile_url:
            # The page asks tiles://, Python fetches from the server: one place sets the User-Agent, and the
            # page (a secure app:// origin) never mixes in plain-http content.
            tiles = UrlTiles(tile_url, user_agent or "CommunityConnectConsole")
        self.tile_handler = TileSchemeHandler(tiles, self)
        self.profile.installUrlSchemeHandler(APP_SCHEME, self.app_handler)
        self.profile.installUrlSchemeHandler(TILE_SCHEME, self.tile_handler)
        self.page = _Page(self.profile, self)
        # Camera ids the console has put on the page: (highlighted, clustered); the bridge accepts no others.
        self._shown_ids: tuple[set[int], set[int]] = (set(), set())
        self.gestures = UserGestures(self)
        self.bridge = MapBridge(self.gestures, self._is_shown, self)
        self.channel = QWebChannel(self.page)
        self.channel.registerObject("bridge", self.bridge)
        self.page.setWebChannel(self.channel)
        self.view = QWebEngineView(self)
        self.view.setPage(self.page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.gestures.watch(self.view)
        self.gestures.watch(self.view.focusProxy())
        self._tab_watched = None
        self._pass_tab(self.view.focusProxy())
        self.page.loadFinished.connect(lambda _ok: self._page_loaded())
        self.bridge.sig_ready.connect(self._on_ready)
        self.bridge.sig_marker_clicked.connect(self.sig_marker_clicked)
        self.bridge.sig_map_clicked.connect(self.sig_map_clicked)
        self.bridge.sig_area_drawn.connect(self.sig_area_drawn)
        self.bridge.sig_area_cancelled.connect(self.sig_area_cancelled)
        if mbtiles is not None:
            self.tiles_source = "mbtiles"
            self.set_tiles(TILE_URL, mbtiles.metadata.get("attribution", ""), mbtiles.max_zoom)
        elif tile_url:
            self.tiles_source = "url"
            if not tile_attribution and "openstreetmap.org" in tile_url:
                # OSM's tile usage policy: public tiles only with visible attribution.
                tile_attribution = "© OpenStreetMap contributors"
            self.set_tiles(TILE_URL, tile_attribution)
        else:
            self.tiles_source = "grid"
        self.page.load(QUrl(PAGE_URL))

    def _page_loaded(self) -> None:
        proxy = self.view.focusProxy()
        self.gestures.watch(proxy)
        self._pass_tab(proxy)

    def _pass_tab(self, proxy) -> None:
        if proxy is not None and proxy is not self._tab_watched:
            self._tab_watched = proxy
            proxy.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        # A click puts the keyboard on the map (its own keys: arrows, +/-), but Tab passes it by: Chromium keeps
        # Tab inside the page, where a keyboard user would be trapped.
        if event.type() == QEvent.Type.FocusIn and event.reason() in (Qt.FocusReason.TabFocusReason,
                                                                       Qt.FocusReason.BacktabFocusReason):
            forward = event.reason() == Qt.FocusReason.TabFocusReason
            QTimer.singleShot(0, self, lambda: self._focus_past(watched, forward))
        return False

    @staticmethod
    def _focus_past(widget, forward: bool) -> None:
        """Focus the next (or previous) widget in the window's tab chain that is not part of the map."""
        step = (lambda w: w.nextInFocusChain()) if forward else (lambda w: w.previousInFocusChain())
        candidate = step(widget)
        while candidate is not None and candidate is not widget:
            inside_map = isinstance(candidate.parent(), QWebEngineView) or isinstance(candidate, (QWebEngineView,
                                                                                                  MapView))
            if (not inside_map and candidate.isVisible() and candidate.isEnabled()
                    and candidate.focusPolicy() & Qt.FocusPolicy.TabFocus):
                candidate.setFocus(Qt.FocusReason.TabFocusReason if forward else Qt.FocusReason.BacktabFocusReason)
                return
            candidate = step(candidate)

    # --- commands (queued until the page is ready) ---------------------------------------------

    def run_js(self, script: str, callback: Callable[[Any], None] | None = None) -> None:
        if self._closed:
            return
        if not self.ready:
            self._queue.append((script, callback))
            return
        if callback is None:
            self.page.runJavaScript(script)
        else:
            self.page.runJavaScript(script, 0, self._guarded(callback))

    def _guarded(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        def deliver(result: Any) -> None:
            if not self._closed:  # a late answer from a closed page is dropped
                callback(result)
        return deliver

    def _call(self, function: str, *args: Any, callback: Callable[[Any], None] | None = None) -> None:
        self.run_js(f"rtic.{function}({', '.join(json.dumps(a) for a in args)})", callback)

    def set_cameras(self, rows: list[list], callback: Callable[[Any], None] | None = None) -> None:
        """rows: [id, lat, lon, state 0..2, inside 0/1, label, distance m, fov bearing, angle, range]."""
        self._shown_ids[0].clear()
        self._shown_ids[0].update(int(row[0]) for row in rows)
        self._call("setCameras", rows, callback=callback)

    def set_context(self, rows: list[list], callback: Callable[[Any], None] | None = None) -> None:
        """The cameras around the radius, clustered; same row layout as set_cameras."""
        self._shown_ids[1].clear()
        self._shown_ids[1].update(int(row[0]) for row in rows)
        self._call("setContext", rows, callback=callback)

    def _is_shown(self, camera_id: int) -> bool:
        return camera_id in self._shown_ids[0] or camera_id in self._shown_ids[1]

    def set_incident(self, lat: float, lon: float, radius_m: float, label: str = "", fit: bool = True) -> None:
        self._call("setIncident", lat, lon, radius_m, label, fit)

    def set_radius(self, radius_m: float) -> None:
        self._call("setRadius", radius_m)

    def select(self, camera_id: int | None) -> None:
        self._call("select", camera_id)

    def zoom_to_incident(self) -> None:
        self._call("zoomToIncident")

    def set_tiles(self, url: str, attribution: str = "", max_zoom: int = 19) -> None:
        self._call("setTiles", url, attribution, max_zoom)

    def set_streets(self, lines: list[list], callback: Callable[[Any], None] | None = None) -> None:
        """Road lines under the cameras: [name, lat, lon, lat, lon, ...] each (console/gui/map/streets.py)."""
        self._call("setStreets", lines, callback=callback)

    def streets_state(self, callback: Callable[[dict], None]) -> None:
        """The streets the page knows and the names it painted in the current view (tests, diagnostics)."""
        self._call("streetsState", callback=lambda text: callback(json.loads(text) if text else {}))

    def set_theme(self, name: str) -> None:
        self._call("setTheme", name)

    # --- drawing an area: while drawing, map clicks are corners and are not sent as sig_map_clicked ---

    def start_area(self) -> None:
        """Start drawing an area (any earlier one is removed); sig_area_drawn or sig_area_cancelled follows."""
        self._call("startArea")

    def finish_area(self) -> None:
        """Close the area being drawn (ignored with fewer than 3 corners)."""
        self.gestures.grant("areaDrawn")  # the user pressed the console's own button for it
        self._call("finishArea")

    def cancel_area(self) -> None:
        """Abandon the area being drawn, or remove the one shown."""
        self.gestures.grant("areaCancelled")
        self._call("cancelArea")

    def show_area(self, points: list[list[float]]) -> None:
        """Show an area (no points: none)."""
        self._call("showArea", points)

    def state(self, callback: Callable[[dict], None]) -> None:
        """What the page shows now (counts, selection, incident), for tests and diagnostics."""
        self._call("state", callback=lambda text: callback(json.loads(text) if text else {}))

    def _on_ready(self) -> None:
        self.ready = True
        queued, self._queue = self._queue, []
        for script, callback in queued:
            self.run_js(script, callback)
        self.sig_ready.emit()

    def close_page(self) -> None:
        """Delete the page before its profile (QtWebEngine warns and may crash otherwise)."""
        if self._closed:
            return
        self._closed = True
        self.tile_handler.shutdown()
        self.view.setPage(None)
        # Orphaned first, so the deferred deletes run in this order whatever happens to this widget.
        self.page.setParent(None)
        self.profile.setParent(None)
        self.page.deleteLater()
        self.profile.deleteLater()

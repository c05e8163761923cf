"""The map page's walls: the request allow-list on its profile, and the gate that lets only the user's own
clicks and keys change anything through the bridge.

The page shows text from outside (camera labels, addresses). Should any of it ever run as script, it can still
reach nothing (the interceptor refuses every scheme and host but the app's own, Qt's qrc: and the tiles scheme)
and change nothing (a state-changing bridge call is honoured only right after Qt itself saw a real mouse
release or key press on the web view, each one used once).
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor

log = logging.getLogger(__name__)

# (scheme, host) pairs the page may load from; "" host: qrc:///qtwebchannel/qwebchannel.js has none.
PAGE_ORIGINS = frozenset({("app", "local"), ("tiles", "local"), ("qrc", "")})


def tile_server_origin(tile_url: str) -> tuple[str, str] | None:
    """The configured tile server's (scheme, host), if it is an http(s) URL template."""
    try:
        parts = urlsplit(tile_url.replace("{", "").replace("}", ""))
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.hostname:
        return parts.scheme, parts.hostname.lower()
    return None


class PageRequestGuard(QWebEngineUrlRequestInterceptor):
    """Refuses every request of the page to a scheme/host outside the allow-list; logs each refused host once
    (scheme and host only: a full URL could carry a token in its query)."""

    def __init__(self, extra: tuple[str, str] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.allowed = PAGE_ORIGINS | ({extra} if extra else set())
        self.refused: dict[str, int] = {}

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 (Qt's name)
        url = info.requestUrl()
        scheme, host = url.scheme().lower(), url.host().lower()
        if (scheme, host) in self.allowed:
            return
        info.block(True)
        origin = f"{scheme}://{host}" if host else f"{scheme}:"
        if origin not in self.refused:
            log.warning("map page: refused a request to %s (not the app, qrc: or the tiles)", origin)
        self.refused[origin] = self.refused.get(origin, 0) + 1


# A real click reaches the bridge in a few milliseconds; a gesture older than this has been used up by the page
# itself (a corner click while drawing) or belongs to nothing, and must not authorise a later call.
GESTURE_WINDOW_S = 2.0
_GESTURE_EVENTS = {QEvent.Type.MouseButtonRelease, QEvent.Type.KeyPress}


class UserGestures(QObject):
    """Counts the user's own mouse releases and key presses on the web view (Qt events, not page events).

    `consume()` is True once per real gesture, within GESTURE_WINDOW_S of it. Install with `watch(widget)` on the
    view and its render widget (the focus proxy, created by QtWebEngine when the page loads).
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._last: float | None = None
        self._watched: set[int] = set()
        self._granted: set[str] = set()

    def watch(self, widget: QObject | None) -> None:
        if widget is not None and id(widget) not in self._watched:
            self._watched.add(id(widget))
            widget.installEventFilter(self)

    def grant(self, call: str) -> None:
        """The console itself asks the page for `call` (a Qt button the user pressed): that call, once."""
        self._granted.add(call)

    def consume(self, call: str) -> bool:
        """May the page make this state-changing call now? Uses up the gesture (or the grant) it rests on."""
        if call in self._granted:
            self._granted.discard(call)
            return True
        last, self._last = self._last, None
        return last is not None and time.monotonic() - last <= GESTURE_WINDOW_S

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind == QEvent.Type.ChildAdded and event.child().isWidgetType():
            self.watch(event.child())  # the render widget appears as a child of the view
        elif kind in _GESTURE_EVENTS:
            if kind != QEvent.Type.MouseButtonRelease or event.button() == Qt.MouseButton.LeftButton:
                self._last = time.monotonic()
        return False

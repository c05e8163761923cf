"""The custom URL schemes the map page is served from: app://local/ (page and assets), tiles://local/{z}/{x}/{y}.png.

`register_schemes()` must run before the QApplication exists (QtWebEngine's rule). Tiles are read from the
MBTiles file (or fetched from the tile server) on a small thread pool and answered on the GUI thread; a request the page has cancelled meanwhile
is simply dropped.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from pathlib import Path

import shiboken6
from PySide6.QtCore import QBuffer, QByteArray, QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler

from console.geo.mbtiles import MBTiles

APP_SCHEME = b"app"
TILE_SCHEME = b"tiles"
HOST = "local"
TILE_URL = "tiles://local/{z}/{x}/{y}.png"
_TILE_PATH = re.compile(r"^/(\d{1,2})/(\d+)/(\d+)\.(?:png|jpg|jpeg|webp|pbf)$")

log = logging.getLogger(__name__)


def register_schemes() -> None:
    """Declare app:// and tiles:// to QtWebEngine. Call once, before QApplication is created."""
    for name in (APP_SCHEME, TILE_SCHEME):
        if QWebEngineUrlScheme.schemeByName(name).name() == name:
            continue  # already registered in this process
        scheme = QWebEngineUrlScheme(name)
        scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
        scheme.setFlags(QWebEngineUrlScheme.Flag.SecureScheme | QWebEngineUrlScheme.Flag.LocalAccessAllowed
                        | QWebEngineUrlScheme.Flag.CorsEnabled)
        QWebEngineUrlScheme.registerScheme(scheme)


def _reply(job: QWebEngineUrlRequestJob, mime: bytes, data: bytes, headers: dict[bytes, bytes] | None = None) -> None:
    if headers:
        # A multi-map: each name maps to a list of values (a bare value would be split into characters).
        job.setAdditionalResponseHeaders({QByteArray(k): [QByteArray(v)] for k, v in headers.items()})
    buffer = QBuffer(job)  # parented to the job: lives exactly as long as the reply needs it
    buffer.setData(QByteArray(data))
    job.reply(mime, buffer)


class AppSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves the page (built in memory) and the shipped files under resources/ (small, read once).

    Responses carry the hash-free part of the page's Content-Security-Policy as a header (`policy`; see
    page.header_policy for why the rest is in the page's first <meta>).
    """

    def __init__(self, resources: Path, index_html: str, parent: QObject | None = None, policy: str = ""):
        super().__init__(parent)
        self.root = resources.resolve()
        self.index_html = index_html.encode()
        self.headers = {b"Content-Security-Policy": policy.encode(), b"X-Content-Type-Options": b"nosniff",
                        b"Referrer-Policy": b"no-referrer"} if policy else {}
        self._cache: dict[str, bytes] = {}

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        url = job.requestUrl()
        path = url.path()
        if url.host() != HOST:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        if path in ("/", "/index.html"):
            _reply(job, b"text/html", self.index_html, self.headers)
            return
        data = self._cache.get(path)
        if data is None:
            file = (self.root / path.lstrip("/")).resolve()
            if not file.is_relative_to(self.root) or not file.is_file():
                log.warning("map page asked for a missing file %.200s", path)
                job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
                return
            data = self._cache[path] = file.read_bytes()
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        _reply(job, mime.encode(), data, self.headers)


class _TileRelay(QObject):
    sig_tile = Signal(object, object)
    """(job, (tile bytes or None, mime)): from the reading thread to the GUI thread (no bare None: see workers)."""


class _TileRead(QRunnable):
    def __init__(self, relay: _TileRelay, tiles: MBTiles, job, z: int, x: int, y: int):
        super().__init__()
        self.relay, self.tiles, self.job, self.zxy = relay, tiles, job, (z, x, y)

    def run(self) -> None:
        try:
            data = self.tiles.tile(*self.zxy)
        except Exception:  # a damaged file must not take the map down: the tile stays empty
            log.exception("reading tile %s from %s failed", self.zxy, self.tiles.path)
            data = None
        self.relay.sig_tile.emit(self.job, (data, f"image/{self.tiles.image_format}".encode()))


class TileSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers tiles://local/{z}/{x}/{y}.png from an MBTiles file or the tile server, off the GUI thread."""

    def __init__(self, tiles: MBTiles | None, parent: QObject | None = None):
        super().__init__(parent)
        self.tiles = tiles
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._relay = _TileRelay(self)
        self._relay.sig_tile.connect(self._answer)
        self.served = 0

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        match = _TILE_PATH.match(job.requestUrl().path())
        if self.tiles is None or match is None:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        z, x, y = (int(g) for g in match.groups())
        self.pool.start(_TileRead(self._relay, self.tiles, job, z, x, y))

    def _answer(self, job, reply: tuple[bytes | None, bytes]) -> None:
        data, mime = reply
        if not shiboken6.isValid(job):
            return  # the page cancelled the request (scrolled away, closed) while the tile was read
        if data is None:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        self.served += 1
        _reply(job, mime, data)

    def shutdown(self) -> None:
        self.pool.waitForDone(5_000)
        if self.tiles is not None:
            self.tiles.close()

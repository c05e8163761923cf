"""Checks of an installation through the real window: `render_screenshot` and `run_self_test` (`rtic-console
screenshot`, `rtic-console self-test`). What they build comes from the composition root (console.app) as a
ConsoleRoot: this package never imports it."""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from console.errors import UserError
from console.paths import resources_dir
from console.settings import Settings, load_settings

log = logging.getLogger(__name__)


class ConsoleRoot(NamedTuple):
    """The composition root's makers the checks use."""

    qt_application: Callable
    build_console: Callable
    store_loaded: Callable
    open_database: Callable  # (url, create=True) -> the database the console is built on
    fill_demo: Callable  # (database, cameras): a demo registry, contacts sealed with $RTIC_CONTACT_KEY
    registry: Callable  # (database) -> the RegistryService the check searches with


@contextmanager
def _waiting(app, what: str, seconds: float) -> Iterator[dict]:
    """Run the event loop until flag['done'] is set, or fail with a sentence after `seconds`."""
    flag: dict = {"done": False}
    yield flag
    end = time.monotonic() + seconds
    while not flag["done"]:
        if time.monotonic() > end:
            raise UserError(f"the console window did not finish {what} within {seconds:g} s")
        app.processEvents()
        time.sleep(0.005)


def render_screenshot(root: ConsoleRoot, out: Path | str, db_url: str | None = None,
                      incident: tuple[float, float] | None = None, radius: float | None = None,
                      theme: str | None = None, size: tuple[int, int] = (1600, 950), settings: Settings | None = None) -> None:
    """Render the real main window on the registry (offscreen where there is no display) and save it as an image."""
    from console.gui.map.view import DEFAULT_CENTER
    from console.gui.theme import apply_theme

    out = Path(out)
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: the folder {out.parent} does not exist")
    app = root.qt_application()
    settings = settings or load_settings()
    if theme:
        settings = settings.replaced(theme=theme)
    if radius is not None:
        settings = settings.replaced(search_radius_m=float(radius))
    apply_theme(app, resources_dir(), settings.theme)
    console = root.build_console(db_url, settings, remember_layout=False)
    window = console.window
    try:
        window.resize(*size)
        window.show()
        with _waiting(app, "loading the map", 30) as flag:
            window.map.sig_ready.connect(lambda: flag.update(done=True))
            flag["done"] = window.map.ready
        if incident is None:
            open_incidents = window.parts.incident_view.registry.open_incidents()
            incident = (open_incidents[0].lat, open_incidents[0].lon) if open_incidents else DEFAULT_CENTER
            label = (f"{open_incidents[0].type}, {open_incidents[0].address}" if open_incidents
                     else "Map centre")
        else:
            label = f"{incident[0]:.5f}, {incident[1]:.5f}"
        with _waiting(app, "finding nearby cameras", 30) as flag:
            window.controller.sig_context_shown.connect(lambda _n: flag.update(done=True))
            window.controller.set_incident(incident[0], incident[1], label)
        ids = window.nearby_panel.nearest_live_ids() or window.nearby_panel.camera_ids()
        if ids:
            with _waiting(app, "showing the camera detail", 30) as flag:
                window.controller.sig_camera_shown.connect(lambda _id: flag.update(done=True))
                window.controller.select(ids[0])
        _settle(app, window)
        if not window.grab().save(str(out)):
            raise UserError(f"cannot write the image {out}: use a .png or .jpg name in a writable folder")
    finally:
        console.close(app)


def _settle(app, window, seconds: float = 0.6) -> None:
    """Give the page time to draw tiles and markers after the last change (a grab right away can be blank)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


@dataclass
class CheckResult:
    """One line of `rtic-console self-test`."""

    name: str
    ok: bool
    detail: str
    seconds: float


def self_test_clip() -> Path:
    """The short H.264 clip shipped for the self-test's video check."""
    return resources_dir() / "selftest" / "test-clip.mp4"


def run_self_test(root: ConsoleRoot, clip: Path | None = None, cameras: int = 200, timeout: float = 60.0,
                  report=lambda check: None) -> list[CheckResult]:
    """Check this installation end to end on a throw-away demo registry: settings, Qt, the registry, the window with
    its map, video. `report` is called after each check. Touches neither the user's registry nor contact key."""
    import base64
    import tempfile

    results: list[CheckResult] = []
    state: dict = {}

    def check(name: str, work, needs: tuple[str, ...] = ()) -> None:
        started = time.monotonic()
        missing = [n for n in needs if not any(r.name == n and r.ok for r in results)]
        if missing:
            result = CheckResult(name, False, f"not run: the {', '.join(missing)} check failed", 0.0)
        else:
            try:
                result = CheckResult(name, True, work(), 0.0)
            except Exception as exc:  # every failure is one line; the details go to the log
                log.warning("self-test %s failed", name, exc_info=True)
                reason = str(exc) if isinstance(exc, UserError) else f"{exc.__class__.__name__}: {exc}"
                result = CheckResult(name, False, reason, 0.0)
        result.seconds = round(time.monotonic() - started, 2)
        results.append(result)
        report(result)

    def settings_check() -> str:
        from console.settings import machine_settings_path, user_settings_path

        load_settings()
        return "; ".join(f"{kind} file {path} ({'read' if path.is_file() else 'not there, defaults'})"
                         for kind, path in (("machine", machine_settings_path()), ("user", user_settings_path())))

    def qt_check() -> str:
        import PySide6
        from PySide6.QtCore import qVersion
        from PySide6.QtWebEngineCore import qWebEngineChromiumVersion

        state["app"] = app = root.qt_application()
        return (f"Qt {qVersion()} (PySide6 {PySide6.__version__}), Chromium {qWebEngineChromiumVersion()}, "
                f"platform {app.platformName()}")

    def registry_check() -> str:
        root.store_loaded()
        url = f"sqlite:///{Path(state['folder']) / 'self-test.db'}"
        state["database"] = database = root.open_database(url, create=True)
        started = time.monotonic()
        root.fill_demo(database, cameras)
        created = time.monotonic() - started
        from console.gui.map.view import DEFAULT_CENTER

        state["point"] = point = DEFAULT_CENTER
        found = root.registry(database).nearby(point[0], point[1], 1000.0)
        if not found:
            raise UserError(f"the demo registry of {cameras} cameras has none within 1 km of its centre")
        return (f"demo registry of {cameras} cameras created in {created:.2f} s (SQLite, temporary folder); "
                f"{len(found)} within 1 km of its centre")

    def map_check() -> str:
        from console.gui.self_test import check_map
        from console.gui.theme import apply_theme

        apply_theme(state["app"], resources_dir(), "dark")
        state["console"] = root.build_console(None, Settings(), remember_layout=False, database=state["database"])
        return check_map(state["app"], state["console"].window, *state["point"], timeout)

    def video_check() -> str:
        from console.gui.self_test import check_video

        return check_video(state["app"], clip or self_test_clip(), timeout)

    # A throw-away contact key and registry: the self-test never reads or creates the real ones.
    saved_key = os.environ.get("RTIC_CONTACT_KEY")
    os.environ["RTIC_CONTACT_KEY"] = base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory(prefix="rtic-self-test-") as folder:
        state["folder"] = folder
        try:
            check("settings", settings_check)
            check("qt", qt_check)
            check("registry", registry_check)
            check("map", map_check, needs=("qt", "registry"))
            check("video", video_check, needs=("qt",))
        finally:
            if "console" in state:
                state["console"].close(state["app"])
            elif "database" in state:
                state["database"].close()
            if saved_key is None:
                os.environ.pop("RTIC_CONTACT_KEY", None)
            else:
                os.environ["RTIC_CONTACT_KEY"] = saved_key
    return results

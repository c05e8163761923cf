"""The composition root: opens the database, builds the services and the window, runs Qt.

The only module besides console.gui that imports PySide6, and the only place the window's services are built: the
signed-in console gets every service it uses from `session_services`, and what runs beside the window (field copy keeper,
registry feed, audit checkpoints, CAD intake) is started and stopped here. A start on the database and one in field
mode (the database cannot be reached at start and a field copy is on this computer) differ only in what they give
`run_signed_in`. The CLI reaches the GUI through `run_console`, `render_screenshot` and `run_self_test` (the last two
live in console/gui/checks.py and get what they build from here); nothing else builds objects for the window.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable

import platformdirs

from console.errors import UserError
from console.paths import APP_AUTHOR, APP_NAME, resources_dir, ui_dir
from console.settings import Settings, load_settings

log = logging.getLogger(__name__)


def _prepare_environment() -> None:
    """Headless hosts get the offscreen platform; root needs Chromium's sandbox off (it aborts otherwise)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


_preloading: list[threading.Thread] = []


def _preload_store() -> None:
    """Import the store layer (SQLAlchemy, cryptography: over half a second) on a thread while the main thread
    starts Qt and the map page; the two overlap instead of adding up at start-up. (Alembic is imported only when
    a migration is due: console/store/db.py.)"""

    def load() -> None:
        import console.services.incident_view  # noqa: F401
        import console.store.db  # noqa: F401
        import console.store.secrets  # noqa: F401

    if not _preloading:
        thread = threading.Thread(target=load, name="preload-store", daemon=True)
        thread.start()
        _preloading.append(thread)


def _store_loaded() -> None:
    """Wait for the preload before the main thread imports any of it: two threads importing one package at once
    can see it half-initialised (seen here: "cannot import name ... partially initialized module")."""
    for thread in _preloading:
        thread.join()


def qt_application():
    """The QApplication, created once, with the map's URL schemes registered before it (QtWebEngine's rule)."""
    _prepare_environment()
    _preload_store()
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from console.gui.map.schemes import register_schemes

    # QtWebEngine shares OpenGL contexts with the widgets; without this set before the application exists, a map
    # created after any other window has been shown (the login dialog) crashes the process on some GL stacks.
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    register_schemes()
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else APP_NAME])
        app.setApplicationName("Community Connect Console")
        app.setOrganizationName(APP_AUTHOR)
    return app


@dataclass
class Console:
    """Everything one window needs, built here and handed down."""

    database: object
    window: object
    settings: Settings

    def close(self, app) -> None:
        self.window.shutdown()
        self.window.deleteLater()
        _drain(app)
        if self.window.parts.mbtiles is not None:
            self.window.parts.mbtiles.close()
        self.database.close()


def _drain(app, seconds: float = 0.2) -> None:
    """Let deferred deletes and the web engine's last events run (Python can crash at exit otherwise)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        time.sleep(0.01)


def _demo_streets(settings: Settings, audit) -> Settings:
    """On a demo registry (made now, by an earlier start, or by `rtic-console demo`) its town's streets are written
    and set (setting streets_geojson) so the map shows streets with no tile server; a setting the user or agency
    gave, or tiles, are kept. The demo's size and seed come from its demo_created event (an indexed lookup)."""
    if settings.streets_geojson or settings.tile_url or settings.mbtiles_path:
        return settings
    from console.domain.audit import Action
    from console.paths import user_data_dir
    from console.services.demo_town import write_demo_streets
    from console.settings import user_settings_path, write_settings

    try:
        made = audit.query(actions=(Action.DEMO_CREATED,), limit=1)
        if not made:
            return settings
        facts = made[0].details
        cameras, seed = int(facts.get("cameras", 2500)), int(facts.get("seed", 1))
        path = user_data_dir() / f"demo-streets-{cameras}-{seed}.geojson"
        if not path.is_file():
            write_demo_streets(path, cameras=cameras, seed=seed)
        write_settings(user_settings_path(), {"streets_geojson": str(path)})
    except (OSError, UserError, ValueError, TypeError) as exc:
        log.warning("the demo's streets are not drawn: %s", exc)
        return settings
    return settings.replaced(streets_geojson=str(path))


def _open_registry(db_url: str | None, keep: dict | None = None):
    """Open the database and prove this workstation's contact key is the agency's (refused with one sentence
    otherwise: console/store/key_check.py); an empty one (first start) gets the demo registry and its accounts
    (returned, or None). The proven cipher is put in `keep["cipher"]`."""
    _store_loaded()
    from console.store.db import open_database
    from console.store.key_check import agency_cipher
    from console.store.registry import count_cameras

    database = open_database(db_url, create=True)
    try:
        cipher = agency_cipher(database)
        if keep is not None:
            keep["cipher"] = cipher
        with database.engine.connect() as conn:
            empty = count_cameras(conn) == 0
        if not empty:
            return database, None
        from console.services.demo import create_demo

        log.info("empty registry at %s: creating the demo registry", database.display_url)
        return database, create_demo(database, cipher)["accounts"]
    except BaseException:
        database.close()
        raise


def _with_notice(text: str, work):
    """Run `work` on a worker thread while a small window says what is happening; its result, or a UserError."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QLabel

    from console.gui.workers import Tasks

    notice = QLabel(text)
    notice.setWindowTitle("Community Connect Console")
    notice.setMargin(24)
    notice.show()
    loop, outcome = QEventLoop(), {}
    tasks = Tasks()
    tasks.run("start", work, lambda result: (outcome.update(result=result), loop.quit()),
              lambda error: (outcome.update(error=error), loop.quit()))
    if not outcome:
        loop.exec()
    tasks.close()
    notice.close()
    notice.deleteLater()
    if "error" in outcome:
        raise UserError(outcome["error"])
    return outcome["result"]


def build_console(db_url: str | None, settings: Settings | None = None, *, remember_layout: bool = True,
                  user_name: str = "not signed in", database=None, database_label: str | None = None,
                  sync_label: str | None = None) -> Console:
    """Open the registry and build the window (not shown). The QApplication must exist."""
    from PySide6.QtCore import QSettings

    from console.geo.mbtiles import MBTiles
    from console.gui.map.view import DEFAULT_CENTER, MapView

    settings = settings or load_settings()
    cache_dir = Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR))
    mbtiles = MBTiles(settings.mbtiles_path) if settings.mbtiles_path else None
    # The page starts loading now (QtWebEngine works in its own processes) while Python imports the store
    # and opens the database: the two overlap instead of adding up at start-up.
    map_view = MapView(resources_dir(), center=DEFAULT_CENTER, theme=settings.theme, tile_url=settings.tile_url,
                       tile_attribution=settings.tile_attribution, mbtiles=mbtiles, user_agent=settings.user_agent,
                       cache_dir=cache_dir)
    try:
        _store_loaded()
        from console.gui.main_window import MainWindow, WindowParts
        from console.services.incident_view import IncidentView
        from console.services.registry import RegistryService
        from console.store.secrets import ContactCipher, load_contact_key

        if database is None:
            keep: dict = {}
            database, _ = _open_registry(db_url, keep)
            cipher = keep["cipher"]
        else:  # opened, and its key proven, by the caller
            cipher = ContactCipher(load_contact_key())
    except BaseException:
        map_view.close_page()
        raise
    try:
        geocoder = None
        if settings.geocoder_url or settings.geocoder_kind in ("arcgis", "census"):
            from console.geo.geocoder import Geocoder  # geopy and requests: loaded only when used

            cache = cache_dir / "geocoder.sqlite"
            from console.geo.service_area import load_service_area

            geocoder = Geocoder(settings.geocoder_kind, settings.geocoder_url, settings.user_agent,
                                api_key=settings.geocoder_api_key, timeout_s=settings.geocoder_timeout_s,
                                min_interval_s=settings.geocoder_min_interval_s, cache_path=cache,
                                service_area=load_service_area(settings.service_area))
        window_state = None
        if remember_layout:
            path = Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / "window.ini"
            window_state = QSettings(str(path), QSettings.Format.IniFormat)
        incident_view = IncidentView(RegistryService(database), cipher)
        incident_view.field_copy_max_age = timedelta(days=settings.field_copy_max_age_days)
        parts = WindowParts(
            incident_view=incident_view, settings=settings,
            resources=resources_dir(), ui_dir=ui_dir(), database_label=database_label or database.display_url,
            sync_label=sync_label or ("shared (PostgreSQL)" if database.dialect == "postgresql"
                                      else "this computer only"),
            user_name=user_name, geocoder=geocoder, mbtiles=mbtiles, window_state=window_state,
            cache_dir=cache_dir, map_view=map_view)
        window = MainWindow(parts)
    except BaseException:
        map_view.close_page()
        database.close()
        raise
    return Console(database, window, settings)


# --- a signed-in console: one path for both starts ------------------------------------------------------


@dataclass
class ConsoleStart:
    """What differs between a start on the database and one in field mode; `run_signed_in` does the rest."""

    auth: object  # signs the user in (and in again at the lock screen)
    sink: object  # ResilientAudit: the audit log with the local journal behind it, started
    idle: object  # IdlePolicy
    services: Callable  # (session) -> SessionServices, once someone signed in
    accounts: object = None  # AccountService for the first administrator (None in field mode: no accounts to make)
    demo_accounts: dict | None = None  # a first start's demo accounts, shown before the login
    banner: str | None = None  # field mode: in the login dialog's title and the window's status
    window_labels: dict = field(default_factory=dict)  # build_console's database_label and sync_label
    keepers: Callable = lambda console, signed_in, services, session: []
    """Started once the window shows: what runs beside it (field copy keeper, feed, checkpoints, CAD intake)."""


def run_signed_in(app, settings: Settings, db_url: str | None, start: ConsoleStart) -> int:
    """Sign in, build the window on the registry the services read, run until the user quits, then close it all.
    Log out (the Incident menu, or the lock screen's button) is a shift handover: the sign-in comes back for the next
    user on the same audit sink; Quit ends the program."""
    demo_accounts = start.demo_accounts  # shown once, before the first sign-in only
    handover = False
    try:
        while True:
            status, next_user = _one_shift(app, settings, db_url, start, demo_accounts, handover)
            demo_accounts = None
            if not next_user:
                return status
            handover = True
    finally:
        start.sink.stop()


def _one_shift(app, settings: Settings, db_url: str | None, start: ConsoleStart, demo_accounts: dict | None,
               handover: bool = False) -> tuple[int, bool]:
    """One user's session: (exit status, whether they logged out for the next user). Closes, in order: keepers
    (newest first), the signed-in console (views end, logout recorded), players, the window."""
    from console.gui.sign_in import sign_in
    from console.video.factory import PlayerFactory

    console = signed_in = players = None
    keepers: list = []
    try:
        ask = lambda: sign_in(start.accounts, start.auth, demo_accounts, field_mode=start.banner)  # noqa: E731
        session = _in_event_loop(app, ask) if handover else ask()
        if session is None:
            return 0, False
        services = start.services(session)
        console = build_console(db_url, settings, database=services.registry.database,
                                user_name=session.user.username, **start.window_labels)
        players = PlayerFactory(first_frame_timeout=settings.first_frame_timeout_s)
        console.window.show()
        signed_in = signed_in_console(app, console, session, services, players, start.idle)
        keepers = [keeper for keeper in start.keepers(console, signed_in, services, session) if keeper is not None]
        status = int(app.exec())
        return status, bool(getattr(signed_in, "handover", False))
    finally:
        for keeper in reversed(keepers):
            keeper.stop()
        if signed_in is not None:
            signed_in.close()
        if players is not None:
            players.close()
        if console is not None:
            console.close(app)


def _in_event_loop(app, ask):
    """Run `ask` (a modal dialog) inside the application's own loop. After the last user's app.quit(), Qt makes every
    new event loop, a dialog's too, return at once until QApplication.exec() runs again."""
    from PySide6.QtCore import QTimer

    answer: list = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            answer.append(ask())
        except BaseException as exc:  # noqa: BLE001 - raised again below, outside Qt's loop
            failed.append(exc)
        finally:
            app.exit(0)

    QTimer.singleShot(0, run)
    app.exec()
    if failed:
        raise failed[0]
    return answer[0] if answer else None


def run_console(db_url: str | None = None) -> int:
    """Sign in, open the console window on the registry and run until the user quits."""

    from console.domain.users import IdlePolicy
    from console.gui.theme import apply_theme
    from console.services.accounts import AccountService
    from console.services.auth import AuthService
    from console.services.changes import ChangeFollower
    from console.services.contacts import ContactService
    from console.services.field_copy import FieldCopy
    from console.services.field_login import SealingAuth
    from console.services.registry import RegistryService
    from console.services.offline import ResilientViewingService
    from console.services.resilience import ResilientAudit
    from console.store.audit import AuditLog
    from console.store.journal import AuditJournal
    from console.store.secrets import ContactCipher, find_contact_key, key_sources

    app = qt_application()
    settings = load_settings()
    apply_theme(app, resources_dir(), settings.theme, settings.font_size_pt)
    keep: dict = {}
    database, demo_accounts = _with_notice(
        "Opening the camera registry…\n(a first start creates the demo registry and its accounts: a few seconds)",
        lambda: open_registry_or_field(db_url, keep))
    if database is None:  # the database server does not answer, and this laptop has a field copy
        key, _ = find_contact_key()  # never created here: the copy was sealed under the key this laptop had
        if key is None:
            raise UserError(f"{demo_accounts}; and this laptop has no contact key to open its field copy: "
                            f"{key_sources()}")
        return run_field_mode(app, settings, ContactCipher(key), db_url, demo_accounts)
    cipher = keep["cipher"]
    audit = AuditLog(database)
    settings = _demo_streets(settings, audit)
    # Events that cannot reach the database (it went away mid-shift) wait in a local journal, flushed in order.
    sink = ResilientAudit(audit, AuditJournal())
    sink.start()
    idle = IdlePolicy(settings.idle_lock_minutes)
    # The field copy is sealed to its user's password: the sign-in keeps the key derived from it (never the password)
    # for the keeper, and opens this user's existing copy for when the database goes away.
    auth = SealingAuth(AuthService(database, audit, cipher, idle_policy=idle), FieldCopy(), cipher)
    built: list = []

    def services(session):
        built.append(session_services(
            settings, session, auth=auth,
            viewing=ResilientViewingService(database, audit, sink, cipher,
                                            max_session=timedelta(minutes=settings.live_view_max_minutes),
                                            **offline_limits(settings)),
            contacts=ContactService(database, audit, cipher), registry=RegistryService(database), audit=audit,
            cipher=cipher, sink=sink, changes=ChangeFollower(database)))
        return built[-1]

    def keepers(console, _signed_in, services, session) -> list:
        offline_readers = (services.viewing, services.registry, console.window.parts.incident_view.registry)

        def use_field_copy(copy) -> None:  # on the keeper's thread: each reader takes the copy once per use
            for reader in offline_readers:
                reader.field_copy = copy

        use_field_copy(auth.opened)
        return [_start_field_copy_keeper(settings, database, audit, cipher, session, sink, use_field_copy,
                                         auth.opened, auth.seal),
                _start_feed_runner(settings, database, audit, cipher),
                _start_audit_checkpointer(settings, audit),
                start_cad_intake(console, audit)]

    try:
        return run_signed_in(app, settings, db_url, ConsoleStart(
            auth, sink, idle, services, accounts=AccountService(database, audit, cipher),
            demo_accounts=demo_accounts, keepers=keepers))
    finally:
        database.close()  # closed with the window already, unless nobody signed in
        if built and built[0].viewing.field_copy is not None:
            built[0].viewing.field_copy.close()


def session_services(settings: Settings, session, *, auth, viewing, contacts, registry, audit, cipher, changes,
                     sink=None):
    """Everything a signed-in console uses, for the workstation `session` signed in at; the registry and footage
    tools work on `registry`'s database (the shared one, or the field copy in field mode). The GUI builds none."""
    _store_loaded()
    from console.gui.registry_tools import ToolServices
    from console.gui.session import SessionServices
    from console.services.audit_checkpoints import CheckpointService
    from console.services.audit_reports import AuditService
    from console.services.footage import FootageService
    from console.services.intake import IntakeService
    from console.services.outreach import OutreachService
    from console.services.owner_alerts import OwnerAlertService
    from console.services.registry_edits import RegistryEditService
    from console.services.registry_import import import_file

    database, workstation = registry.database, session.workstation

    def import_portal(path: Path, **options) -> dict:  # on a worker thread: the dry run, then the import
        return import_file(database, cipher, path, **options)

    tools = ToolServices(footage=FootageService.from_settings(database, audit, settings, workstation),
                         intake=IntakeService(database, audit, cipher, workstation),
                         alerts=OwnerAlertService(database, audit, workstation),
                         edits=RegistryEditService(database, audit, cipher, workstation),
                         outreach=OutreachService(database, audit, cipher, workstation),
                         import_portal=import_portal)
    return SessionServices(auth=auth, viewing=viewing, contacts=contacts, registry=registry, audit=audit, sink=sink,
                           changes=changes, audit_trail=AuditService(audit), checkpoints=CheckpointService(audit),
                           tools=tools)


def offline_limits(settings: Settings) -> dict:
    """How old the data behind an offline decision may be (console/services/offline_age.py), from the settings."""
    return {"max_data_age": timedelta(hours=settings.offline_data_max_age_hours),
            "field_copy_max_age": timedelta(days=settings.field_copy_max_age_days)}


def signed_in_console(app, console: Console, session, services, players, idle):
    """The signed-in console on the window, with this user's snapshot folder and saved wall layouts."""
    from console.gui.session import SignedInConsole

    return SignedInConsole(app, console.window, session, services, players, idle,
                           Path(platformdirs.user_pictures_dir()) / "RTIC snapshots",
                           Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / "wall_layouts.json")


def _start_field_copy_keeper(settings, database, audit, cipher, session, sink, on_fresh, current, seal):
    """With field_copy = auto (field laptops): the copy is made again after sign-in and every few minutes online,
    sealed with the key the sign-in derived from the user's password."""
    if settings.field_copy != "auto" or seal is None:
        return None
    from console.services.field_copy import FieldCopy, FieldCopyKeeper

    keeper = FieldCopyKeeper(FieldCopy(), database, session.user, session.workstation, sink.connectivity, on_fresh,
                             interval_s=settings.field_copy_refresh_min * 60.0, audit=audit, cipher=cipher,
                             current=current, seal=seal)
    keeper.start()
    return keeper


def _start_feed_runner(settings, database, audit, cipher):
    """The registry feed followed in the background when feed_url is set; a bad URL is logged, not fatal."""
    from console.services.registry_feed import runner_from_settings

    try:
        runner = runner_from_settings(database, audit, cipher, settings)
    except UserError as exc:
        log.warning("registry feed not followed: %s", exc)
        return None
    if runner is not None:
        runner.start()
    return runner


def _start_audit_checkpointer(settings, audit):
    """With audit_signing_key set (one server or workstation): signed audit checkpoints at the configured interval."""
    from console.services.accounts import default_workstation
    from console.services.audit_checkpointer import checkpointer_from_settings

    try:
        checkpointer = checkpointer_from_settings(audit, settings, default_workstation())
    except UserError as exc:
        log.warning("no automatic audit checkpoints: %s", exc)
        return None
    return checkpointer.start() if checkpointer is not None else None


def start_cad_intake(console: Console, audit):
    """Incidents taken from the CAD folder or endpoint the settings name (one workstation or a server should), into
    the console's database; None, and nothing started, where the settings name no CAD source. Fail closed: with a
    service area that cannot be read there is no intake (its points could not be checked), and the window says so."""
    settings = console.settings
    if not (settings.cad_watch_folder or settings.cad_poll_url):
        return None
    from console.geo.service_area import load_service_area
    from console.services.cad import CadService
    from console.services.cad_sources import runner_from_settings

    try:
        area = load_service_area(settings.service_area)
    except UserError as exc:
        log.error("CAD intake not started: %s", exc)
        console.window.show_notice(f"CAD intake not started: {exc}")
        return None
    geocoder = console.window.parts.geocoder
    service = CadService(console.database, audit, geocode=geocoder.lookup if geocoder else None, service_area=area)
    runner = runner_from_settings(service, settings)
    if runner is not None:
        runner.start()
    return runner


# --- field mode: no database at start, a field copy on this computer ------------------------------------


def open_registry_or_field(db_url: str | None, keep: dict | None = None):
    """As _open_registry; but when the database server does not answer and this computer has a field copy,
    (None, why) so the console starts in field mode on the copy."""
    from console.errors import DatabaseUnreachable

    try:
        return _open_registry(db_url, keep)
    except DatabaseUnreachable as exc:
        from console.services.field_copy import default_field_copy_path

        if not default_field_copy_path().exists():
            raise
        log.warning("%s: starting in field mode on the field copy", exc)
        return None, str(exc)


def field_mode_banner(made_at) -> str:
    return f"FIELD MODE: registry copy made {made_at.astimezone():%d %b %H:%M}, no connection"


def run_field_mode(app, settings: Settings, cipher, db_url: str | None, why: str) -> int:
    """No database, but a field copy: sign in against the account sealed in the copy, and work on the copy.

    The window is built on the copy (opened read-only: an edit is refused, never kept in the copy); searches and live
    views are decided on it; every audit event goes to the local journal, whose flusher writes it into the chain when
    the database answers again (its engine is made without connecting). Restart the console to work online again.
    Nothing runs beside the window: no field copy keeper, registry feed, checkpoints or CAD intake (they need the
    database).
    """

    from console.domain.users import IdlePolicy
    from console.services.changes import ChangeFollower
    from console.services.contacts import ContactService
    from console.services.field_copy import FieldCopy
    from console.services.field_login import FieldAuthService
    from console.services.offline import ResilientViewingService
    from console.services.registry import RegistryService
    from console.services.resilience import ResilientAudit
    from console.store.audit import AuditLog
    from console.store.db import connect_database
    from console.store.journal import AuditJournal

    copy = FieldCopy()
    remote = connect_database(db_url)
    audit = AuditLog(remote)
    sink = ResilientAudit(audit, AuditJournal())
    idle = IdlePolicy(settings.idle_lock_minutes)
    try:
        # The copy is sealed to its user's password: it is opened by the sign-in, not before.
        auth = FieldAuthService(copy, sink, cipher, idle_policy=idle,
                                max_age=timedelta(days=settings.field_copy_max_age_days))
    except UserError as exc:
        remote.close()
        raise UserError(f"{why}; and the field copy on this computer cannot be used: {exc}") from None
    sink.report_offline(why)  # the flusher pings with backoff and writes the journal when the database answers
    sink.start()
    banner = field_mode_banner(auth.made_at)

    def services(session):
        opened = auth.field  # the copy the sign-in opened
        return session_services(
            settings, session, auth=auth,
            viewing=ResilientViewingService(remote, audit, sink, cipher,
                                            max_session=timedelta(minutes=settings.live_view_max_minutes),
                                            **offline_limits(settings), field_copy=opened),
            contacts=ContactService(remote, audit, cipher),
            registry=RegistryService(opened.database, field_copy=opened), audit=audit, cipher=cipher, sink=sink,
            changes=ChangeFollower(opened.database))  # stopped at once: field mode

    def field_notices(console, signed_in, _services, _session) -> list:
        console.window.parts.incident_view.data_as_of = auth.field.made_at  # searches say they answer from the copy
        signed_in.updates.show_field_mode(banner, why)
        console.window.show_notice(f"{banner}. Searches and live views are decided on this copy; audit events are "
                                   "kept on this computer until the database answers.")
        return []

    try:
        return run_signed_in(app, settings, db_url, ConsoleStart(
            auth, sink, idle, services, banner=banner, keepers=field_notices, window_labels={
                "database_label": f"field copy {copy.path} (database {remote.display_url} away)",
                "sync_label": banner}))
    finally:
        if auth.field is not None:
            auth.field.close()
        remote.close()


# --- checks through the real window (console/gui/checks.py) -------------------------------------------------


def _open_database(url: str, create: bool = False):
    _store_loaded()  # the store may still be importing on the preload thread
    from console.store.db import open_database

    return open_database(url, create=create)


def _fill_demo(database, cameras: int) -> None:
    """The self-test's demo registry, its contacts sealed with the throw-away key in $RTIC_CONTACT_KEY."""
    import base64

    from console.services.demo import generate_demo
    from console.store.secrets import ContactCipher

    generate_demo(database, ContactCipher(base64.b64decode(os.environ["RTIC_CONTACT_KEY"])), cameras=cameras)


def _registry(database):
    from console.services.registry import RegistryService

    return RegistryService(database)


def _root():
    from console.gui.checks import ConsoleRoot

    return ConsoleRoot(qt_application, build_console, _store_loaded, _open_database, _fill_demo, _registry)


def render_screenshot(out, *args, **options) -> None:
    """`rtic-console screenshot`: the real main window on the registry, saved as an image."""
    from console.gui.checks import render_screenshot as render

    render(_root(), out, *args, **options)


def run_self_test(*args, **options):
    """`rtic-console self-test`: this installation checked end to end; a list of CheckResult."""
    from console.gui.checks import run_self_test as run

    return run(_root(), *args, **options)

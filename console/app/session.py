"""One path for every signed-in console, and every service it uses (the GUI builds none)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import platformdirs

from console.app.qt import store_loaded
from console.app.window import Console, build_console
from console.paths import APP_AUTHOR, APP_NAME
from console.settings import Settings


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
    resolve: Callable | None = None  # the demo gateway's hook for the PlayerFactory (None: play sources as they are)
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
        players = PlayerFactory(first_frame_timeout=settings.first_frame_timeout_s,
                                ca_file=settings.rtsps_ca_file, resolve=start.resolve, hw_decode=settings.hw_decode)
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


def session_services(settings: Settings, session, *, auth, viewing, contacts, registry, audit, cipher, changes,
                     sink=None, bulletins: bool = True):
    """Everything a signed-in console uses, for the workstation `session` signed in at; the registry and footage
    tools work on `registry`'s database (the shared one, or the field copy in field mode). The GUI builds none."""
    store_loaded()
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

    bulletin_service = outbox = None
    if bulletins:  # not in field mode: a bulletin must reach the shared registry, not a laptop's copy
        from console.services.bulletin_outbox import BulletinOutbox, OutboxRunner, SmtpConfig
        from console.services.bulletins import BulletinService

        bulletin_service = BulletinService.from_settings(database, audit, settings, workstation)
        outbox = OutboxRunner(BulletinOutbox(database, SmtpConfig.from_settings(settings), workstation))
    tools = ToolServices(bulletins=bulletin_service, wake_outbox=outbox.wake if outbox else None, outbox=outbox,
                         footage=FootageService.from_settings(database, audit, settings, workstation),
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

"""A start on the registry database: sign in, the window, and what runs beside it."""

from __future__ import annotations

import logging
from datetime import timedelta

from console.app.field import run_field_mode
from console.app.qt import qt_application, with_notice
from console.app.runners import (
    start_audit_checkpointer,
    start_cad_intake,
    start_demo_gateway,
    start_feed_runner,
    start_field_copy_keeper,
)
from console.app.session import (
    ConsoleStart,
    offline_limits,
    run_signed_in,
    session_services,
)
from console.app.window import open_registry_or_field
from console.errors import UserError
from console.paths import resources_dir
from console.settings import Settings, load_settings

log = logging.getLogger(__name__)


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
    from console.services.offline import ResilientViewingService
    from console.services.registry import RegistryService
    from console.services.resilience import ResilientAudit
    from console.store.audit import AuditLog
    from console.store.journal import AuditJournal
    from console.store.secrets import ContactCipher, find_contact_key, key_sources

    app = qt_application()
    settings = load_settings()
    apply_theme(app, resources_dir(), settings.theme, settings.font_size_pt)
    keep: dict = {}
    database, demo_accounts = with_notice(
        "Opening the camera registry…\n(a first start creates the demo registry and its accounts: a few seconds)",
        lambda: open_registry_or_field(db_url, keep))
    if database is None:  # the database server does not answer, and this laptop has a field copy
        key, _ = find_contact_key()  # never created here: the copy was sealed under the key this laptop had
        if key is None:
            raise UserError(f"{demo_accounts}; and this laptop has no contact key to open its field copy: "
                            f"{key_sources()}")
        return run_field_mode(app, settings, ContactCipher(key), db_url, demo_accounts)
    cipher = keep["cipher"]
    from console.store.db import use_standby

    database.write_timeout_s = settings.db_write_timeout_s  # an audit write never hangs the console (README)
    use_standby(database, settings.read_database_url, settings.standby_max_lag_s)  # searches on a fresh standby
    audit = AuditLog(database)
    settings = demo_streets(settings, audit)
    # Events that cannot reach the database (it went away mid-shift) wait in a local journal, flushed in order.
    sink = ResilientAudit(audit, AuditJournal())
    sink.start()
    idle = IdlePolicy(settings.idle_lock_minutes)
    # The field copy is sealed to its user's password: the sign-in keeps the key derived from it (never the password)
    # for the keeper, and opens this user's existing copy for when the database goes away.
    from console.services.directory_auth import authenticator_from_settings

    auth = SealingAuth(AuthService(database, audit, cipher, idle_policy=idle,
                                   directory=authenticator_from_settings(settings)), FieldCopy(), cipher)
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
        return [start_field_copy_keeper(settings, database, audit, cipher, session, sink, use_field_copy,
                                         auth.opened, auth.seal),
                start_feed_runner(settings, database, audit, cipher),
                start_audit_checkpointer(settings, audit),
                start_cad_intake(console, audit),
                services.tools.outbox.start() if settings.smtp_host and services.tools.outbox else None]

    demo = start_demo_gateway(settings, database, audit, cipher)
    try:
        return run_signed_in(app, settings, db_url, ConsoleStart(
            auth, sink, idle, services, accounts=AccountService(database, audit, cipher),
            demo_accounts=demo_accounts, keepers=keepers, resolve=demo.resolve if demo else None))
    finally:
        if demo is not None:
            demo.stop()  # after the players: their sessions end (WHEP DELETE) while the gateway still answers
        database.close()  # closed with the window already, unless nobody signed in
        if built and built[0].viewing.field_copy is not None:
            built[0].viewing.field_copy.close()


def demo_streets(settings: Settings, audit) -> Settings:
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

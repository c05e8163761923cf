"""Field mode: the console on a detective's laptop when the registry database cannot be reached at start.

With a field copy on the computer (`rtic-console field sync`), the console signs in against the account sealed in the
copy and works on the copy; every audit event waits in the local journal until the database answers.
"""

from __future__ import annotations

import logging

from console.app import _open_registry, build_console, signed_in_console
from console.errors import UserError
from console.settings import Settings

log = logging.getLogger(__name__)


def open_registry_or_field(db_url: str | None, cipher):
    """As _open_registry; but when the database server does not answer and this computer has a field copy,
    (None, why) so the console starts in field mode on the copy."""
    from console.errors import DatabaseUnreachable

    try:
        return _open_registry(db_url, cipher)
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
    """
    from datetime import timedelta

    from console.domain.users import IdlePolicy
    from console.gui.session import SessionServices
    from console.gui.sign_in import sign_in
    from console.services.contacts import ContactService
    from console.services.field_copy import FieldCopy
    from console.services.field_login import FieldAuthService
    from console.services.offline import ResilientViewingService
    from console.services.registry import RegistryService
    from console.services.resilience import ResilientAudit
    from console.store.audit import AuditLog
    from console.store.db import connect_database
    from console.store.journal import AuditJournal
    from console.video.factory import PlayerFactory

    copy = FieldCopy()
    try:
        field = copy.open(cipher, read_only=True)
    except UserError as exc:
        raise UserError(f"{why}; and the field copy on this computer cannot be used: {exc}") from None
    remote = connect_database(db_url)
    audit = AuditLog(remote)
    sink = ResilientAudit(audit, AuditJournal())
    sink.report_offline(why)  # the flusher pings with backoff and writes the journal when the database answers
    sink.start()
    banner = field_mode_banner(field.made_at)
    idle = IdlePolicy(settings.idle_lock_minutes)
    auth = FieldAuthService(field, sink, cipher, idle_policy=idle,
                            max_age=timedelta(days=settings.field_copy_max_age_days))
    services = SessionServices(
        auth=auth,
        viewing=ResilientViewingService(remote, audit, sink, cipher,
                                        max_session=timedelta(minutes=settings.live_view_max_minutes),
                                        field_copy=field),
        contacts=ContactService(remote, audit, cipher), registry=RegistryService(field.database, field_copy=field),
        audit=audit, sink=sink)
    console = signed_in = players = None
    try:
        session = sign_in(None, auth, field_mode=banner)
        if session is None:
            return 0
        console = build_console(db_url, settings, database=field.database, user_name=session.user.username,
                                database_label=f"field copy {copy.path} (database {remote.display_url} away)",
                                sync_label=banner)
        console.window.parts.incident_view.data_as_of = field.made_at  # searches say they answer from the copy
        players = PlayerFactory()
        console.window.show()
        signed_in = signed_in_console(app, console, session, services, players, idle)
        signed_in.updates.show_field_mode(banner, why)
        console.window.show_notice(f"{banner}. Searches and live views are decided on this copy; audit events are "
                                   "kept on this computer until the database answers.")
        return int(app.exec())
    finally:
        if signed_in is not None:
            signed_in.close()
        if players is not None:
            players.close()
        sink.stop()
        if console is not None:
            console.close(app)
        field.close()
        remote.close()

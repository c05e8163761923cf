"""Field mode: no database at start, a field copy on this computer."""

from __future__ import annotations

from datetime import timedelta

from console.app.session import (
    ConsoleStart,
    offline_limits,
    run_signed_in,
    session_services,
)
from console.errors import UserError
from console.settings import Settings


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

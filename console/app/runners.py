"""What runs beside the window: the field copy keeper, the registry feed, audit checkpoints and the CAD intake."""

from __future__ import annotations

import logging

from console.app.window import Console
from console.errors import UserError

log = logging.getLogger(__name__)


def start_field_copy_keeper(settings, database, audit, cipher, session, sink, on_fresh, current, seal):
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


def start_feed_runner(settings, database, audit, cipher):
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


def start_audit_checkpointer(settings, audit):
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

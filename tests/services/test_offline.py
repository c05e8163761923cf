"""Live views while the database is away (the real PostgreSQL server, cut through a TCP proxy): allowed only on
last known data that allows them and only once VIEW_START is in the local journal; all flushed exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.domain.access import Purpose, Rule
from console.domain.audit import Action
from console.domain.users import Role
from console.errors import UserError
from console.services.offline import OFFLINE_SESSION, ResilientViewingService
from console.services.resilience import ResilientAudit
from console.services.viewing import ViewDenied
from console.store.audit import AuditLog
from console.store.journal import AuditJournal, JournalUnavailable
from tests.services.conftest import NOW, audit_rows

pytestmark = pytest.mark.postgres

WHY = Purpose(reason="suspect fled towards Elm St", cad_number="CAD-2026-0042")


@pytest.fixture
def database(proxied_database):
    """Overrides the services' database: a PostgreSQL registry the console reaches only through the proxy."""
    return proxied_database


def service(database, audit, cipher, journal_path) -> ResilientViewingService:
    sink = ResilientAudit(audit, AuditJournal(journal_path))
    return ResilientViewingService(database, audit, sink, cipher, workstation="rtic-ws-1")


def test_a_view_started_offline_on_a_cached_grant_is_journaled_and_bounded_by_the_grant(
        database, audit, cipher, people, registry, proxy, tmp_path):
    viewing = service(database, audit, cipher, tmp_path / "journal.db")
    detective = people[Role.DETECTIVE]
    online = viewing.start_view(detective, registry["on_alert"], WHY, NOW)  # reads camera, grant and incident
    assert online.session_id > 0
    viewing.end_view(online.session_id, "user_closed", NOW + timedelta(minutes=1))

    proxy.cut()
    offline = viewing.start_view(detective, registry["on_alert"], WHY, NOW + timedelta(minutes=2))
    assert offline.session_id < 0 and offline.decision.rule == Rule.OWNER_ALERT
    assert offline.expires_at == NOW + timedelta(minutes=8)  # the owner's alert still bounds it
    assert (offline.credentials.username, offline.credentials.password) == ("viewer", "s3cret-Pass")
    assert not viewing.sink.connectivity.online
    [pending] = viewing.sink.journal.pending()
    assert pending.entry.action == Action.VIEW_START and pending.entry.camera_id == registry["on_alert"]
    assert pending.entry.incident_id == registry["incident"]

    # The alert ends at NOW + 8 min: a view asked for after that is refused on the same cached data.
    with pytest.raises(ViewDenied) as late:
        viewing.start_view(detective, registry["on_alert"], WHY, NOW + timedelta(minutes=9))
    assert late.value.decision.rule == Rule.GRANT_EXPIRED
    viewing.end_view(offline.session_id, "expired", NOW + timedelta(minutes=8))

    proxy.restore()
    assert viewing.sink.flush().appended == 3
    actions = [(r["action"], r["details"].get(OFFLINE_SESSION) is not None) for r in audit_rows(database)
               if r["action"].startswith("view")]
    assert actions == [(Action.VIEW_START, False), (Action.VIEW_END, False), (Action.VIEW_START, True),
                       (Action.VIEW_DENIED, False), (Action.VIEW_END, True)]
    assert AuditLog(database).verify().ok
    assert viewing.sink.flush().appended == 0 and len(audit_rows(database, Action.VIEW_START)) == 2


def test_no_offline_view_when_the_journal_cannot_be_written(database, audit, cipher, people, registry, proxy,
                                                             tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the journal's folder should be")
    viewing = service(database, audit, cipher, blocker / "journal.db")
    viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    proxy.cut()
    with pytest.raises(JournalUnavailable):
        viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW + timedelta(minutes=1))
    assert not any(session_id < 0 for session_id in viewing._open)  # nothing handed over


def test_no_offline_view_when_the_cached_data_does_not_allow_it(database, audit, cipher, people, registry, proxy,
                                                                tmp_path):
    viewing = service(database, audit, cipher, tmp_path / "journal.db")
    with pytest.raises(ViewDenied):
        viewing.start_view(people[Role.DISPATCHER], registry["revoked"], WHY, NOW)  # online: denied, and read
    viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    proxy.cut()
    with pytest.raises(ViewDenied) as revoked:
        viewing.start_view(people[Role.DISPATCHER], registry["revoked"], WHY, NOW + timedelta(minutes=1))
    assert revoked.value.decision.rule == Rule.GRANT_REVOKED
    with pytest.raises(ViewDenied) as role:
        viewing.start_view(people[Role.OUTREACH], registry["always"], WHY, NOW + timedelta(minutes=1))
    assert role.value.decision.rule == Rule.ROLE_NO_LIVE_VIEW
    with pytest.raises(UserError, match="no registry data for camera"):
        viewing.start_view(people[Role.DISPATCHER], registry["on_alert"], WHY, NOW + timedelta(minutes=1))
    assert [e.entry.action for e in viewing.sink.journal.pending()] == [Action.VIEW_DENIED, Action.VIEW_DENIED]
    proxy.restore()
    viewing.sink.flush()
    assert [r["details"]["rule"] for r in audit_rows(database, Action.VIEW_DENIED)] == [
        Rule.GRANT_REVOKED, Rule.GRANT_REVOKED, Rule.ROLE_NO_LIVE_VIEW]
    assert AuditLog(database).verify().ok


def test_online_the_resilient_service_is_the_fail_closed_one(database, audit, cipher, people, registry, tmp_path):
    from tests.services.conftest import refuse_audit_writes

    viewing = service(database, audit, cipher, tmp_path / "journal.db")
    refuse_audit_writes(database)  # the store refuses: not a lost connection, so no journal and no view
    with pytest.raises(UserError):
        viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    assert viewing.sink.connectivity.online and viewing.sink.journal.pending_count() == 0


def test_a_view_opened_online_and_ended_offline_is_closed_once_the_database_is_back(
        database, audit, cipher, people, registry, proxy, tmp_path):
    from sqlalchemy import select

    from console.store.users import view_sessions

    viewing = service(database, audit, cipher, tmp_path / "journal.db")
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    proxy.cut()
    assert viewing.end_view(auth.session_id, "user_closed", NOW + timedelta(minutes=3)) == 180.0
    [pending] = viewing.sink.journal.pending()
    assert pending.entry.action == Action.VIEW_END and pending.entry.details["session_id"] == auth.session_id
    proxy.restore()
    viewing.sink.flush()  # came online with nothing pending: the session row is closed too
    with database.engine.connect() as conn:
        row = conn.execute(select(view_sessions).where(view_sessions.c.id == auth.session_id)).one()
    assert (row.ended_at, row.end_reason) == (NOW + timedelta(minutes=3), "user_closed")
    [end] = audit_rows(database, Action.VIEW_END)
    assert end["details"]["duration_s"] == 180.0
    assert AuditLog(database).verify().ok


def test_a_view_that_never_played_while_offline_says_so_once_flushed(database, audit, cipher, people, registry, proxy,
                                                                     tmp_path):
    viewing = service(database, audit, cipher, tmp_path / "journal.db")
    detective = people[Role.DETECTIVE]
    viewing.start_view(detective, registry["on_alert"], WHY, NOW)  # the data an offline decision may use
    proxy.cut()
    offline = viewing.start_view(detective, registry["on_alert"], WHY, NOW + timedelta(minutes=2))
    viewing.end_view(offline.session_id, "no_picture", NOW + timedelta(minutes=2, seconds=4), frames_shown=0,
                     problem="The camera cannot be reached; check that it is online.")
    proxy.restore()
    viewing.sink.flush()
    [end] = [r for r in audit_rows(database, Action.VIEW_END) if r["details"].get(OFFLINE_SESSION) is not None]
    assert end["details"]["frames_shown"] == 0 and end["details"]["end_reason"] == "no_picture"
    assert end["details"]["problem"] == "The camera cannot be reached; check that it is online."

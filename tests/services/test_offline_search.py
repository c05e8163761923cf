"""The nearby search while the database is away (the real PostgreSQL server, cut through a TCP proxy): the field copy
answers, with the same cameras and sharing states and `data_as_of` set to when the copy was made; with no copy the
search fails with a clear sentence; once the database is back it answers again."""

from __future__ import annotations

import pytest

from console.domain.audit import Action
from console.domain.sharing import SharingState
from console.domain.users import Role
from console.errors import UserError
from console.services.field_copy import FieldCopy
from console.services.field_copy_file import KdfParams
from console.services.incident_view import DATA_AS_OF, IncidentView
from console.services.registry import RegistryService
from console.services.resilience import ResilientAudit
from console.store.audit import AuditLog
from console.store.journal import AuditJournal
from tests.services.conftest import NOW, PASSWORD, audit_rows

pytestmark = pytest.mark.postgres

WHERE = (39.95, -75.16, 300.0)


@pytest.fixture
def database(proxied_database):
    """Overrides the services' database: a PostgreSQL registry the console reaches only through the proxy."""
    return proxied_database


def states(answer) -> list[tuple[int, SharingState]]:
    return [(c.camera.id, c.state) for c in answer.cameras]


def test_the_field_copy_answers_while_the_database_is_away(database, audit, cipher, people, registry, proxy,
                                                            tmp_path):
    copy = FieldCopy(tmp_path / "field.rtic", KdfParams(time_cost=1, memory_cost=8, parallelism=1))
    copy.refresh(database, people[Role.DETECTIVE], NOW, "field-laptop-7", audit, seal=copy.seal_for(PASSWORD))
    sink = ResilientAudit(audit, AuditJournal(tmp_path / "journal.db"))
    with copy.open(PASSWORD, cipher) as field:
        view = IncidentView(RegistryService(database, field_copy=field), cipher)
        view.record_searches(sink, "detective", "field-laptop-7")
        online = view.nearby(*WHERE, now=NOW)
        assert online.data_as_of is None and online.cameras
        assert SharingState.LIVE_NOW in {c.state for c in online.cameras}

        proxy.cut()
        offline = view.nearby(*WHERE, now=NOW)
        assert offline.data_as_of == field.made_at == NOW
        assert states(offline) == states(online)  # the copy's grants decide the sharing states as usual
        assert [c.owner_masked for c in offline.cameras] == [c.owner_masked for c in online.cameras]
        assert [c.camera.id for c in view.context(*WHERE, now=NOW)] == []  # the map's context comes from it too
        for shown in online.cameras:  # and a camera's detail panel
            offline_detail = view.detail(shown.camera.id, now=NOW)
            assert (offline_detail.camera.label, offline_detail.state, offline_detail.owner_masked) == \
                (shown.camera.label, shown.state, shown.owner_masked)
        [journaled] = sink.journal.pending()
        assert journaled.entry.action == Action.SEARCH_NEAR
        assert journaled.entry.details[DATA_AS_OF] == NOW.isoformat()

        proxy.restore()
        again = view.nearby(*WHERE, now=NOW)
        assert again.data_as_of is None and states(again) == states(online)
    assert sink.flush() is not None
    searches = audit_rows(database, Action.SEARCH_NEAR)
    assert [DATA_AS_OF in r["details"] for r in searches] == [False, True, False]
    assert AuditLog(database).verify().ok


def test_without_a_field_copy_the_search_fails_clearly(database, cipher, registry, proxy):
    view = IncidentView(RegistryService(database), cipher)
    assert view.nearby(*WHERE, now=NOW).data_as_of is None
    proxy.cut()
    with pytest.raises(UserError, match="cannot be reached.*no field copy"):
        view.nearby(*WHERE, now=NOW)
    proxy.restore()
    assert view.nearby(*WHERE, now=NOW).cameras

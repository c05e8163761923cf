"""Offline decisions stop when the data they rest on is too old (issue 14): a live view decided on what this console
last read refuses after `offline_data_max_age_hours`, and a search or a view answered by the field copy after
`field_copy_max_age_days`, each with a sentence saying why and how old the data is. The clock is moved, never slept:
every call takes `now`. The real PostgreSQL server, cut through a TCP proxy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.domain.access import Purpose
from console.domain.users import Role
from console.errors import UserError
from console.services.field_copy import FieldCopy
from console.services.field_copy_file import KdfParams
from console.services.incident_view import IncidentView
from console.services.offline import ResilientViewingService
from console.services.offline_age import age_text, too_old
from console.services.registry import RegistryService
from console.services.resilience import ResilientAudit
from console.store.journal import AuditJournal
from tests.services.conftest import NOW, PASSWORD

WHY = Purpose(reason="suspect fled towards Elm St", cad_number="CAD-2026-0042")
WHERE = (39.95, -75.16, 300.0)


@pytest.fixture
def database(proxied_database):
    return proxied_database


def test_the_sentence_says_how_old_and_which_limit():
    assert too_old(NOW, NOW + timedelta(hours=12), timedelta(hours=12), field_copy=False) is None
    why = too_old(NOW, NOW + timedelta(hours=13, minutes=5), timedelta(hours=12), field_copy=False)
    assert "13 hours 5 minutes old" in why and "12-hour limit" in why and "offline_data_max_age_hours" in why
    why = too_old(NOW, NOW + timedelta(days=8), timedelta(days=7), field_copy=True)
    assert "made 8 days ago" in why and "7-day limit" in why and "field_copy_max_age_days" in why
    assert age_text(timedelta(seconds=30)) == "less than a minute"


@pytest.mark.postgres
def test_a_view_on_last_read_data_is_refused_past_the_limit(database, audit, cipher, people, registry, proxy,
                                                            tmp_path):
    sink = ResilientAudit(audit, AuditJournal(tmp_path / "journal.db"))
    viewing = ResilientViewingService(database, audit, sink, cipher, workstation="rtic-ws-1",
                                      max_data_age=timedelta(hours=12))
    detective = people[Role.DETECTIVE]
    online = viewing.start_view(detective, registry["always"], WHY, NOW)  # the camera's data read at NOW
    viewing.end_view(online.session_id, "user_closed", NOW + timedelta(minutes=1))
    proxy.cut()
    within = viewing.start_view(detective, registry["always"], WHY, NOW + timedelta(hours=11, minutes=59))
    viewing.end_view(within.session_id, "user_closed", NOW + timedelta(hours=12))
    journaled = sink.journal.pending_count()
    with pytest.raises(UserError) as refused:
        viewing.start_view(detective, registry["always"], WHY, NOW + timedelta(hours=13, minutes=5))
    message = str(refused.value)
    assert message.startswith("live view stays closed: the database is offline")
    assert "13 hours 5 minutes old" in message and "12-hour limit" in message and "\n" not in message
    assert sink.journal.pending_count() == journaled  # nothing was handed over, so no view_start


@pytest.mark.postgres
def test_the_field_copy_decides_views_and_searches_only_within_its_own_limit(database, audit, cipher, people,
                                                                             registry, proxy, tmp_path):
    detective = people[Role.DETECTIVE]
    copy = FieldCopy(tmp_path / "field.rtic", KdfParams(time_cost=1, memory_cost=8, parallelism=1))
    copy.refresh(database, detective, NOW, "field-laptop-7", audit, seal=copy.seal_for(PASSWORD))
    sink = ResilientAudit(audit, AuditJournal(tmp_path / "journal.db"))
    with copy.open(PASSWORD, cipher) as field:
        viewing = ResilientViewingService(database, audit, sink, cipher, workstation="field-laptop-7",
                                          field_copy=field, field_copy_max_age=timedelta(days=7),
                                          max_data_age=timedelta(hours=12))
        view = IncidentView(RegistryService(database, field_copy=field), cipher)
        view.field_copy_max_age = timedelta(days=7)
        proxy.cut()
        # Older than the 12 hours for last-read data, but the copy has its own limit: still decided on it.
        late_day = NOW + timedelta(days=6, hours=23)
        assert view.nearby(*WHERE, now=late_day).data_as_of == NOW
        started = viewing.start_view(detective, registry["always"], WHY, late_day)
        viewing.end_view(started.session_id, "user_closed", late_day + timedelta(minutes=1))

        past = NOW + timedelta(days=8, hours=2)
        with pytest.raises(UserError) as search:
            view.nearby(*WHERE, now=past)
        assert str(search.value).startswith("the search is not answered: the database cannot be reached and the "
                                            "field copy was made 8 days 2 hours ago")
        assert "7-day limit" in str(search.value)
        with pytest.raises(UserError, match="live view stays closed: .*field copy was made 8 days 2 hours ago"):
            viewing.start_view(detective, registry["always"], WHY, past)
        with pytest.raises(UserError, match="8 days 2 hours"):
            view.detail(registry["always"], now=past)

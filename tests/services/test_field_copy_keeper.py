"""Keeping a field laptop's copy in step (FieldCopyKeeper): made after sign-in and handed to the services that read
it, not made while the database is away but as soon as it is back, and a failure leaves the copy in use."""

from __future__ import annotations

import queue

import pytest

from console.domain.audit import Action
from console.domain.users import Role
from console.services.field_copy import FieldCopy, FieldCopyKeeper
from console.services.field_copy_file import FieldSeal, KdfParams
from console.services.offline import ResilientViewingService
from console.services.registry import RegistryService
from console.services.resilience import Connectivity, ResilientAudit
from console.store.journal import AuditJournal
from tests.services.conftest import NOW, PASSWORD, audit_rows

WAIT_S = 30.0  # how long a broken test takes to fail, never a measured time


@pytest.fixture
def fresh_copies():
    return queue.Queue()


def keeper(database, audit, cipher, people, tmp_path, connectivity, on_fresh, **options) -> FieldCopyKeeper:
    # The seal as the window's sign-in derives it from the password: the keeper never sees the password.
    seal = FieldSeal.from_password(PASSWORD, KdfParams(time_cost=1, memory_cost=8, parallelism=1))
    return FieldCopyKeeper(FieldCopy(tmp_path / "field.rtic"), database, people[Role.DETECTIVE], "field-laptop-7",
                           connectivity, on_fresh, audit=audit, cipher=cipher, clock=lambda: NOW, seal=seal, **options)


def test_after_sign_in_a_fresh_copy_reaches_the_viewing_and_search_services(database, audit, cipher, people,
                                                                           registry, tmp_path, fresh_copies):
    sink = ResilientAudit(audit, AuditJournal(tmp_path / "journal.db"))
    viewing = ResilientViewingService(database, audit, sink, cipher, workstation="field-laptop-7")
    search = RegistryService(database)

    def hand_over(field):
        viewing.field_copy = search.field_copy = field
        fresh_copies.put(field)

    keeping = keeper(database, audit, cipher, people, tmp_path, sink.connectivity, hand_over, interval_s=3600)
    keeping.start()
    try:
        field = fresh_copies.get(timeout=WAIT_S)
    finally:
        keeping.stop()
    assert not keeping.running
    assert viewing.field_copy is field and search.field_copy is field and keeping.current is field
    assert field.known_camera(registry["always"], NOW) is not None
    assert search.from_field_copy()[1] == NOW
    [event] = audit_rows(database, Action.FIELD_COPY)
    assert event["username"] == "detective" and event["details"]["made_at"] == NOW.isoformat()
    field.close()


def test_no_copy_is_made_offline_and_one_is_made_when_the_database_is_back(database, audit, cipher, people,
                                                                           registry, tmp_path, fresh_copies):
    connectivity = Connectivity()
    connectivity.went_offline("the database does not answer")
    keeping = keeper(database, audit, cipher, people, tmp_path, connectivity, fresh_copies.put, interval_s=3600)
    assert keeping.refresh_now() is None and not keeping.copy.path.exists()
    keeping.start()
    try:
        connectivity.came_online()  # the refresh missed after sign-in is made now, not an hour later
        field = fresh_copies.get(timeout=WAIT_S)
    finally:
        keeping.stop()
    assert keeping.copy.path.exists() and field.made_at == NOW
    assert len(audit_rows(database, Action.FIELD_COPY)) == 1
    field.close()


def test_a_failed_refresh_keeps_the_copy_in_use(database, audit, cipher, people, registry, tmp_path, fresh_copies,
                                                caplog):
    connectivity = Connectivity()
    keeping = keeper(database, audit, cipher, people, tmp_path, connectivity, fresh_copies.put)
    first = keeping.refresh_now()
    assert first is not None and keeping.current is first
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the copy's folder should be")
    keeping.copy = FieldCopy(blocker / "field.rtic")
    assert keeping.refresh_now() is None
    assert keeping.current is first and fresh_copies.qsize() == 1
    assert "field copy not refreshed" in caplog.text
    assert first.nearby(39.95, -75.16, 300)  # still open, still answering
    keeping.stop()
    first.close()

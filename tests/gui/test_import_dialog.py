"""The import's progress window: the import runs off the GUI thread, and Cancel leaves the registry as it was."""

from __future__ import annotations

import csv
from functools import partial

import pytest
from sqlalchemy import text

from console.domain.portal_records import FIELDS
from console.gui.import_dialog import ImportProgressDialog
from console.gui.workers import Tasks
from console.services.registry_import import import_file
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key


@pytest.fixture
def setup(sqlite_url, tmp_path, qtbot):
    database = open_database(sqlite_url, create=True)
    path = tmp_path / "portal.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        for n in range(5):
            writer.writerow({"portal_id": f"P{n}", "owner_name": "Ann Lee", "address": "1 Elm St",
                             "lat": f"42.14{n}", "lon": "-72.60"})
    tasks = Tasks()
    run = partial(import_file, database, ContactCipher(load_contact_key()), path, username="ann",
                  workstation="rtic-ws-1")
    yield database, tasks, lambda progress: run(progress=progress)
    tasks.close()
    database.close()


def cameras(database) -> int:
    with database.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM cameras")).scalar_one()


def test_the_import_runs_on_a_worker_and_reports_its_summary(setup, qtbot):
    database, tasks, run = setup
    dialog = ImportProgressDialog(tasks, run, "portal.csv")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.sig_finished, timeout=30_000) as finished:
        dialog.start()
    assert finished.args[0]["added"] == 5 and cameras(database) == 5
    assert not dialog.isVisible()


def test_cancel_before_commit_imports_nothing(setup, qtbot):
    database, tasks, run = setup
    dialog = ImportProgressDialog(tasks, run, "portal.csv")
    qtbot.addWidget(dialog)
    dialog.canceled.emit()  # what a click on Cancel sends; the worker stops at its next progress report
    with qtbot.waitSignal(dialog.sig_failed, timeout=30_000) as failed:
        dialog.start()
    assert "cancelled" in failed.args[0] and cameras(database) == 0

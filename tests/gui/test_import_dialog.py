"""Importing a portal export from the console: a dry run and its report first, then the import, each off the GUI
thread; Cancel at any step leaves the registry as it was, and a partial import stores only the good rows."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from console.domain.portal_records import FIELDS
from console.gui.import_dialog import ImportProgressDialog, PortalImport
from console.gui.workers import Tasks
from console.services.registry_import import import_file
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key

BAD = {2: ("lat", "north"), 5: ("lon", "-272.60")}  # data rows 2 and 5 (spreadsheet rows 4 and 7)


def write_portal_csv(path: Path, rows: int = 5, bad: dict | None = None, encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        for n in range(rows):
            row = {"portal_id": f"P{n}", "owner_name": "Ann Lee", "address": "1 Elm St", "lat": f"42.14{n}",
                   "lon": "-72.60"}
            if bad and n in bad:
                column, value = bad[n]
                row[column] = value
            writer.writerow(row)
    return path


@pytest.fixture
def registry(sqlite_url, qtbot):
    database = open_database(sqlite_url, create=True)
    tasks = Tasks()
    cipher = ContactCipher(load_contact_key())

    def runner(path: Path):
        def run(progress, **options):
            return import_file(database, cipher, path, username="ann", workstation="rtic-ws-1", progress=progress,
                               **options)
        return run

    yield database, tasks, runner
    tasks.close()
    database.close()


@pytest.fixture
def setup(registry, tmp_path):
    database, tasks, runner = registry
    run = runner(write_portal_csv(tmp_path / "portal.csv"))
    yield database, tasks, lambda progress: run(progress)


def cameras(database) -> list[str]:
    with database.engine.connect() as conn:
        return conn.execute(text("SELECT portal_id FROM cameras ORDER BY portal_id")).scalars().all()


def audit_events(database) -> int:
    with database.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()


def checked(flow: PortalImport, qtbot):
    """Start the flow and wait for the dry run's summary dialog."""
    flow.start()
    qtbot.waitUntil(lambda: flow.summary_dialog is not None and flow.summary_dialog.isVisible(), timeout=30_000)
    return flow.summary_dialog


def test_the_import_runs_on_a_worker_and_reports_its_summary(setup, qtbot):
    database, tasks, run = setup
    dialog = ImportProgressDialog(tasks, run, "portal.csv")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.sig_finished, timeout=30_000) as finished:
        dialog.start()
    assert finished.args[0]["added"] == 5 and len(cameras(database)) == 5
    assert not dialog.isVisible()


def test_cancel_before_commit_imports_nothing(setup, qtbot):
    database, tasks, run = setup
    dialog = ImportProgressDialog(tasks, run, "portal.csv")
    qtbot.addWidget(dialog)
    dialog.canceled.emit()  # what a click on Cancel sends; the worker stops at its next progress report
    with qtbot.waitSignal(dialog.sig_failed, timeout=30_000) as failed:
        dialog.start()
    assert "cancelled" in failed.args[0] and cameras(database) == []


def test_a_good_file_is_checked_then_imported_all(registry, tmp_path, qtbot):
    database, tasks, runner = registry
    path = write_portal_csv(tmp_path / "portal.csv")
    flow = PortalImport(tasks, runner(path), path)
    summary = checked(flow, qtbot)
    qtbot.addWidget(summary)
    assert summary.summary_label.text() == (
        "portal.csv: 5 rows, all good.\n"
        "5 cameras would be added, 0 updated and 0 left unchanged; 1 new owner and 1 new site.")
    assert cameras(database) == [], "the dry run wrote nothing"
    assert summary.import_all_button.isVisible() and not summary.import_good_button.isVisible()
    assert summary.problems_table.isHidden()
    with qtbot.waitSignal(flow.sig_finished, timeout=30_000) as finished:
        summary.import_all_button.click()
    assert finished.args[0] == "Imported portal.csv: 5 added, 0 updated, 0 unchanged"
    assert cameras(database) == [f"P{n}" for n in range(5)]

    again = PortalImport(tasks, runner(path), path)
    summary = checked(again, qtbot)
    qtbot.addWidget(summary)
    assert "0 cameras would be added, 0 updated and 5 left unchanged; 0 new owners and 0 new sites." in (
        summary.summary_label.text())
    summary.cancel_button.click()


def test_bad_rows_are_listed_and_cancel_writes_nothing(registry, tmp_path, qtbot):
    database, tasks, runner = registry
    path = write_portal_csv(tmp_path / "portal.csv", rows=7, bad=BAD)
    audited = audit_events(database)
    flow = PortalImport(tasks, runner(path), path)
    summary = checked(flow, qtbot)
    qtbot.addWidget(summary)
    assert summary.summary_label.text().startswith("portal.csv: 7 rows, 2 of them bad.\nOf the good rows: "
                                                   "5 cameras would be added")
    table = summary.problems_table
    assert table.isVisibleTo(summary) and table.rowCount() == 2
    listed = [(table.item(n, 0).text(), table.item(n, 1).text(), table.item(n, 2).text()) for n in range(2)]
    assert [(row, column) for row, column, _ in listed] == [("4", "lat"), ("7", "lon")]
    assert all(why for _, _, why in listed)
    assert not summary.import_all_button.isVisible()
    assert summary.import_good_button.isVisible() and summary.import_good_button.text() == "Import the 5 good rows"
    assert str(tmp_path / "portal.csv.rejected.csv") in summary.rejects_label.text()
    with qtbot.waitSignal(flow.sig_cancelled, timeout=5_000) as cancelled:
        summary.cancel_button.click()
    assert cancelled.args[0] == "Import of portal.csv cancelled: nothing was imported"
    assert cameras(database) == [] and not (tmp_path / "portal.csv.rejected.csv").exists()
    assert audit_events(database) == audited


def test_importing_the_good_rows_stores_only_them_and_writes_the_bad_ones(registry, tmp_path, qtbot):
    database, tasks, runner = registry
    path = write_portal_csv(tmp_path / "portal.csv", rows=7, bad=BAD)
    flow = PortalImport(tasks, runner(path), path)
    summary = checked(flow, qtbot)
    qtbot.addWidget(summary)
    picked = tmp_path / "bad rows.csv"
    summary.rejects_path = picked  # what "Choose another file…" sets
    with qtbot.waitSignal(flow.sig_finished, timeout=30_000) as finished:
        summary.import_good_button.click()
    assert finished.args[0] == f"Imported portal.csv: 5 added, 0 updated, 0 unchanged; 2 bad rows written to {picked}"
    assert cameras(database) == ["P0", "P1", "P3", "P4", "P6"]
    with picked.open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["row"], r["portal_id"]) for r in rejected] == [("4", "P2"), ("7", "P5")]
    assert "lat" in rejected[0]["reason"] and "lon" in rejected[1]["reason"]


def test_a_file_in_a_wrong_encoding_is_refused_with_the_whole_reason(registry, tmp_path, qtbot):
    database, tasks, runner = registry
    path = tmp_path / "portal.csv"
    write_portal_csv(path)
    path.write_bytes(path.read_bytes().replace(b"Ann Lee", "Zoë Lee".encode("cp1252")))
    flow = PortalImport(tasks, runner(path), path)
    with qtbot.waitSignal(flow.sig_failed, timeout=30_000) as failed:
        flow.start()
    assert failed.args[0] == ("portal.csv is not UTF-8 text (byte 0xEB on line 2; it looks like Latin-1 / "
                              "Windows-1252 text): save it as UTF-8 and import it again")
    qtbot.addWidget(flow.error_box)
    assert flow.error_box.isVisible() and flow.error_box.informativeText() == failed.args[0]
    assert flow.error_box.text() == "portal.csv was not imported."
    assert flow.summary_dialog is None and cameras(database) == []


def test_cancel_during_the_dry_run_is_a_cancel_not_a_failure(registry, tmp_path, qtbot):
    database, tasks, runner = registry
    path = write_portal_csv(tmp_path / "portal.csv")
    gate, run = threading.Event(), runner(path)

    def held(progress, **options):  # the dry run starts only once Cancel was clicked
        gate.wait(10)
        return run(progress, **options)

    flow = PortalImport(tasks, held, path)
    with qtbot.waitSignal(flow.sig_cancelled, timeout=30_000) as cancelled:
        flow.start()
        flow.progress.canceled.emit()
        gate.set()
    assert cancelled.args[0] == "Import of portal.csv cancelled: nothing was imported"
    assert flow.summary_dialog is None and flow.error_box is None and cameras(database) == []


def test_owner_conflicts_are_listed_with_both_names_masked_and_not_imported(registry, tmp_path, qtbot):
    database, tasks, runner = registry
    first = tmp_path / "first.csv"
    with first.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerow({"portal_id": "P1", "owner_name": "Ann Lee", "phone": "413-555-0199", "address": "1 Elm St",
                         "lat": "42.141", "lon": "-72.60"})
        writer.writerow({"portal_id": "P2", "owner_name": "<b>Bob</b> Stone", "phone": "413-555-0199",
                         "address": "3 Elm St", "lat": "42.142", "lon": "-72.60"})
    registered = tmp_path / "registered.csv"
    registered.write_text("\n".join(first.read_text(encoding="utf-8").splitlines()[:2]) + "\n", encoding="utf-8")
    import_file(database, ContactCipher(load_contact_key()), registered, username="ann", workstation="rtic-ws-1")
    assert cameras(database) == ["P1"]  # Ann Lee is registered with that phone; the file's P2 names someone else
    flow = PortalImport(tasks, runner(first), first)
    summary = checked(flow, qtbot)
    qtbot.addWidget(summary)
    assert "1 row would not be imported" in summary.summary_label.text()
    table = summary.conflicts_table
    assert not table.isHidden() and table.rowCount() == 1
    cells = [table.item(0, c).text() for c in range(table.columnCount())]
    assert cells[0] == "3" and cells[1] == "P2"  # the spreadsheet row (the header is row 1)
    assert cells[2] == "phone"
    assert cells[3].endswith("A** L**") and cells[4] == "<********* S****"  # masked, shown as the literal text
    assert "Ann" not in " ".join(cells) and "Bob" not in " ".join(cells)
    with qtbot.waitSignal(flow.sig_finished, timeout=30_000) as finished:
        summary.import_all_button.click()
    assert "1 row not imported (owner conflicts)" in finished.args[0]
    assert cameras(database) == ["P1"]

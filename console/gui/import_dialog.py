"""A portal import as an outreach clerk runs it: a dry run first, a summary with every bad row, then the import.

Both the dry run and the import run on a worker thread behind a progress window whose Cancel abandons them before
anything is written. `PortalImport` leads the steps; `ImportSummaryDialog` is the choice between them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.gui.workers import Tasks
from console.services.registry_import import ImportCancelled
from console.gui.text import keep_plain

_STEPS = 1000  # the bar's resolution; the import reports rows
SHOWN_PROBLEMS = 1000  # rows of the bad-row table; the rejects file holds them all
CONFLICT_COLUMNS = ("Row", "Portal id", "Same", "Registered owner", "Owner in the file")

RunImport = Callable[..., dict]
"""run(progress, *, dry_run, partial, rejects) -> summary: import_file with the file and the person bound."""


class _Progress(QObject):
    sig_progress = Signal(int, int)
    """(rows done, rows in all), emitted on the worker thread, delivered on the GUI thread."""


class ImportProgressDialog(QProgressDialog):
    """Shows one import's progress. `run_import(progress)` is the import to run (import_file with its arguments
    bound); `sig_finished` carries its summary, `sig_failed` a message a person can act on."""

    sig_finished = Signal(dict)
    """The import committed (or the dry run finished): its summary."""
    sig_failed = Signal(str)
    """The import failed, was refused or was cancelled: nothing was written."""

    def __init__(self, tasks: Tasks, run_import: Callable[[Callable[[int, int], None]], dict], file_name: str,
                 parent: QWidget | None = None, *, label: str | None = None):
        super().__init__(label or f"Importing {file_name}…", "Cancel", 0, _STEPS, parent)
        self.setWindowTitle("Import a portal export")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self._cancelled = threading.Event()
        self._progress = _Progress(self)
        self._progress.sig_progress.connect(self._show)
        self.canceled.connect(self._cancel)
        self._tasks, self._run_import = tasks, run_import

    def start(self) -> None:
        self.show()
        self._tasks.run("registry-import", self._work, self._done, self._failed)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _work(self) -> dict:
        def progress(done: int, total: int) -> None:
            if self._cancelled.is_set():
                raise ImportCancelled("the import was cancelled; nothing was imported")
            self._progress.sig_progress.emit(done, total)

        return self._run_import(progress)

    def _show(self, done: int, total: int) -> None:
        if not self._cancelled.is_set():
            self.setValue(int(_STEPS * done / total) if total else _STEPS)

    def _cancel(self) -> None:
        self._cancelled.set()
        self.setLabelText("Cancelling… nothing will be imported")

    def _done(self, summary: dict) -> None:
        self.setValue(_STEPS)
        self._close()
        self.sig_finished.emit(summary)

    def _failed(self, message: str) -> None:
        self._close()
        self.sig_failed.emit(message)

    def _close(self) -> None:
        self.canceled.disconnect(self._cancel)  # closing a QProgressDialog emits canceled: not the person's cancel
        self.close()


def _rows(count: int, one: str = "row") -> str:
    return f"{count:,} {one}" if count == 1 else f"{count:,} {one}s"


def default_rejects_path(path: Path) -> Path:
    """Where the bad rows go unless the person picks another file (as `rtic-console import --partial`)."""
    return path.with_name(path.name + ".rejected.csv")


def dry_run_text(summary: dict) -> str:
    """What the import would do, in a clerk's words."""
    rows, bad, good = summary["rows"], summary["rejected"], summary["valid"]
    head = f"{summary['file']}: {_rows(rows)}"
    head += f", {bad:,} of them bad." if bad else ", all good."
    owners = f"{summary['owners_added']:,} new owner{'s' if summary['owners_added'] != 1 else ''}"
    if summary.get("owners_updated"):
        owners += f" ({summary['owners_updated']:,} updated)"
    sites = f"{summary['sites_added']:,} new site{'s' if summary['sites_added'] != 1 else ''}"
    cameras = (f"{summary['added']:,} cameras would be added, {summary['updated']:,} updated and "
               f"{summary['unchanged']:,} left unchanged; {owners} and {sites}.")
    conflicts = summary.get("conflicts", 0)
    if conflicts:
        cameras += (f" {_rows(conflicts)} would not be imported: {'its' if conflicts == 1 else 'their'} phone or "
                    "e-mail is a registered owner's under another name (listed below); that owner stays as it is.")
    if not good:
        return f"{head}\nNo row can be imported."
    return f"{head}\n{'Of the good rows: ' if bad else ''}{cameras}"


def import_summary_line(summary: dict) -> str:
    """The status bar's line after an import."""
    line = (f"Imported {summary['file']}: {summary['added']:,} added, {summary['updated']:,} updated, "
            f"{summary['unchanged']:,} unchanged")
    if summary.get("rejects_file"):
        line += f"; {_rows(summary['rejected'], 'bad row')} written to {summary['rejects_file']}"
    if summary.get("conflicts"):
        line += f"; {_rows(summary['conflicts'])} not imported (owner conflicts)"
    return line


class ImportSummaryDialog(QDialog):
    """The dry run's outcome and the choice: import all, import the good rows (bad ones to a file), or cancel."""

    sig_import = Signal(bool, object)
    """(partial, rejects file or None): the person chose to import."""

    def __init__(self, summary: dict, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.setWindowTitle(f"Import {path.name}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._path, self._summary = path, summary
        self.rejects_path = default_rejects_path(path)
        problems, bad, good = summary.get("problems", []), summary["rejected"], summary["valid"]

        layout = QVBoxLayout(self)
        self.summary_label = QLabel(dry_run_text(summary))
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary_label)
        self.conflicts_table = self._conflicts(summary.get("owner_conflicts", []), layout)

        self.problems_table = QTableWidget(0, 3)
        self.rejects_label = QLabel()
        self.rejects_label.setWordWrap(True)
        self.rejects_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if problems:
            shown = problems[:SHOWN_PROBLEMS]
            note = "The bad rows (row numbers as a spreadsheet shows them, the header is row 1):"
            if len(problems) > len(shown):
                note = f"The first {len(shown):,} of {len(problems):,} problems (all are written to the rejects file):"
            layout.addWidget(QLabel(note))
            self._fill(shown)
            layout.addWidget(self.problems_table, 1)
            choose = QPushButton("Choose another file…")
            choose.clicked.connect(self._choose_rejects)
            where = QHBoxLayout()
            where.addWidget(self.rejects_label, 1)
            where.addWidget(choose)
            layout.addLayout(where)
            self.choose_button = choose
            self._show_rejects()
        else:
            self.problems_table.hide()

        self.buttons = QDialogButtonBox()
        self.import_all_button = self.buttons.addButton("Import all", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_good_button = self.buttons.addButton(f"Import the {good:,} good rows",
                                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.import_all_button.setVisible(not bad)
        self.import_good_button.setVisible(bool(bad and good))
        if not good:
            self.import_all_button.setVisible(False)
        self.import_all_button.clicked.connect(lambda: self._choose(partial=False))
        self.import_good_button.clicked.connect(lambda: self._choose(partial=True))
        self.cancel_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(760, 460 if problems or not self.conflicts_table.isHidden() else 160)

    def _conflicts(self, conflicts: list[dict], layout: QVBoxLayout) -> QTableWidget:
        """The rows whose owner matched a registered owner under another name: both names, masked by the service
        as every list masks contacts (console/domain/owners.py: mask_text); cells are plain text."""
        table = QTableWidget(0, len(CONFLICT_COLUMNS))
        if not conflicts:
            table.hide()
            return table
        note = QLabel("Not imported: the phone or e-mail of these rows is a registered owner's, under another "
                      "name. Correct the rows, or register the owner by phone intake:")
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        layout.addWidget(note)
        table.setHorizontalHeaderLabels(list(CONFLICT_COLUMNS))
        shown = conflicts[:SHOWN_PROBLEMS]
        table.setRowCount(len(shown))
        for n, conflict in enumerate(shown):
            row = QTableWidgetItem()
            row.setData(Qt.ItemDataRole.DisplayRole, int(conflict["row"]))
            table.setItem(n, 0, row)
            for column, key in enumerate(("portal_id", "matched_on", "registry_name", "file_name"), 1):
                shown_text = str(conflict[key])
                if key == "registry_name":
                    shown_text = f"#{int(conflict['owner_id'])} {shown_text}"
                table.setItem(n, column, QTableWidgetItem(shown_text))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(len(CONFLICT_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        table.resizeColumnsToContents()
        layout.addWidget(table, 1)
        return table

    def _fill(self, problems) -> None:
        table = self.problems_table
        table.setHorizontalHeaderLabels(["Row", "Column", "Why"])
        table.setRowCount(len(problems))
        for n, problem in enumerate(problems):
            row = QTableWidgetItem()
            row.setData(Qt.ItemDataRole.DisplayRole, problem.row)
            table.setItem(n, 0, row)
            table.setItem(n, 1, QTableWidgetItem(problem.column))
            table.setItem(n, 2, QTableWidgetItem(problem.message))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        table.resizeColumnsToContents()

    def _show_rejects(self) -> None:
        self.rejects_label.setText(f"Importing the good rows writes the bad ones, with why, to {self.rejects_path}")

    def _choose_rejects(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Write the bad rows to", str(self.rejects_path),
                                                "CSV files (*.csv)")
        if chosen:
            self.rejects_path = Path(chosen)
            self._show_rejects()

    def _choose(self, *, partial: bool) -> None:
        self.accept()
        self.sig_import.emit(partial, self.rejects_path if partial else None)


class PortalImport(QObject):
    """Leads one file's import: dry run (worker) → summary and choice → import (worker) → one-line summary."""

    sig_finished = Signal(str)
    """The import committed: the status bar's line."""
    sig_failed = Signal(str)
    """The file was refused or the import failed (the full message, also shown in a message box): nothing written."""
    sig_cancelled = Signal(str)
    """The person cancelled at some step: nothing was written."""

    def __init__(self, tasks: Tasks, run: RunImport, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self._tasks, self._run, self.path, self._parent = tasks, run, Path(path), parent
        self.progress: ImportProgressDialog | None = None
        self.summary_dialog: ImportSummaryDialog | None = None
        self.error_box: QMessageBox | None = None

    def start(self) -> None:
        self.progress = ImportProgressDialog(
            self._tasks, lambda progress: self._run(progress, dry_run=True, partial=False, rejects=None),
            self.path.name, self._parent, label=f"Checking {self.path.name}…")
        self.progress.sig_finished.connect(self._checked)
        self.progress.sig_failed.connect(self._failed)
        self.progress.start()

    def _checked(self, summary: dict) -> None:
        self.summary_dialog = ImportSummaryDialog(summary, self.path, self._parent)
        self.summary_dialog.sig_import.connect(self._import)
        self.summary_dialog.rejected.connect(self._cancelled)
        self.summary_dialog.open()

    def _import(self, partial: bool, rejects: Path | None) -> None:
        self.progress = ImportProgressDialog(
            self._tasks, lambda progress: self._run(progress, dry_run=False, partial=partial, rejects=rejects),
            self.path.name, self._parent)
        self.progress.sig_finished.connect(lambda summary: self.sig_finished.emit(import_summary_line(summary)))
        self.progress.sig_failed.connect(self._failed)
        self.progress.start()

    def _cancelled(self) -> None:
        self.sig_cancelled.emit(f"Import of {self.path.name} cancelled: nothing was imported")

    def _failed(self, message: str) -> None:
        if self.progress is not None and self.progress.cancelled:
            self._cancelled()
            return
        self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Import a portal export",
                                     f"{self.path.name} was not imported.", QMessageBox.StandardButton.Ok,
                                     self._parent)
        self.error_box.setInformativeText(message)
        self.error_box.setWindowModality(Qt.WindowModality.WindowModal)
        self.error_box.open()
        self.sig_failed.emit(message)

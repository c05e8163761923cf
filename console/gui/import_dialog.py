"""The progress window of a portal import: the import runs on a worker thread; Cancel abandons it before commit."""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from console.gui.workers import Tasks
from console.services.registry_import import ImportCancelled

_STEPS = 1000  # the bar's resolution; the import reports rows


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
                 parent: QWidget | None = None):
        super().__init__(f"Importing {file_name}…", "Cancel", 0, _STEPS, parent)
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
        self.close()
        self.sig_finished.emit(summary)

    def _failed(self, message: str) -> None:
        self.close()
        self.sig_failed.emit(message)

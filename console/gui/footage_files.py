"""The files of a footage request: attaching what the owner sent (copied and hashed by the service on a worker
thread) and writing the evidence package; the file pickers that ask where.

Mixed into FootageRequestDialog (console/gui/footage_dialog.py); tests replace the pickers with `choose_files` and
`choose_export`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton

from console.domain.footage import FootageRequest


def size_text(n: float) -> str:
    """A file size as a person reads it: 512 bytes, 1.5 KB, 2.0 GB."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class FootageFiles:
    """Attach files to `self.current` and export its evidence package."""

    def _build_file_row(self) -> QHBoxLayout:
        self.attach_button = QPushButton("Attach files…")
        self.attach_button.clicked.connect(self.attach_files)
        self.export_button = QPushButton("Export evidence package…")
        self.export_button.clicked.connect(self.export_package)
        file_row = QHBoxLayout()
        file_row.addStretch(1)
        file_row.addWidget(self.attach_button)
        file_row.addWidget(self.export_button)
        return file_row

    def attach_files(self) -> None:
        request = self.current
        if request is None:
            return
        paths = [Path(p) for p in self.choose_files() if p]
        if not paths:
            return
        user, now = self._user(), self.clock()
        self.attach_button.setEnabled(False)
        self.sig_message.emit(f"Copying and hashing {len(paths)} file(s)…")

        def done(updated: FootageRequest) -> None:
            self.sig_message.emit(f"{len(paths)} file(s) attached to request #{updated.id}, SHA-256 recorded")
            self.reload(select=updated.id)

        self.tasks.run("footage-attach", lambda: self.footage.attach_files(user, request.id, request.version, paths, now),
                       done, self._failed)

    def export_package(self) -> None:
        request = self.current
        if request is None:
            return
        target = self.choose_export()
        if not target:
            return
        user, now = self._user(), self.clock()
        self.sig_message.emit("Writing the evidence package…")
        self.tasks.run("footage-export", lambda: self.footage.export_package(user, [request.id], Path(target), now),
                       lambda manifest: self.sig_message.emit(
                           f"Evidence package written to {target}: {len(manifest['files'])} file(s), "
                           f"package {manifest['package_id']}"),
                       self.sig_message.emit)

    def _choose_files(self) -> list[str]:
        return QFileDialog.getOpenFileNames(self, "Attach files received from the owner")[0]

    def _choose_export(self) -> str | None:
        name = f"evidence-{self.incident.cad_number or self.incident.id}-request-{self.current.id}.zip"
        return QFileDialog.getSaveFileName(self, "Export evidence package", name, "Evidence package (*.zip)")[0] or None

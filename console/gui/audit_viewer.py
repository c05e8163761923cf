"""The auditors' window on the audit trail: filter events, verify the trail, export for a court (CSV/PDF).

Built with the AuditService it shows and the CheckpointService that verifies it (both from the composition root);
every query, verification and export runs on the thread pool (Tasks), never on the GUI thread, and comes back through
signals. Verify walks the hash chain and, with the auditor's public key set (audit_public_key), holds it to every
checkpoint that key signed, so a trail cut off at its end or emptied is found, not only an edited event. Verifying
and exporting are audited by the services.
"""

from __future__ import annotations

from datetime import datetime, time, timezone, tzinfo
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, QStandardPaths, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.domain.audit import Action, AuditFilter, AuditRecord, Detail, Outcome
from console.gui.workers import Tasks
from console.services.audit_checkpoints import CheckpointService, Completeness, load_public_key
from console.local_time import clock_text
from console.services.audit_reports import (
    AuditService,
    ExportResult,
    PlainNames,
    details_in_words,
    never_played,
    reason_of,
)
from console.gui.text import keep_plain, show_text

SHOWN_LIMIT = 2000  # newest events kept in the table; exports are not limited
_ANY = "(any)"
_COLUMNS = ("Seq", "Time", "User", "Workstation", "Action", "Outcome", "Camera", "CAD number", "Reason", "Details",
            "Hash")
_OUTCOME, _DETAILS, _HASH = 5, 9, 10
_ACTIONS = sorted(value for name, value in vars(Action).items() if name.isupper())
NEVER_PLAYED = "never played"
FINDINGS_SHOWN = 5  # the rest are counted; `rtic-console audit verify` lists them all
NO_KEY = ("Completeness not proven: no auditor's public key is set (audit_public_key), so only the chain was "
          "checked; events removed from its end would not be noticed.")


def verification_text(result: Completeness, key_set: bool) -> str:
    """What a Verify found, in sentences: the chain, then each finding, missing guard and what was not proven."""
    lines = [result.chain.summary()]
    if result.checkpoints_checked and not result.findings:
        lines.append(f"{result.checkpoints_checked} checkpoint(s) signed by the auditor's key hold: the trail is "
                     f"complete up to event {result.proven_to}.")
    lines += [finding.sentence for finding in result.findings[:FINDINGS_SHOWN]]
    if len(result.findings) > FINDINGS_SHOWN:
        lines.append(f"… and {len(result.findings) - FINDINGS_SHOWN} more findings (rtic-console audit verify lists "
                     "them all).")
    lines += result.guards
    if not key_set:
        lines.append(NO_KEY)
    elif result.not_proven:
        lines.append(result.not_proven)
    return "\n".join(lines)


class AuditEventsModel(QAbstractTableModel):
    """Audit records as table rows; the event where a broken chain was found is shown in red."""

    def __init__(self, parent=None, zone: tzinfo | None = None):
        super().__init__(parent)
        self.records: list[AuditRecord] = []
        self.names = PlainNames()
        self.zone = zone  # the agency's (setting time_zone); None: the workstation's own
        self.bad_seq: int | None = None

    def set_records(self, records: list[AuditRecord], names: PlainNames | None = None) -> None:
        self.beginResetModel()
        self.records, self.names = records, names or PlainNames()
        self.endResetModel()

    def when(self, record: AuditRecord) -> str:
        """The event's time as a person reads it: the date and clock in the agency's zone, with the zone."""
        moment = record.occurred
        local = moment.astimezone(self.zone) if self.zone is not None else moment.astimezone()
        return f"{local:%Y-%m-%d} {clock_text(moment, self.zone)}"

    def mark_bad(self, seq: int | None) -> None:
        self.bad_seq = seq
        if self.records:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.records) - 1, len(_COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = self.records[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 1:
                return self.when(r)
            return (r.seq, None, r.username, r.workstation, r.action.replace("_", " "),
                    NEVER_PLAYED if never_played(r) else r.outcome, self.names.camera(r.camera_id),
                    self.names.incident(r), reason_of(r), details_in_words(r), r.hash[:16] + "…")[column]
        if role == Qt.ItemDataRole.ToolTipRole and column == _OUTCOME and never_played(r):
            return f"No picture was ever shown: {r.details.get(Detail.PROBLEM) or 'no reason recorded'}"
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return f"{r.occurred_at} (UTC, as stored)"
        if role == Qt.ItemDataRole.ToolTipRole and column in (6, 7) and (r.camera_id or r.incident_id):
            return f"camera id {r.camera_id}" if column == 6 else f"incident id {r.incident_id}"
        if role == Qt.ItemDataRole.ToolTipRole and column in (_DETAILS, _HASH):
            return (f"As stored (hashed): {r.details_json}" if column == _DETAILS
                    else f"SHA-256 {r.hash}\nprevious {r.prev_hash}")
        if role == Qt.ItemDataRole.ForegroundRole:
            if r.seq == self.bad_seq:
                return QColor("#c62828")
            if column == _OUTCOME and (r.outcome in (Outcome.DENIED, Outcome.FAILED) or never_played(r)):
                return QColor("#ef6c00")
        return None


class AuditViewer(QDialog):
    """Filter, verify and export the audit trail. `username`/`workstation` are the auditor's, for the trail."""

    sig_loaded = Signal(int)
    """Events are shown (how many)."""
    sig_verified = Signal(object)
    """A verification finished (Completeness: the chain walk, the checkpoints and the guards)."""
    sig_exported = Signal(object)
    """An export was written and recorded (ExportResult)."""
    sig_failed = Signal(str)
    """Something could not be done; the sentence is also shown in the status line."""

    def __init__(self, service: AuditService, checkpoints: CheckpointService, username: str, workstation: str,
                 tasks: Tasks | None = None, parent: QWidget | None = None, public_key_file: str = "",
                 time_zone: tzinfo | None = None):
        """`public_key_file`: the auditor's public key (the audit_public_key setting), read at each Verify so a key
        put in place later counts; empty: the chain alone is checked, and the result says completeness is unproven."""
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.service, self.username, self.workstation = service, username, workstation
        self.checkpoints, self.public_key_file = checkpoints, public_key_file
        self._own_tasks = tasks is None
        self.tasks = tasks or Tasks(self)
        self.setWindowTitle("Audit trail")
        self.resize(1180, 640)
        self.zone = time_zone  # times shown and date filters in the agency's zone (setting time_zone)
        self.model = AuditEventsModel(self, time_zone)
        self._build()
        self.search()

    # --- layout -------------------------------------------------------------------------------------

    def _build(self) -> None:
        today = QDate.currentDate()
        self.from_enabled, self.from_date = QCheckBox("From"), QDateEdit(today.addDays(-30))
        self.to_enabled, self.to_date = QCheckBox("To"), QDateEdit(today)
        for check, date in ((self.from_enabled, self.from_date), (self.to_enabled, self.to_date)):
            date.setCalendarPopup(True)
            date.setDisplayFormat("yyyy-MM-dd")
            date.setEnabled(False)
            check.toggled.connect(date.setEnabled)
        self.user = QLineEdit(placeholderText="user name")
        self.camera = QLineEdit(placeholderText="label, address or id")
        self.camera.setMaxLength(100)
        self.camera.setMinimumWidth(170)
        self.camera.setToolTip("A camera's id, or words of its label and address (for example “front door elm”): "
                               "the events of every camera that has all the words.")
        self.cad = QLineEdit(placeholderText="CAD number")
        self.cad.setMaxLength(64)
        self.cad.setMaximumWidth(150)
        self.action = QComboBox()
        self.action.addItems([_ANY, *_ACTIONS])
        self.outcome = QComboBox()
        self.outcome.addItems([_ANY, Outcome.OK, Outcome.DENIED, Outcome.FAILED])
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.user.returnPressed.connect(self.search)
        self.camera.returnPressed.connect(self.search)
        self.cad.returnPressed.connect(self.search)

        filters = QHBoxLayout()
        for widget in (self.from_enabled, self.from_date, self.to_enabled, self.to_date, QLabel("User"), self.user,
                       QLabel("Camera"), self.camera, QLabel("CAD number"), self.cad, QLabel("Action"), self.action, QLabel("Outcome"), self.outcome,
                       self.search_button):
            filters.addWidget(widget)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_DETAILS, QHeaderView.ResizeMode.Stretch)

        self.chain_status = QLabel("Trail not checked yet")
        self.chain_status.setWordWrap(True)
        self.chain_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verify_button = QPushButton("Verify trail")
        self.verify_button.clicked.connect(self.verify)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self._ask_export("csv"))
        self.pdf_button = QPushButton("Export PDF…")
        self.pdf_button.clicked.connect(lambda: self._ask_export("pdf"))
        actions = QHBoxLayout()
        actions.addWidget(self.chain_status, 1)
        for button in (self.verify_button, self.csv_button, self.pdf_button):
            actions.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(actions)

    # --- what the auditor asks for ------------------------------------------------------------------

    def current_filter(self) -> AuditFilter | None:
        """The filter the form describes, or None (and a sentence in the status line) when it is not valid."""
        camera_text = self.camera.text().strip()
        since = _start_of(self.from_date.date(), self.zone) if self.from_enabled.isChecked() else None
        until = _start_of(self.to_date.date().addDays(1), self.zone) if self.to_enabled.isChecked() else None
        if since and until and since >= until:
            self._fail("the From date must not be after the To date")
            return None
        return AuditFilter(
            since=since, until=until, username=self.user.text().strip() or None,
            camera_id=int(camera_text) if camera_text.isdigit() else None,
            actions=() if self.action.currentText() == _ANY else (self.action.currentText(),),
            outcome=None if self.outcome.currentText() == _ANY else self.outcome.currentText(),
        )

    def _with_cad(self, where: AuditFilter, cad: str, camera: str) -> AuditFilter:
        """On the worker thread: the CAD number and the camera's label or address (if given) found in the registry
        and added to the filter (a UserError, one sentence, when either matches nothing)."""
        if cad:
            where = AuditFilter(**{**where.__dict__, "incident_id": self.service.incident_for_cad(cad)})
        if camera and not camera.isdigit():
            where = AuditFilter(**{**where.__dict__, "camera_ids": self.service.cameras_for_text(camera)})
        return where

    def search(self) -> None:
        where = self.current_filter()
        if where is None:
            return
        shown = AuditFilter(**{**where.__dict__, "limit": SHOWN_LIMIT, "newest_first": True})
        self._say("Searching…")

        cad, camera = self.cad.text().strip(), self.camera.text().strip()

        def find():
            records = self.service.events(self._with_cad(shown, cad, camera))
            return records, self.service.names(records)

        self.tasks.run("audit-search", find, self._show, self._fail)

    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.chain_status.setText("Verifying the trail…")
        self.tasks.run("audit-verify", self._check, self._verified, self._verify_failed)

    def _check(self) -> Completeness:
        """On the worker thread: the chain and every checkpoint, then the audit_verify event saying what was found."""
        public_key = load_public_key(self.public_key_file) if self.public_key_file else None
        result = self.checkpoints.completeness(public_key)
        self.checkpoints.record_verify(result, self.username, self.workstation)
        return result

    def export_to(self, path: str | Path, fmt: str) -> None:
        """Export the events the filter matches (all of them, not only those shown) to `path`."""
        where = self.current_filter()
        if where is None:
            return
        self._say(f"Exporting to {path}…")
        cad, camera = self.cad.text().strip(), self.camera.text().strip()
        self.tasks.run("audit-export", lambda: self.service.export(Path(path), fmt,
                                                                    self._with_cad(where, cad, camera),
                                                                    self.username, self.workstation),
                       self._exported, self._fail)

    def suggested_export_path(self, fmt: str) -> Path:
        """Where the save dialog starts: the user's documents folder (never the program's own folder)."""
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        folder_path = Path(folder) if folder else Path.home()
        return folder_path / f"audit-export-{datetime.now(timezone.utc):%Y%m%d-%H%M}.{fmt}"

    def _ask_export(self, fmt: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export audit events ({fmt.upper()})",
                                              str(self.suggested_export_path(fmt)), f"{fmt.upper()} files (*.{fmt})")
        if path:
            self.export_to(path, fmt)

    # --- results (GUI thread) -----------------------------------------------------------------------

    def _show(self, found: tuple[list[AuditRecord], PlainNames]) -> None:
        records, names = found
        self.model.set_records(records, names)
        more = " (the newest shown; export to get them all)" if len(records) >= SHOWN_LIMIT else ""
        self._say(f"{len(records)} events{more}")
        self.sig_loaded.emit(len(records))

    def _verified(self, result: Completeness) -> None:
        self.verify_button.setEnabled(True)
        colour = "#2e7d32" if result.ok and self.public_key_file else "#ef6c00" if result.ok else "#c62828"
        self.chain_status.setStyleSheet(f"color: {colour}; font-weight: bold")
        show_text(self.chain_status, verification_text(result, bool(self.public_key_file)), limit=2000)
        first = min((f.seq for f in result.findings if f.seq is not None), default=None)
        self.model.mark_bad(result.chain.first_bad_seq if result.chain.first_bad_seq is not None else first)
        self.sig_verified.emit(result)
        self.search()  # the check itself is now an event in the trail

    def _verify_failed(self, message: str) -> None:
        self.verify_button.setEnabled(True)
        self.chain_status.setText("Trail not checked")
        self._fail(message)

    def _exported(self, result: ExportResult) -> None:
        self.search()
        self._say(f"Saved: {result.events} events written to {result.path} (SHA-256 {result.sha256[:16]}…); the "
                  "export is recorded in the trail.", "color: #2e7d32; font-weight: bold")
        self.sig_exported.emit(result)

    def _say(self, text: str, style: str = "") -> None:
        self.status.setStyleSheet(style)
        show_text(self.status, text, limit=1000)  # a whole path: the auditor must see where the file went

    def _fail(self, message: str) -> None:
        self.status.setStyleSheet("color: #c62828")
        show_text(self.status, message)
        self.sig_failed.emit(message)

    def done(self, result: int) -> None:
        if self._own_tasks:
            self.tasks.close()  # late results are ignored; running jobs finish before the dialog goes
        super().done(result)


def _start_of(day: QDate, zone: tzinfo | None = None) -> datetime:
    """Midnight starting `day` in the agency's zone (None: the workstation's), as an aware time."""
    midnight = datetime.combine(day.toPython(), time())
    return midnight.replace(tzinfo=zone) if zone is not None else midnight.astimezone()

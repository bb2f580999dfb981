"""History and audit: batch records (export, alarms, labels), the latest audit events and a
verification of the hash chain."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.alarms import AlarmsDialog
from printpharm.gui.widgets.feedback import FieldError, VerdictLabel
from printpharm.gui.widgets.label_controls import LabelControls
from printpharm.services.access.permissions import Operation
from printpharm.services.station.equipment_desk import EquipmentDesk
from printpharm.services.station.workstation import Workstation

__all__ = ["HistoryPage"]

_COLUMNS = ("#", "When", "User", "What", "Action", "Reason", "Mode")
_BATCH_COLUMNS = ("Batch", "Status", "Dose per unit (mg)", "Units", "Made by", "Started")
_MAX_BATCHES = 50


class HistoryPage(QWidget):
    """The newest audit events (read-only) and a chain verification verdict."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("History and audit"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.batches = self._table("batches", _BATCH_COLUMNS)
        heading = QHBoxLayout()
        heading.addWidget(QLabel(self.tr("Batch records (newest first)")), 1)
        self.export_button = QPushButton(self.tr("&Export the selected record…"))
        self.export_button.setObjectName("exportButton")
        self.export_button.setToolTip(self.tr("PDF, CSV or JSON; the export is audited."))
        self.export_button.clicked.connect(self._choose_export)
        heading.addWidget(self.export_button)
        self.alarms_button = QPushButton(self.tr("&Alarms of the selected batch…"))
        self.alarms_button.setObjectName("alarmsButton")
        self.alarms_button.setToolTip(
            self.tr("Each alarm and who acknowledged it; acknowledge with a reason.")
        )
        self.alarms_button.clicked.connect(self.show_alarms)
        heading.addWidget(self.alarms_button)
        layout.addLayout(heading)
        layout.addWidget(self.batches, 1)
        self.exported = QLabel()
        self.exported.setWordWrap(True)
        layout.addWidget(self.exported)
        desk = EquipmentDesk(workstation.session, workstation.config.balance_url)
        self.label = LabelControls(desk, self.selected_batch)
        layout.addWidget(self.label)
        note = QLabel(self.tr("Audit trail: append-only and hash-chained."))
        note.setWordWrap(True)
        layout.addWidget(note)
        row = QHBoxLayout()
        self.reload_button = QPushButton(self.tr("&Reload"))
        self.reload_button.clicked.connect(self.refresh)
        self.verify_button = QPushButton(self.tr("&Verify the audit trail"))
        self.verify_button.setObjectName("verifyButton")
        self.verify_button.clicked.connect(self.verify)
        self.verdict = VerdictLabel()
        self.verdict.set_verdict(None, self.tr("not verified yet"))
        row.addWidget(self.reload_button)
        row.addWidget(self.verify_button)
        row.addWidget(self.verdict, 1)
        layout.addLayout(row)
        self.table = self._table("auditEvents", _COLUMNS)
        layout.addWidget(self.table, 1)
        self.error = FieldError()
        layout.addWidget(self.error)

    def _table(self, name: str, columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setObjectName(name)
        table.setHorizontalHeaderLabels([self.tr(c) for c in columns])
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        return table

    def refresh(self) -> None:
        """Load the newest events (if the user may view the audit trail)."""
        allowed = self._ws.session.may(Operation.VIEW_AUDIT)
        self.verify_button.setEnabled(allowed)
        self.reload_button.setEnabled(allowed)
        self.table.setRowCount(0)
        if not allowed:
            logged_in = self._ws.session.user is not None
            self.error.show_reason(
                self.tr("your role may not view the audit trail")
                if logged_in
                else self.tr("log in to see the audit trail")
            )
            return
        try:
            events = self._ws.session.audit_events()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self._show_batches()
        self.table.setRowCount(len(events))
        for row, event in enumerate(reversed(events)):
            what = event.record_type + (f" {event.record_id}" if event.record_id else "")
            cells = (
                str(event.seq),
                event.occurred_at[:19].replace("T", " "),
                event.user_id or "—",
                what,
                event.action,
                event.reason or "",
                event.mode,
            )
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))

    def _show_batches(self) -> None:
        session = self._ws.session
        self.batches.setRowCount(0)
        try:
            rows = [session.batch(i) for i in session.batch_ids(_MAX_BATCHES)]
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.batches.setRowCount(len(rows))
        for n, row in enumerate(rows):
            cells = (
                row.batch_id,
                row.status + (f" — {row.status_reason}" if row.status_reason else ""),
                str(row.target_dose_mg),
                f"{len(row.units)} of {row.units_count}",
                row.created_by,
                row.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.batches.setItem(n, col, item)

    def selected_batch(self) -> str | None:
        """The batch ID of the selected row (``None`` if none)."""
        item = self.batches.item(self.batches.currentRow(), 0)
        return item.text() if item is not None else None

    def show_alarms(self) -> AlarmsDialog | None:
        """Open the alarm list of the selected batch (acknowledge there); return the dialog."""
        batch_id = self.selected_batch()
        if batch_id is None:
            self.error.show_reason(self.tr("select a batch record first"))
            return None
        self.error.show_reason(None)
        dialog = AlarmsDialog(self._ws.session, batch_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.panel.changed.connect(self._show_batches)
        dialog.open()
        return dialog

    def _choose_export(self) -> None:
        batch_id = self.selected_batch()
        if batch_id is None:
            self.error.show_reason(self.tr("select a batch record first"))
            return
        path, chosen = QFileDialog.getSaveFileName(
            self,
            self.tr("Export batch record"),
            f"{batch_id}.pdf",
            self.tr("PDF (*.pdf);;CSV (*.csv);;JSON (*.json)"),
        )
        if path:
            fmt = Path(path).suffix.lstrip(".").lower() or chosen[:3].lower()
            self.export_selected(Path(path), fmt)

    def export_selected(self, path: Path, fmt: str) -> None:
        """Export the selected batch record to ``path`` as ``fmt`` (pdf, csv, json)."""
        batch_id = self.selected_batch()
        if batch_id is None:
            self.error.show_reason(self.tr("select a batch record first"))
            return
        try:
            written = self._ws.session.export_batch(batch_id, fmt, path)
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self.exported.setText(self.tr("Exported to {path}.").format(path=written))

    def verify(self) -> None:
        """Verify the hash chain and show the verdict."""
        try:
            report = self._ws.session.verify_audit()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        if report.ok:
            self.verdict.set_verdict(
                True, self.tr("audit trail intact ({n} events)").format(n=report.events)
            )
        else:
            broken = report.first_broken
            where = f"#{broken.seq}: {broken.problem}" if broken else "?"
            self.verdict.set_verdict(False, self.tr("BROKEN at {where}").format(where=where))

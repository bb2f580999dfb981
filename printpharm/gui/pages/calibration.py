"""Calibrations: the mass–volume fits of this site, a series to print and weigh, signatures.

The list shows every calibration version per ink and printer with its status
(draft → validated → locked → retired), whether it is in force, and whether it
is TRAINING ONLY (fitted on simulators: it never sizes a patient batch). The
selected fit is drawn — weighed discs, the fitted line, its 95 % prediction band
and the residuals — with R², residual SD, n and the acceptance verdict.

A technician (and up) runs a series on the built-in simulators (training) or on
the configured printer and balance, in a worker thread as the print page does;
the equipment gates, the acceptance criteria and the audit trail are the
services'. A pharmacist — not the one who fitted it — validates, then locks,
each with an electronic signature. A refusal is shown as text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.calibration_chart import FitChart, ResidualChart
from printpharm.gui.widgets.feedback import FieldError, error_colour
from printpharm.gui.widgets.signature import SignatureDialog
from printpharm.gui.widgets.tables import record_table
from printpharm.gui.workers import EventBridge, TaskRunner
from printpharm.services.control.calibration_run import SeriesOrder
from printpharm.services.run.calibration_series import DEFAULT_REPLICATES, SeriesPoint
from printpharm.services.station.calibrations import CalibrationDetail, CalibrationRow, SeriesResult
from printpharm.services.station.workstation import Workstation

__all__ = ["CalibrationPage"]

_COLUMNS = ("Version", "Ink", "Printer", "Lot", "Status", "In force", "Use", "R²",
            "Residual SD", "n", "Fitted")  # fmt: skip
_SIMULATORS = "simulators"


class CalibrationPage(QWidget):
    """Calibration versions, the selected fit, a series to run, validate and lock."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self.rows: list[CalibrationRow] = []
        self.dialog: SignatureDialog | None = None
        self.runner = TaskRunner(self)
        self.runner.finished.connect(self._series_done)
        self.runner.failed.connect(self._series_failed)
        self.bridge = EventBridge(self)
        self.bridge.received.connect(self._point)
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Calibrations"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addWidget(self._series_group())
        self.error = FieldError()
        layout.addWidget(self.error)
        self.message = QLabel()
        self.message.setObjectName("calibrationMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.table = record_table(self, "calibrationTable", _COLUMNS)
        self.table.setMinimumHeight(90)
        self.table.setMaximumHeight(110)
        self.table.itemSelectionChanged.connect(self._selected_changed)
        layout.addWidget(self.table)
        layout.addLayout(self._buttons())
        layout.addWidget(self._detail_group(), 1)

    # -- construction -------------------------------------------------------------------
    def _series_group(self) -> QGroupBox:
        self.series_group = QGroupBox(self.tr("Run a calibration series (print and weigh discs)"))
        form = QFormLayout(self.series_group)
        self.ink = QComboBox()
        self.ink.setObjectName("calibrationInk")
        self.printer = QComboBox()
        self.printer.setObjectName("calibrationPrinter")
        self.lot = QLineEdit()
        self.lot.setObjectName("calibrationLot")
        self.lot.setPlaceholderText(self.tr("optional: bind to one released lot"))
        self.asset = QLineEdit()
        self.asset.setObjectName("calibrationAsset")
        self.asset.setPlaceholderText(self.tr("optional: bind to one registered printer (tag)"))
        self.devices = QComboBox()
        self.devices.setObjectName("calibrationDevices")
        self.replicates = QSpinBox()
        self.replicates.setObjectName("calibrationReplicates")
        self.replicates.setRange(1, 10)
        self.replicates.setValue(DEFAULT_REPLICATES)
        self.replicates.setToolTip(self.tr("How many discs of each volume are printed"))
        self.run_button = QPushButton(self.tr("&Run series"))
        self.run_button.setObjectName("runSeriesButton")
        self.run_button.clicked.connect(self.run_series)
        self.progress = QLabel()
        self.progress.setObjectName("seriesProgress")
        form.addRow(self._buddy(self.tr("&Ink:"), self.ink),
                    self._pair(self.ink, self.tr("&Printer type:"), self.printer))  # fmt: skip
        asset = self._pair(self.lot, self.tr("Printer &asset tag:"), self.asset)
        form.addRow(self._buddy(self.tr("&Lot:"), self.lot), asset)
        devices = self._pair(self.devices, self.tr("Discs per &volume:"), self.replicates)
        form.addRow(self._buddy(self.tr("&Devices:"), self.devices), devices)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.progress, 1)
        form.addRow("", row)
        return self.series_group

    @staticmethod
    def _buddy(text: str, widget: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(widget)
        return label

    def _pair(self, left: QWidget, label: str, right: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(left, 3)
        row.addWidget(self._buddy(label, right))
        row.addWidget(right, 2)
        return row

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.validate_button = QPushButton(self.tr("&Validate…"))
        self.validate_button.setObjectName("validateCalibrationButton")
        self.validate_button.clicked.connect(lambda: self.ask_signature("validate"))
        self.lock_button = QPushButton(self.tr("Loc&k…"))
        self.lock_button.setObjectName("lockCalibrationButton")
        self.lock_button.clicked.connect(lambda: self.ask_signature("lock"))
        row.addWidget(self.validate_button)
        row.addWidget(self.lock_button)
        row.addStretch(1)
        return row

    def _detail_group(self) -> QGroupBox:
        self.detail_group = QGroupBox(self.tr("Selected fit"))
        body = QHBoxLayout(self.detail_group)
        column = QVBoxLayout()
        self.training = QLabel()
        self.training.setObjectName("trainingOnly")
        self.training.setWordWrap(True)
        self.training.setStyleSheet(
            f"color: {error_colour(self.palette()).name()}; font-weight: bold;"
        )
        self.verdict = QLabel()
        self.verdict.setObjectName("calibrationVerdict")
        self.verdict.setWordWrap(True)
        self.stats = QLabel()
        self.stats.setObjectName("calibrationStats")
        self.stats.setWordWrap(True)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fit_chart = FitChart()
        self.fit_chart.setMinimumHeight(190)
        self.residual_chart = ResidualChart()
        self.residual_chart.setMinimumHeight(130)
        for widget in (self.training, self.verdict, self.stats):
            column.addWidget(widget)
        column.addStretch(1)
        text = QWidget()
        text.setLayout(column)
        text.setFixedWidth(300)
        charts = QVBoxLayout()
        charts.addWidget(self.fit_chart, 4)
        charts.addWidget(self.residual_chart, 3)
        body.addWidget(text)
        body.addLayout(charts, 1)
        return self.detail_group

    # -- state --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the versions, the inks and printers, and what the user may do."""
        self.error.show_reason(None)
        desk = self._ws.calibrations
        try:
            self.rows = desk.rows()
        except PrintpharmError as exc:
            self.rows = []
            self.error.show_reason(str(exc))
        self._fill_choices()
        self.table.setRowCount(0)
        for row in self.rows:
            self._add_row(row)
        text = self.tr(
            "{n} calibration version(s). A locked calibration sizes the plans of its ink and "
            "printer; one fitted on simulators is TRAINING ONLY and never sizes a patient batch."
        ).format(n=len(self.rows))
        if not desk.may_run():
            text += " " + self.tr("Read-only: technicians and pharmacists run a series.")
        self.summary.setText(text)
        self._inputs_enabled(desk.may_run() and not self.runner.busy)
        self._selected_changed()

    def _fill_choices(self) -> None:
        desk = self._ws.calibrations
        ink, printer = self.ink.currentText(), self.printer.currentText()
        self.ink.clear()
        self.ink.addItems(desk.inks())
        self.printer.clear()
        self.printer.addItems(desk.printers())
        for combo, text in ((self.ink, ink), (self.printer, printer)):
            if text:
                combo.setCurrentText(text)
        self.devices.clear()
        self.devices.addItem(self.tr("Built-in simulators — training only"), _SIMULATORS)
        printer_url, balance_url = desk.ports
        if not printer_url.startswith("sim://"):
            label = self.tr("Configured printer {p} and balance {b}").format(
                p=printer_url, b=balance_url
            )
            self.devices.addItem(label, "ports")

    def _add_row(self, row: CalibrationRow) -> None:
        index = self.table.rowCount()
        self.table.insertRow(index)
        cells = (f"v{row.version}", row.ink, row.printer, row.lot, row.status, row.in_force,
                 row.use, row.r2, row.residual_sd, row.n, row.fitted)  # fmt: skip
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if row.training_only and col == 6:
                item.setForeground(error_colour(self.palette()))
            self.table.setItem(index, col, item)

    def selected(self) -> CalibrationRow | None:
        """The selected version, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def select(self, version: int) -> None:
        """Select a version (keyboard users and tests)."""
        for index, row in enumerate(self.rows):
            if row.version == version:
                self.table.selectRow(index)
                return

    def _selected_changed(self) -> None:
        row, desk = self.selected(), self._ws.calibrations
        self.validate_button.setEnabled(
            desk.may_validate() and row is not None and row.status == "draft"
        )
        self.lock_button.setEnabled(
            desk.may_lock() and row is not None and row.status == "validated"
        )
        tip = self.tr("Select a calibration.") if desk.may_validate() else self.tr(
            "Only a pharmacist (not the one who fitted it) may sign."
        )  # fmt: skip
        self.validate_button.setToolTip(tip)
        self.lock_button.setToolTip(tip)
        if row is None:
            self.show_detail(None)
            return
        try:
            self.show_detail(desk.detail(row.version))
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))

    def show_detail(self, detail: CalibrationDetail | None) -> None:
        """Draw a fit and say what it is (``None``: nothing selected)."""
        self.fit_chart.set_data(None if detail is None else detail.plot)
        self.residual_chart.set_data(None if detail is None else detail.plot)
        if detail is None:
            self.detail_group.setTitle(self.tr("Selected fit"))
            for label in (self.training, self.verdict, self.stats):
                label.clear()
            return
        self.detail_group.setTitle(detail.title)
        self.training.setText(
            self.tr("TRAINING ONLY: fitted on simulators. It never sizes a patient batch and a "
                    "real printer refuses a plan sized with it.") if detail.training_only else ""
        )  # fmt: skip
        mark = "✔" if detail.accepted else "✘"
        self.verdict.setText(f"{mark} {detail.verdict}")
        self.stats.setText("\n".join(detail.lines))

    # -- a series -----------------------------------------------------------------------
    def order(self) -> SeriesOrder:
        """The series as chosen on the page."""
        printer_url, balance_url = self._ws.calibrations.ports
        real = self.devices.currentData() == "ports"
        return SeriesOrder(
            self.ink.currentText(), self.printer.currentText(), self.lot.text().strip() or None,
            printer_asset=self.asset.text().strip() or None, replicates=self.replicates.value(),
            printer_port=printer_url if real else None, balance_port=balance_url if real else None,
        )  # fmt: skip

    def run_series(self) -> None:
        """Print and weigh the series in a worker thread (the page stays responsive)."""
        if self.runner.busy:
            return
        self.error.show_reason(None)
        self.message.clear()
        order, desk = self.order(), self._ws.calibrations
        self._inputs_enabled(False)  # the progress beside them stays readable
        self.progress.setText(self.tr("connecting, heating, printing the first disc…"))
        self.runner.start(lambda: desk.run_series(order, self.bridge.publish))

    def _inputs_enabled(self, enabled: bool) -> None:
        widgets = (self.ink, self.printer, self.lot, self.asset, self.devices, self.replicates,
                   self.run_button)  # fmt: skip
        for widget in widgets:
            widget.setEnabled(enabled)

    def _point(self, point: object) -> None:
        if isinstance(point, SeriesPoint):
            self.progress.setText(
                self.tr("disc {n}: {v} mm³ weighed {m} mg").format(
                    n=point.n, v=f"{point.volume_mm3:.1f}", m=f"{point.mass_mg:.2f}"
                )
            )

    def _series_done(self, result: object) -> None:
        assert isinstance(result, SeriesResult)
        self.progress.clear()
        self.refresh()
        if result.version is not None:
            self.select(result.version)
            self.message.setText(self.tr(
                "Stored as calibration v{v} (draft). Next: a pharmacist who did not run it "
                "validates it, then locks it."
            ).format(v=result.version))  # fmt: skip
            return
        self.table.clearSelection()
        self.show_detail(result.detail)
        self.error.show_reason(result.refusal)

    def _series_failed(self, error: object) -> None:
        self.progress.clear()
        self.refresh()
        self.error.show_reason(str(error) if isinstance(error, PrintpharmError) else repr(error))

    # -- signatures ---------------------------------------------------------------------
    def ask_signature(self, step: str) -> None:
        """Open the e-signature dialog to validate or lock the selected version."""
        row = self.selected()
        if row is None:
            return
        desk = self._ws.calibrations
        verb = self.tr("Validate") if step == "validate" else self.tr("Lock")
        what = self.tr("{verb} calibration v{v}: {ink} on {printer}, {lot}").format(
            verb=verb, v=row.version, ink=row.ink, printer=row.printer, lot=row.lot
        )
        if row.training_only:
            what += self.tr(" — TRAINING ONLY (fitted on simulators)")
        version = row.version

        def sign(uid: str, pw: str, comment: str) -> str:
            return desk.sign(step, version, uid, pw, comment)

        user = self._ws.session.user
        dialog = SignatureDialog(what, sign, user.user_id if user else "", self)
        dialog.accepted.connect(lambda: self._signed(dialog, version))
        self.dialog = dialog
        dialog.open()

    def _signed(self, dialog: SignatureDialog, version: int) -> None:
        self.dialog = None
        self.refresh()
        self.select(version)
        self.message.setText(self.tr("Signed: {m}").format(m=dialog.manifestation or ""))

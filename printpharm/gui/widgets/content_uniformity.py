"""Content uniformity of the printed batch (Ph. Eur. 2.9.40): choose units, enter assays.

printpharm chooses the units to assay (at random, recorded); the results of
those units are typed or pasted as ``unit value`` lines, in % of label claim or
in mg, with the analytical method. The service refuses results for other
units and computes the acceptance value; release waits for a pass.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError, VerdictLabel
from printpharm.services.records.content_uniformity import CuStatus
from printpharm.services.station.lots import StationLots

__all__ = ["CuPanel"]


class CuPanel(QGroupBox):
    """The batch's content uniformity: status, units chosen, results form.

    ``changed`` is emitted when units were chosen or results entered (the batch's
    verdict, and what may be signed, may have changed).
    """

    changed = Signal()

    def __init__(self, lots: StationLots, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Content uniformity (Ph. Eur. 2.9.40, assayed units)"))
        self.setObjectName("cuPanel")
        self._lots = lots
        self.batch_id: str | None = None
        self.status: CuStatus | None = None
        form = QFormLayout(self)
        self.verdict = VerdictLabel()
        self.verdict.setObjectName("cuVerdict")
        self.reason = QLabel()
        self.reason.setObjectName("cuReason")
        self.reason.setWordWrap(True)
        form.addRow(self.tr("Verdict:"), self.verdict)
        form.addRow("", self.reason)
        self.select_button = QPushButton(self.tr("&Choose the units to assay"))
        self.select_button.setObjectName("cuSelectButton")
        self.select_button.setToolTip(
            self.tr("printpharm chooses them at random and records the choice.")
        )
        self.select_button.clicked.connect(self.select_units)
        self.chosen = QLabel()
        self.chosen.setObjectName("cuChosen")
        self.chosen.setWordWrap(True)
        form.addRow(self.select_button, self.chosen)
        self.results = QPlainTextEdit()
        self.results.setObjectName("cuResults")
        self.results.setTabChangesFocus(True)
        self.results.setPlaceholderText(self.tr("one unit per line: unit number, content\n3 98.7"))
        self.results.setMaximumHeight(110)
        self.basis = QComboBox()
        self.basis.setObjectName("cuBasis")
        self.basis.addItem(self.tr("% of label claim"), "pct")
        self.basis.addItem("mg", "mg")
        self.method = QLineEdit()
        self.method.setObjectName("cuMethod")
        self.method.setPlaceholderText(self.tr("analytical method, e.g. HPLC-UV, SOP QC-12"))
        self.analyst = QLineEdit()
        self.analyst.setObjectName("cuAnalyst")
        self.analyst.setPlaceholderText(self.tr("analyst"))
        row = QHBoxLayout()
        row.addWidget(self.basis)
        row.addWidget(self.method, 2)
        row.addWidget(self.analyst, 1)
        form.addRow(self.tr("&Results:"), self.results)
        form.addRow(self.tr("Unit / method:"), row)
        self.enter_button = QPushButton(self.tr("&Enter results"))
        self.enter_button.setObjectName("cuEnterButton")
        self.enter_button.clicked.connect(self.enter_results)
        self.error = FieldError()
        form.addRow(self.enter_button, self.error)
        self.set_batch(None)

    def set_batch(self, batch_id: str | None) -> None:
        """Show the content uniformity of ``batch_id`` (``None``: no recorded batch)."""
        self.batch_id = batch_id
        self.results.clear()
        self.error.show_reason(None)
        self.refresh()

    def refresh(self) -> None:
        """Reload the status from the record."""
        if self.batch_id is None:
            self.status = None
            self.verdict.set_verdict(None, self.tr("no recorded batch"))
            self.reason.setText(self.tr("Print a batch with your user logged in."))
            self.chosen.clear()
            self._enable(False, False)
            return
        try:
            self.status = self._lots.cu_status(self.batch_id)
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            self._enable(False, False)
            return
        self._show(self.status)

    def _show(self, status: CuStatus) -> None:
        passed = {"PASS": True, "FAIL": False, "NOT_NEEDED": True}.get(status.state)
        self.verdict.set_verdict(passed, status.state.replace("_", " "))
        self.reason.setText(status.text() if status.state != "NOT_NEEDED" else status.why)
        self.chosen.setText(
            "; ".join(
                self.tr("stage {s}: units {u} (seed {seed})").format(
                    s=s.stage, u=", ".join(map(str, s.units)), seed=s.seed[:12] + "…"
                )
                for s in status.samples
            )
        )
        can_select = status.state == "SELECT" or (
            status.state == "STAGE2_REQUIRED" and len(status.samples) == 1
        )
        self._enable(can_select, status.state == "PENDING")

    def _enable(self, select: bool, enter: bool) -> None:
        self.select_button.setEnabled(select)
        for widget in (self.results, self.basis, self.method, self.analyst, self.enter_button):
            widget.setEnabled(enter)

    def select_units(self) -> None:
        """Let printpharm choose the units to assay."""
        if self.batch_id is None:
            return
        try:
            self.status = self._lots.cu_select(self.batch_id)
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self._show(self.status)
        self.changed.emit()

    def enter_results(self) -> None:
        """Enter the typed results (refusals shown as text; nothing stored then)."""
        if self.batch_id is None:
            return
        try:
            self.status = self._lots.cu_enter(
                self.batch_id,
                self.results.toPlainText(),
                str(self.basis.currentData()),
                self.method.text(),
                self.analyst.text(),
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self.results.clear()
        self._show(self.status)
        self.changed.emit()

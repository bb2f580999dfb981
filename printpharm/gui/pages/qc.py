"""QC and release: Ph. Eur. 2.9.5 and the local mass check on unit masses.

A finished run fills in its weighed masses (read-only) and its QC report;
without a run, masses can be typed or pasted (mg) to judge them. A supervisor
releases or rejects a printed batch with an electronic signature, once every
alarm the run raised is acknowledged (the alarm list below the verdicts).
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from printpharm.core.ink_lots import UnitContent
from printpharm.errors import PrintpharmError, UniformityInputError
from printpharm.gui.models import UnitMassModel
from printpharm.gui.widgets.alarms import AlarmPanel
from printpharm.gui.widgets.banner import PatientUseBanner
from printpharm.gui.widgets.content_uniformity import CuPanel
from printpharm.gui.widgets.feedback import FieldError, VerdictLabel
from printpharm.gui.widgets.release import ReleasePanel
from printpharm.services.records.flow_prior_text import noise_prior_text
from printpharm.services.run.result import RELEASABLE_VERDICTS, BatchResult
from printpharm.services.station.workstation import (
    PlannedBatch,
    QcPreview,
    Workstation,
    format_mass,
    format_mg,
)

__all__ = ["QcPage"]


def _contents(result: BatchResult, batch: PlannedBatch) -> list[str]:
    """Each unit's API content (mass × the lot's assay) next to the dose per unit."""
    lot = result.recipe["ink"]["lot_record"]
    contents = [
        f"{u.n}: {UnitContent(u.content_mg, u.content_uncertainty_mg).text()}"
        for u in result.units
        if u.content_mg is not None
    ]
    if not contents:
        return []
    return [
        f"API content per unit (dose {format_mg(batch.dose_mg)}; {lot['label']}):",
        "  " + ", ".join(contents),
    ]


class QcPage(QWidget):
    """Unit masses in, verdicts out; every change re-evaluates."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self.model = UnitMassModel()
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("QC and release"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.patient_banner = PatientUseBanner()
        layout.addWidget(self.patient_banner)
        row = QHBoxLayout()
        row.addWidget(self._input_group(), 1)
        row.addWidget(self._verdict_group(), 1)
        layout.addLayout(row, 1)
        self.run_report = QLabel()
        self.run_report.setObjectName("runReport")
        self.run_report.setWordWrap(True)
        self.run_report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.run_report)
        self.alarms = AlarmPanel(workstation.session)
        self.alarms.hide()  # shown for a recorded batch that raised alarms, before the rest
        layout.addWidget(self.alarms)
        self.cu = CuPanel(workstation.lots)
        layout.addWidget(self.cu)
        self.release = ReleasePanel(workstation.session)
        layout.addWidget(self.release)
        self._result: BatchResult | None = None
        self._author: str | None = None  # who printed the batch shown
        self.cu.changed.connect(self._offer_release)
        self.refresh()

    def _input_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Unit masses"))
        form = QFormLayout(group)
        self.masses = QPlainTextEdit()
        self.masses.setObjectName("masses")
        self.masses.setTabChangesFocus(True)
        self.masses.setPlaceholderText(self.tr("one mass per line in mg, e.g.\n250.1\n249.8"))
        self.masses.setToolTip(self.tr("Weighed masses in mg; the run will fill these in."))
        self.masses_error = FieldError()
        self.target = QLineEdit()
        self.target.setObjectName("target")
        self.target.setToolTip(self.tr("Target mass per unit in mg (from the plan)."))
        self.unit_tol = QLineEdit("7.5")
        self.unit_tol.setToolTip(self.tr("Allowed deviation of each unit from its target, %."))
        self.mean_tol = QLineEdit("5")
        self.mean_tol.setToolTip(self.tr("Allowed deviation of the mean from the target, %."))
        form.addRow(self.tr("&Masses (mg):"), self.masses)
        form.addRow("", self.masses_error)
        form.addRow(self.tr("&Target (mg):"), self.target)
        form.addRow(self.tr("&Unit tolerance (%):"), self.unit_tol)
        form.addRow(self.tr("M&ean tolerance (%):"), self.mean_tol)
        self.masses.textChanged.connect(self.refresh)
        for edit in (self.target, self.unit_tol, self.mean_tol):
            edit.textChanged.connect(self.refresh)
        return group

    def _verdict_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Verdicts"))
        form = QFormLayout(group)
        self.verdict_295 = VerdictLabel()
        self.reason_295 = QLabel()
        self.reason_295.setWordWrap(True)
        self.verdict_local = VerdictLabel()
        self.reason_local = QLabel()
        self.reason_local.setWordWrap(True)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        form.addRow(self.tr("Ph. Eur. 2.9.5:"), self.verdict_295)
        form.addRow("", self.reason_295)
        form.addRow(self.tr("Local mass check:"), self.verdict_local)
        form.addRow("", self.reason_local)
        form.addRow(self.table)
        return group

    def set_masses(self, masses_mg: list[str], target_mg: str | None = None) -> None:
        """Fill in masses (mg, as text) and optionally the target, as the run service will."""
        self.masses.setPlainText("\n".join(masses_mg))
        if target_mg is not None:
            self.target.setText(target_mg)

    def set_run_result(self, result: object, batch: object) -> None:
        """Show a finished run: its QC report, and its weighed masses in the fields above."""
        assert isinstance(result, BatchResult) and isinstance(batch, PlannedBatch)
        lines = [
            self.tr("Batch {id}: {status}; the run's QC {verdict} — {reason}").format(
                id=result.batch_id,
                status=result.status,
                verdict=result.qc.verdict.upper(),
                reason=result.qc.reason,
            )
        ]
        lines += [f"  {t.test}: {t.result} — {t.reason}" for t in result.qc.tests]
        lines.append(self.tr("Flow control: {prior}").format(prior=noise_prior_text(result.recipe)))
        lines += _contents(result, batch)
        self.run_report.setText("\n".join(lines))
        recorded = result.batch_id if self._ws.session.user is not None else None
        self.cu.set_batch(recorded)
        self.alarms.set_batch(recorded)
        self.alarms.setVisible(bool(self.alarms.alarms))
        self._result = result
        self._author = self._ws.session.user.user_id if self._ws.session.user else None
        self._offer_release()
        masses = [format_mass(u.measured_mg) for u in result.units if u.measured_mg is not None]
        tolerances = batch.request.recipe.tolerances
        self.unit_tol.setText(str(tolerances.unit_mass.value))
        self.mean_tol.setText(str(tolerances.mean_mass.value))
        # The target the run judged its units against: for an ink that dries, the wet mass
        # weighed in line, not the plan's dried printlet (which would fail every unit here).
        judged = next((u.target_mg for u in result.units), None)
        planned = Decimal(f"{batch.plan.target_mass_mg:.4f}")  # 4 decimals, as planned
        target = (planned if judged is None else judged).normalize()
        self.set_masses(masses, format_mass(target))
        for edit in (self.target, self.unit_tol, self.mean_tol):
            edit.setReadOnly(True)
        self.masses.setReadOnly(True)
        self.masses.setToolTip(
            self.tr("Weighed by the run of batch {id}; read-only.").format(id=result.batch_id)
        )

    def _offer_release(self) -> None:
        """Offer the batch for signing by the verdict its record states now.

        A recorded batch's verdict is the run's completed by its content uniformity
        (release is offered once the assays passed); a training run keeps the run's.
        """
        result = self._result
        if result is None:
            return
        verdict: str = result.qc.verdict
        not_for_patient: str | None = None
        if self.cu.batch_id is not None and result.status == "completed":
            try:
                verdict = self._ws.lots.batch_verdict(self.cu.batch_id)
                use, why = self._ws.lots.patient_use(self.cu.batch_id)
                not_for_patient = None if use else why
            except PrintpharmError:
                pass  # not recorded (or no longer readable): the run's own verdict stands
        releasable = result.status == "completed" and verdict in RELEASABLE_VERDICTS
        self.release.set_batch(
            result.batch_id, releasable, self._author, verdict, not_for_patient=not_for_patient
        )

    def refresh(self) -> None:
        """Re-evaluate the typed masses."""
        if not self.masses.toPlainText().strip():
            self.masses_error.show_reason(None)
            self.model.set_data((), None)
            for verdict, reason in (
                (self.verdict_295, self.reason_295),
                (self.verdict_local, self.reason_local),
            ):
                verdict.set_verdict(None, self.tr("waiting for masses"))
                reason.setText(self.tr("Enter or paste the weighed masses (mg) of the units."))
            return
        try:
            preview = self._ws.preview_qc(
                self.masses.toPlainText(),
                self.target.text(),
                self.unit_tol.text(),
                self.mean_tol.text(),
            )
        except UniformityInputError as exc:
            self.masses_error.show_reason(str(exc))
            self.model.set_data((), None)
            self.verdict_295.set_verdict(None, "—")
            self.verdict_local.set_verdict(None, "—")
            return
        self.masses_error.show_reason(None)
        self._show(preview)

    def _show(self, preview: QcPreview) -> None:
        self.model.set_data(preview.masses_mg, preview.mass_2_9_5)
        n = len(preview.masses_mg)
        if preview.mass_2_9_5 is not None:
            passed = preview.mass_2_9_5.result == "PASS"
            self.verdict_295.set_verdict(passed, preview.mass_2_9_5.result)
            self.reason_295.setText(preview.mass_2_9_5.reason)
        else:
            self.verdict_295.set_verdict(None, self.tr("not judged"))
            self.reason_295.setText(
                self.tr("{n} masses entered. {why}").format(n=n, why=preview.mass_2_9_5_error)
            )
        if preview.local is not None:
            verdict = preview.local.result
            self.verdict_local.set_verdict(verdict == "PASS", verdict)
            self.reason_local.setText(preview.local.reason)
        else:
            self.verdict_local.set_verdict(None, self.tr("not judged"))
            self.reason_local.setText(preview.local_error or "")

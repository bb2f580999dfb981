"""Plan preview: the numbers of the planned plate, a turnable 3-D view of the unit and a
layer-by-layer toolpath view (one tab each).

Planning runs in a worker thread (:class:`~printpharm.gui.workers.TaskRunner`);
a refused plan (dose outside the design space, no size that holds the dose,
volume outside the ink's calibration) is shown with the service's message.

A batch is for patient use only once a second person (a pharmacist) has verified
the prescription entry and the calculated dose (OPS-01, OPS-03): while that is
missing, the "Second-person check" group asks for the pharmacist's own user ID
and password, and a successful check authorises the batch again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.banner import PatientUseBanner
from printpharm.gui.widgets.feedback import FieldError
from printpharm.gui.widgets.lot_field import LotField
from printpharm.gui.widgets.toolpaths import ToolpathView
from printpharm.gui.widgets.unit_view import UnitView
from printpharm.gui.workers import TaskRunner
from printpharm.services.access.permissions import Operation
from printpharm.services.control.entry_verification import NOT_VERIFIED
from printpharm.services.station.workstation import (
    DoseForm,
    DosePreview,
    PlannedBatch,
    PrintAuthorisation,
    Workstation,
    describe_dose,
    flag_lines,
    format_mass,
    format_mg,
)

if TYPE_CHECKING:
    from printpharm.services.run.planning import PlanResult

__all__ = ["PlanPage"]


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


class PlanPage(QWidget):
    """Batch summary, plan numbers, 3-D unit, toolpaths; emits ``print_requested(PlannedBatch)``."""

    print_requested = Signal(object)

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self.batch: PlannedBatch | None = None
        self.authorisation: PrintAuthorisation | None = None
        self._plan_rows = 0  # rows of ``numbers`` before the authorisation's rows
        self.runner = TaskRunner(self)
        self.runner.finished.connect(self._on_planned)
        self.runner.failed.connect(self._on_failed)
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Plan preview"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.patient_banner = PatientUseBanner()
        layout.addWidget(self.patient_banner)
        row = QHBoxLayout()
        left = QVBoxLayout()
        group = QGroupBox(self.tr("Batch"))
        self.summary = QFormLayout(group)
        self.summary.addRow(QLabel(self.tr("No batch yet: complete New batch and press Next.")))
        left.addWidget(group)
        numbers = QGroupBox(self.tr("Plan"))
        self.numbers = QFormLayout(numbers)
        left.addWidget(numbers)
        self.lot_field = LotField()
        self.lot_field.setEnabled(False)
        self.lot_field.chosen.connect(self._on_lot)
        left.addWidget(self.lot_field)
        self.verified = QLabel()
        self.verified.setObjectName("entryVerified")
        self.verified.setWordWrap(True)
        self.verified.hide()
        left.addWidget(self.verified)
        self.status = QLabel()
        self.status.setWordWrap(True)
        left.addWidget(self.status)
        self.error = FieldError()
        left.addWidget(self.error)
        left.addStretch(1)
        row.addLayout(left, 1)
        row.addWidget(self._view_tabs(), 1)
        layout.addLayout(row, 1)
        footer = QHBoxLayout()
        footer.addWidget(self._check_group(), 1)  # full width when shown, before Print
        footer.addStretch(0)
        self.print_button = QPushButton(self.tr("&Print this batch  ›"))
        self.print_button.setObjectName("printButton")
        self.print_button.setEnabled(False)
        self.print_button.clicked.connect(self._on_print)
        footer.addWidget(self.print_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(footer)

    def _view_tabs(self) -> QTabWidget:
        self.view_tabs = QTabWidget()
        self.view_tabs.setObjectName("planViews")
        self.unit_view = UnitView()
        unit_hint = QLabel(
            self.tr("Drag or arrow keys: turn · wheel or + and - keys: zoom · Home: first view.")
        )
        unit_hint.setWordWrap(True)
        unit_tab = QWidget()
        unit_column = QVBoxLayout(unit_tab)
        unit_column.addWidget(self.unit_view, 1)
        unit_column.addWidget(unit_hint)
        self.view_tabs.addTab(unit_tab, self.tr("3-D unit"))
        layers_tab = QWidget()
        layers_tab.setLayout(self._layer_column())
        self.view_tabs.addTab(layers_tab, self.tr("Layers"))
        return self.view_tabs

    def _check_group(self) -> QGroupBox:
        """Second-person check: a pharmacist verifies the entry with their own ID and password."""
        self.check_group = group = QGroupBox(self.tr("Second-person check"))
        group.setObjectName("entryCheck")
        group.setToolTip(
            self.tr(
                "Needed before the batch may be given to a patient. The person who entered "
                "the batch cannot verify it; the check is recorded in the audit trail."
            )
        )
        column = QVBoxLayout(group)
        note = QLabel(
            self.tr(
                "A pharmacist checks the patient, prescription, dose calculation and units "
                "above, then enters their own user ID and password."
            )
        )
        note.setWordWrap(True)
        column.addWidget(note)
        self.verifier_id = QLineEdit()
        self.verifier_id.setObjectName("verifier_user")
        self.verifier_id.setAccessibleName(self.tr("Pharmacist's user ID"))
        self.verifier_id.setToolTip(self.tr("The pharmacist's own user ID, not yours"))
        self.verifier_password = QLineEdit()
        self.verifier_password.setObjectName("verifier_password")
        self.verifier_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.verifier_password.setAccessibleName(self.tr("Pharmacist's password"))
        self.verifier_password.setToolTip(self.tr("Enter verifies the entry"))
        self.verify_button = QPushButton(self.tr("&Verify entry"))
        self.verify_button.setObjectName("verifyEntryButton")
        self.verify_button.setAccessibleName(self.tr("Verify entry"))
        self.verify_button.setToolTip(
            self.tr("Record that the pharmacist verified this entry and dose (audited).")
        )
        self.verify_button.clicked.connect(self._verify)
        self.verifier_id.returnPressed.connect(lambda: self.verifier_password.setFocus())
        self.verifier_password.returnPressed.connect(self.verify_button.click)
        line = QHBoxLayout()
        for text, field in (
            (self.tr("Pharmacist's user &ID:"), self.verifier_id),
            (self.tr("Pharmacist's pass&word:"), self.verifier_password),
        ):
            label = QLabel(text)
            label.setBuddy(field)
            line.addWidget(label)
            line.addWidget(field, 1)
        line.addWidget(self.verify_button)
        column.addLayout(line)
        group.hide()
        return group

    def _layer_column(self) -> QVBoxLayout:
        column = QVBoxLayout()
        self.view = ToolpathView()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("layerSlider")
        self.slider.setEnabled(False)
        self.slider.setToolTip(self.tr("Choose the layer to show (arrow keys, Page Up/Down)"))
        self.layer_label = QLabel(self.tr("Layer —"))
        self.layer_label.setBuddy(self.slider)
        self.slider.valueChanged.connect(self._on_layer)
        legend = QLabel(
            self.tr("Coloured: outline (perimeters); dark: infill; faint: the layer below.")
        )
        legend.setWordWrap(True)
        column.addWidget(self.view, 1)
        column.addWidget(legend)
        column.addWidget(self.layer_label)
        column.addWidget(self.slider)
        return column

    def set_batch(self, form: DoseForm, preview: DosePreview) -> None:
        """Show the batch asked for and start planning it in the background."""
        self._clear(self.summary)
        self._clear(self.numbers)
        self.batch = None
        self.authorisation = None
        self.patient_banner.set_authorisation(None)
        self.print_button.setEnabled(False)
        self.lot_field.reset()
        self.lot_field.setEnabled(False)
        self._show_check(False)
        self.verified.clear()
        self.verified.hide()
        self.view.set_layers(())
        self.unit_view.set_mesh(None)
        self.slider.setEnabled(False)
        self.error.show_reason(None)
        result, recipe = preview.result, preview.recipe
        if result is None or recipe is None:
            return
        rows = (
            (self.tr("Patient:"), form.patient_id),
            (self.tr("Prescriber:"), form.prescriber),
            (self.tr("Recipe:"), f"{recipe.name} ({recipe.id})"),
            (self.tr("Dose per unit:"), " + ".join(format_mg(d) for d in result.unit_doses_mg)),
            (self.tr("How:"), "\n".join(describe_dose(result, flags=False)[1:])),
            (self.tr("Flags:"), flag_lines(result)[0].removeprefix("flags: ")),
            (self.tr("Units:"), str(form.units)),
        )
        self._fill(self.summary, rows)
        if self.runner.busy:
            self.runner.wait()
        self.status.setText(self.tr("Planning: sizing the unit and writing the G-code…"))
        self.runner.start(lambda: self._ws.plan(form, preview))

    @staticmethod
    def _clear(form: QFormLayout) -> None:
        while form.rowCount():
            form.removeRow(0)

    @staticmethod
    def _fill(form: QFormLayout, rows: tuple[tuple[str, str], ...]) -> None:
        for label, text in rows:
            value = QLabel(text)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, value)

    def _on_planned(self, batch: object) -> None:
        assert isinstance(batch, PlannedBatch)
        self.batch = batch
        plan = batch.plan
        dims = ", ".join(
            f"{k.removesuffix('_mm')} {v:.2f} mm" for k, v in plan.dimensions_mm.items()
        )
        rows = (
            (self.tr("Form:"), f"{plan.template}: {dims}"),
            (self.tr("Layers:"), f"{plan.layers} × {plan.layer_height_mm:g} mm"),
            (self.tr("Volume per unit:"), f"{plan.target_volume_mm3:.1f} mm³"),
            (self.tr("Ink per unit:"), f"{format_mass(plan.ink_mass_mg, exact=False)} mg"),
            self._weighing_row(plan),
            *(
                ()
                if plan.prediction is None
                else (
                    (
                        # an ink that dries: the text says whether wet or dried
                        self.tr("Predicted mass:")
                        if plan.prediction.dries
                        else self.tr("Predicted unit mass:"),
                        plan.prediction.text,
                    ),
                    (self.tr("Calibration:"), plan.prediction.calibration.label),
                )
            ),
            (
                self.tr("Units on the plate:"),
                self.tr("{n} (room for {cap})").format(n=plan.units, cap=plan.plate_capacity),
            ),
            (self.tr("Ink needed:"), plan.ink.summary()),
            (self.tr("Estimated time:"), _minutes(plan.estimated_time_s)),
            (self.tr("Warnings:"), "\n".join(plan.warnings) or self.tr("none")),
        )
        self._fill(self.numbers, rows)
        self._plan_rows = self.numbers.rowCount()
        self.status.setText(
            self.tr("Plan {id} ready; the written G-code was re-read and checked.").format(
                id=batch.batch_id
            )
        )
        self.unit_view.set_mesh(batch.mesh)
        self.view.set_layers(batch.layers)
        self.slider.setRange(0, max(0, len(batch.layers) - 1))
        self.slider.setValue(0)
        self.slider.setEnabled(len(batch.layers) > 1)
        self._on_layer(0)
        self.lot_field.setEnabled(True)
        self._authorise(batch)

    def _weighing_row(self, plan: PlanResult) -> tuple[str, str]:
        """What each unit is weighed against: in line, wet; an ink that dries also dried."""
        dried = f"{format_mass(plan.target_mass_mg, exact=False)} mg per unit"
        if plan.ink_mass_mg == plan.target_mass_mg:
            return self.tr("Weighing target:"), dried
        wet = format_mass(plan.ink_mass_mg, exact=False)
        return self.tr("Weighing target:"), self.tr(
            "{wet} mg per unit wet, in line; {dried} once dried (for release)"
        ).format(wet=wet, dried=dried)

    def _on_lot(self, text: str) -> None:
        """Check the typed or scanned lot and authorise the batch again with it."""
        if self.batch is None:
            return
        self.batch = replace(self.batch, lot=text or None)
        if text:
            self.lot_field.show_check(*self._ws.lots.check(self.batch, text))
        else:
            self.lot_field.reset()
        self.error.show_reason(None)
        self._authorise(self.batch)

    def _authorise(self, batch: PlannedBatch) -> None:
        """Ask locked mode before printing; show the library versions and any refusal.

        Called again after a second-person check: the rows it added last time are replaced.
        """
        while self.numbers.rowCount() > self._plan_rows:
            self.numbers.removeRow(self._plan_rows)
        self._show_check(False)
        if not self._ws.session.may(Operation.RUN_PRINT):
            self.print_button.setEnabled(False)
            self.print_button.setToolTip(self.tr("Your role may not print."))
            return
        try:
            authorisation = self._ws.authorise(batch)
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.authorisation = authorisation
        self.patient_banner.set_authorisation(authorisation)
        if authorisation.allowed:
            rows: tuple[tuple[str, str], ...] = (
                (self.tr("Recipe version:"), authorisation.recipe_line),
                (self.tr("Ink version:"), authorisation.ink_line),
                (self.tr("Use:"), authorisation.label),
            )
            if not authorisation.library_in_use:
                rows = rows[:1] + rows[2:]
            self._fill(self.numbers, rows)
            self._show_check(NOT_VERIFIED in authorisation.problems)
        elif (
            self.batch is not None and self.batch.lot and "ink lot" in (authorisation.refusal or "")
        ):
            self.status.setText(self.tr("This ink lot cannot be used: scan or type another."))
            self.error.show_reason(authorisation.refusal)
        else:
            self.status.setText(
                self.tr(
                    "Locked mode refuses to print this batch. A supervisor can validate and "
                    "lock the missing versions on the Library page."
                )
            )
            self.error.show_reason(authorisation.refusal)
        self.print_button.setEnabled(authorisation.allowed)
        self.print_button.setToolTip(
            "" if authorisation.allowed else self.tr("Refused by locked mode (see the reason).")
        )

    def _show_check(self, needed: bool) -> None:
        self.check_group.setVisible(needed)
        if not needed:
            self.verifier_id.clear()
            self.verifier_password.clear()

    def _verify(self) -> None:
        """The pharmacist's check: the service judges the credentials and the role."""
        password = self.verifier_password.text()
        self.verifier_password.clear()
        batch = self.batch
        if batch is None:
            return
        try:
            name = self._ws.verify_entry(batch, self.verifier_id.text().strip(), password)
        except PrintpharmError as exc:
            self.error.show_reason(self.tr("Not verified: {reason}").format(reason=exc))
            self.verifier_password.setFocus()
            return
        self.error.show_reason(None)
        self.verified.setText(self.tr("Verified by {name}.").format(name=name))
        self.verified.show()
        self._authorise(batch)
        if self.print_button.isEnabled():
            self.print_button.setFocus()

    def _on_failed(self, error: object) -> None:
        self.status.setText(self.tr("The plan was refused."))
        self.error.show_reason(str(error))
        self.unit_view.set_mesh(None)
        self._show_check(False)

    def _on_layer(self, index: int) -> None:
        if self.batch is None or not self.batch.layers:
            return
        layer = self.batch.layers[index]
        self.view.set_layer(index)
        self.layer_label.setText(
            self.tr("&Layer {n} of {total} — top at z = {z:.2f} mm").format(
                n=index + 1, total=len(self.batch.layers), z=layer.z_mm
            )
        )

    def _on_print(self) -> None:
        if self.batch is not None:
            self.print_requested.emit(self.batch)

"""Plan preview: the batch from the new-batch page, and its plan once planning exists."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from printpharm.services.workstation import (
    DoseForm,
    DosePreview,
    Workstation,
    describe_dose,
    format_mg,
)

__all__ = ["PlanPage"]


class PlanPage(QWidget):
    """Shows the prescription summary; the plan numbers and toolpaths when planning lands."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Plan preview"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        group = QGroupBox(self.tr("Batch"))
        self.summary = QFormLayout(group)
        self.empty = QLabel(self.tr("No batch yet: complete the New batch page and press Next."))
        self.empty.setWordWrap(True)
        self.summary.addRow(self.empty)
        layout.addWidget(group)
        self.status = QLabel()
        self.status.setObjectName("pendingReason")
        self.status.setWordWrap(True)
        self.status.setFrameShape(QLabel.Shape.StyledPanel)
        self.status.setMargin(12)
        layout.addWidget(self.status)
        layout.addStretch(1)
        reason = workstation.availability().get("planning")
        self.status.setText(
            self.tr("Not available yet: {reason}.").format(reason=reason) if reason else ""
        )
        self.status.setVisible(bool(reason))

    def set_batch(self, form: DoseForm, preview: DosePreview) -> None:
        """Show the batch the technician asked to plan."""
        while self.summary.rowCount():
            self.summary.removeRow(0)
        result, recipe = preview.result, preview.recipe
        if result is None or recipe is None:
            self.summary.addRow(QLabel(self.tr("No batch yet.")))
            return
        doses = " + ".join(format_mg(d) for d in result.unit_doses_mg)
        rows = (
            (self.tr("Patient:"), form.patient_id),
            (self.tr("Prescriber:"), form.prescriber),
            (self.tr("Recipe:"), f"{recipe.name} ({recipe.id})"),
            (self.tr("Dose per unit:"), doses),
            (self.tr("How:"), "; ".join(describe_dose(result))),
            (self.tr("Units:"), str(form.units)),
        )
        for label, text in rows:
            value = QLabel(text)
            value.setWordWrap(True)
            self.summary.addRow(label, value)

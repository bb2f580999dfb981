"""The patient-label controls of the History page: directions, patient, roll, format, print."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.services.station.equipment_desk import EquipmentDesk

__all__ = ["LabelControls"]


class LabelControls(QGroupBox):
    """Prints the selected batch's patient label as PDF (62/102 mm roll) or ZPL."""

    def __init__(
        self, desk: EquipmentDesk, selected: Callable[[], str | None], parent: QWidget | None = None
    ) -> None:
        super().__init__(self.tr("Patient label of the selected batch"), parent)
        self.setObjectName("labelControls")
        self.desk, self._selected = desk, selected
        form = QFormLayout(self)
        self.directions = QLineEdit()
        self.directions.setObjectName("labelDirections")
        self.directions.setPlaceholderText(self.tr("e.g. Chew one disc once daily after food"))
        self.patient = QLineEdit()
        self.patient.setObjectName("labelPatient")
        self.patient.setPlaceholderText(self.tr("pseudonym, if the batch records none"))
        self.roll = QComboBox()
        self.roll.setObjectName("labelWidth")
        self.roll.addItem(self.tr("62 mm roll"), 62)
        self.roll.addItem(self.tr("102 mm roll"), 102)
        self.format = QComboBox()
        self.format.setObjectName("labelFormat")
        self.format.addItem(self.tr("PDF"), "pdf")
        self.format.addItem(self.tr("ZPL (thermal printer)"), "zpl")
        self.print_button = QPushButton(self.tr("Print &label…"))
        self.print_button.setObjectName("labelButton")
        self.print_button.setToolTip(self.tr("Writes the label file; the printing is audited."))
        self.print_button.clicked.connect(self._choose)
        form.addRow(self.tr("Directions:"), self.directions)
        form.addRow(self.tr("Patient:"), self.patient)
        form.addRow(self.tr("Roll:"), self.roll)
        form.addRow(self.tr("Format:"), self.format)
        form.addRow(self.print_button)
        self.message = QLabel()
        self.message.setObjectName("labelMessage")
        self.message.setWordWrap(True)
        form.addRow(self.message)
        self.error = FieldError()
        form.addRow(self.error)

    def _choose(self) -> None:
        batch_id = self._selected()
        if batch_id is None:
            self.error.show_reason(self.tr("select a batch record first"))
            return
        fmt = str(self.format.currentData())
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save the label"), f"{batch_id}-label.{fmt}", f"{fmt.upper()} (*.{fmt})"
        )
        if path:
            self.write(Path(path))

    def write(self, path: Path) -> None:
        """Write the selected batch's label to ``path`` in the chosen format and width."""
        batch_id = self._selected()
        if batch_id is None:
            self.error.show_reason(self.tr("select a batch record first"))
            return
        try:
            result = self.desk.label(
                batch_id,
                str(self.format.currentData()),
                path,
                self.directions.text(),
                self.patient.text(),
                int(self.roll.currentData()),
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        c = result.content
        banner = f"{c.banner} — " if c.banner else ""
        note = f" ({c.units_note})" if c.units_note else ""
        self.message.setText(
            self.tr(
                "{banner}Label written to {path}: {units} units{note}, use before {bud}."
            ).format(
                banner=banner,
                path=result.path,
                units=c.units,
                note=note,
                bud=c.beyond_use.date.isoformat(),
            )
        )

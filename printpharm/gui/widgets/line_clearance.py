"""The line-clearance checklist the operator ticks before a recorded batch prints."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from printpharm.services.control.line_clearance import LineClearance
from printpharm.services.station.equipment_desk import CLEARANCE_ITEMS

__all__ = ["LineClearancePanel"]


class LineClearancePanel(QGroupBox):
    """Every item must be ticked; a second person signs in where the site wants one.

    Signals
    -------
    changed()
        An item was ticked or unticked.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Line clearance before printing"), parent)
        self.setObjectName("lineClearance")
        form = QFormLayout(self)
        self.boxes: dict[str, QCheckBox] = {}
        for key, text in CLEARANCE_ITEMS:
            box = QCheckBox(text.format(ink="—", lot="—"))
            box.setObjectName(f"clearance_{key}")
            box.toggled.connect(lambda _on: self.changed.emit())
            self.boxes[key] = box
            form.addRow(box)
        self.checker = QLineEdit()
        self.checker.setObjectName("clearanceChecker")
        self.checker.setPlaceholderText(
            self.tr("user ID (where the site requires a second person)")
        )
        self.password = QLineEdit()
        self.password.setObjectName("clearanceCheckerPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(QLabel(self.tr("Checked by:")), self.checker)
        form.addRow(QLabel(self.tr("Their password:")), self.password)

    def set_batch(self, ink: str, lot: str) -> None:
        """Name the batch's ink and lot in the checklist, and untick everything."""
        for key, text in CLEARANCE_ITEMS:
            self.boxes[key].setText(text.format(ink=ink, lot=lot))
            self.boxes[key].setChecked(False)
        self.password.clear()

    def complete(self) -> bool:
        """Whether every item is ticked."""
        return all(box.isChecked() for box in self.boxes.values())

    def clearance(self) -> LineClearance | None:
        """The clearance to record (``None`` until every item is ticked)."""
        if not self.complete():
            return None
        confirmed = tuple(key for key, box in self.boxes.items() if box.isChecked())
        checker = self.checker.text().strip() or None
        return LineClearance(confirmed, checker, self.password.text() if checker else None)

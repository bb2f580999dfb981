"""Training records (who is trained on what, until when) and the list of what is due."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError, error_colour
from printpharm.gui.widgets.tables import record_table
from printpharm.services.access.permissions import Operation
from printpharm.services.station.equipment_desk import SUBJECT_KINDS, EquipmentDesk

__all__ = ["DuePanel", "TrainingPanel"]

_COLUMNS = ("Person", "Kind", "Subject", "Trained on", "Trainer", "Valid until", "State")


class TrainingPanel(QWidget):
    """Training records; supervisors and administrators record new ones."""

    def __init__(self, desk: EquipmentDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "A role is given only to a person trained for it (TRN-01); a recorded batch needs "
                "its "
                "operator trained and in date for the recipe (or its ink) and the printer type."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = record_table(self, "training", _COLUMNS, accessible=self.tr("Training"))
        layout.addWidget(self.table, 1)
        group = QGroupBox(self.tr("Record a training"))
        self.add_group = group
        form = QFormLayout(group)
        self.person = QLineEdit()
        self.person.setObjectName("trainingPerson")
        self.person.setPlaceholderText(self.tr("user ID (the account may follow)"))
        self.kind = QComboBox()
        self.kind.setObjectName("trainingKind")
        for kind, meaning in SUBJECT_KINDS.items():
            self.kind.addItem(f"{kind} — {meaning}", kind)
        self.subject = QLineEdit()
        self.subject.setObjectName("trainingSubject")
        self.trained_on = QLineEdit()
        self.trained_on.setObjectName("trainingDate")
        self.trained_on.setPlaceholderText("YYYY-MM-DD")
        self.trainer = QLineEdit()
        self.trainer.setObjectName("trainingTrainer")
        self.expires = QLineEdit()
        self.expires.setObjectName("trainingExpires")
        self.expires.setPlaceholderText(self.tr("YYYY-MM-DD (default: the site's validity)"))
        self.add_button = QPushButton(self.tr("Record the &training"))
        self.add_button.setObjectName("addTraining")
        self.add_button.clicked.connect(self.add)
        for label, widget in (
            (self.tr("Person:"), self.person),
            (self.tr("Kind:"), self.kind),
            (self.tr("Subject:"), self.subject),
            (self.tr("Trained on:"), self.trained_on),
            (self.tr("Trainer:"), self.trainer),
            (self.tr("Valid until:"), self.expires),
        ):
            form.addRow(label, widget)
        form.addRow(self.add_button)
        layout.addWidget(group)
        self.message = QLabel()
        self.message.setObjectName("trainingMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.error = FieldError()
        layout.addWidget(self.error)

    def refresh(self) -> None:
        """Reload the records."""
        self.add_group.setEnabled(self.desk.may(Operation.RECORD_TRAINING))
        self.table.setRowCount(0)
        if not self.desk.may(Operation.VIEW_RECORDS):
            return
        try:
            rows = self.desk.training_rows()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (
                row.user_id,
                row.kind,
                row.subject,
                row.trained_on,
                row.trainer,
                row.expires_on,
                row.state,
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 6 and row.state != "in date":
                    item.setForeground(error_colour(self.palette()))
                self.table.setItem(r, c, item)

    def add(self) -> None:
        """Record the training entered."""
        try:
            entry = self.desk.add_training(
                self.person.text(),
                self.kind.currentData(),
                self.subject.text(),
                self.trained_on.text(),
                self.trainer.text(),
                self.expires.text(),
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self.message.setText(
            self.tr("{who} trained on {kind} {subject}, valid until {until}.").format(
                who=entry.user_id,
                kind=entry.subject_kind,
                subject=entry.subject,
                until=entry.expires_on,
            )
        )
        self.subject.clear()
        self.refresh()


class DuePanel(QWidget):
    """What is due and when: equipment and training (Administration)."""

    def __init__(self, desk: EquipmentDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Equipment due for calibration or maintenance (or out of service) and training "
                "expiring or expired, as of today. `printpharm doctor` lists the same."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = record_table(self, "due", ("What", "Who / which", "Due"), stretch=False)
        layout.addWidget(self.table, 1)
        self.empty = QLabel(self.tr("Nothing is due."))
        self.empty.setObjectName("nothingDue")
        layout.addWidget(self.empty)
        self.error = FieldError()
        layout.addWidget(self.error)

    def refresh(self) -> None:
        """Reload what is due."""
        self.table.setRowCount(0)
        if not self.desk.may(Operation.VIEW_RECORDS):
            self.empty.hide()
            return
        try:
            rows = self.desk.due_rows()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.empty.setVisible(not rows)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate((row.what, row.name, row.detail)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if row.severity == "fail":
                    item.setForeground(error_colour(self.palette()))
                self.table.setItem(r, c, item)

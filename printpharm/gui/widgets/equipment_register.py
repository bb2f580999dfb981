"""Equipment — the register: devices and their status today, adding one, qualifying and upkeep."""

from __future__ import annotations

from PySide6.QtCore import Qt
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
from printpharm.services.station.equipment_desk import EquipmentDesk, EquipmentRow

__all__ = ["EquipmentRegisterPanel"]

_COLUMNS = ("Asset tag", "Kind", "Model", "Serial / UUID", "Location", "Next due", "Status today")


def _line(name: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    return edit


class EquipmentRegisterPanel(QWidget):
    """The register table; administrators add devices, pharmacists sign qualification."""

    def __init__(self, desk: EquipmentDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self._rows: list[EquipmentRow] = []
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "A recorded batch uses only equipment that is qualified (IQ/OQ/PQ approved by a "
                "pharmacist's e-signature), calibrated and maintained in time, and identifies "
                "itself "
                "as registered. Select a row to act on it."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = record_table(self, "equipment", _COLUMNS, accessible=self.tr("Equipment"))
        self.table.cellClicked.connect(lambda row, _col: self._pick(row))
        layout.addWidget(self.table, 1)
        layout.addWidget(self._actions())
        layout.addWidget(self._add_group())
        self.message = QLabel()
        self.message.setObjectName("equipmentMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.error = FieldError()
        layout.addWidget(self.error)

    def _actions(self) -> QGroupBox:
        group = QGroupBox(self.tr("Selected device"))
        form = QFormLayout(group)
        self.tag = _line("equipmentTag", self.tr("asset tag (pick a row)"))
        self.action = QComboBox()
        self.action.setObjectName("equipmentAction")
        for key, text in (
            ("IQ", "Approve IQ (e-signature)"),
            ("OQ", "Approve OQ (e-signature)"),
            ("PQ", "Approve PQ (e-signature)"),
            ("calibration", "Record a calibration"),
            ("maintenance", "Record preventive maintenance"),
            ("suspend", "Take out of service"),
            ("reinstate", "Return to service (e-signature)"),
            ("retire", "Retire (e-signature)"),
        ):
            self.action.addItem(self.tr(text), key)
        self.day = _line("equipmentDate", "YYYY-MM-DD")
        self.document = _line("equipmentDocument", self.tr("protocol, certificate or reason"))
        self.password = _line("equipmentPassword", self.tr("your password, to sign"))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.apply_button = QPushButton(self.tr("&Record"))
        self.apply_button.setObjectName("equipmentApply")
        self.apply_button.clicked.connect(self.apply)
        form.addRow(self.tr("Asset &tag:"), self.tag)
        form.addRow(self.tr("&Action:"), self.action)
        form.addRow(self.tr("&Date:"), self.day)
        form.addRow(self.tr("D&ocument / reason:"), self.document)
        form.addRow(self.tr("&Password:"), self.password)
        form.addRow(self.apply_button)
        return group

    def _add_group(self) -> QGroupBox:
        self.add_group = group = QGroupBox(self.tr("Register a device (administrator, pharmacist)"))
        form = QFormLayout(group)
        self.kind = QComboBox()
        self.kind.setObjectName("newKind")
        for kind in ("printer", "print_head", "balance"):
            self.kind.addItem(kind.replace("_", " "), kind)
        self.new_tag = _line("newTag", self.tr("the site's asset tag, e.g. PR-01"))
        self.serial = _line("newSerial", self.tr("printer: M115 UUID; balance: I4 serial"))
        self.model = _line("newModel", self.tr("printer: MACHINE_TYPE; balance: I2 model"))
        self.firmware = _line("newFirmware", self.tr("printer: FIRMWARE_NAME (optional)"))
        self.location = _line("newLocation", self.tr("room (optional)"))
        self.printer_type = _line("newPrinterType", self.tr("e.g. marlin-sse (optional)"))
        self.mounted_on = _line("newMountedOn", self.tr("print head: printer's tag"))
        self.add_button = QPushButton(self.tr("Re&gister"))
        self.add_button.setObjectName("equipmentAdd")
        self.add_button.clicked.connect(self.add)
        for label, widget in (
            (self.tr("Kind:"), self.kind),
            (self.tr("Asset tag:"), self.new_tag),
            (self.tr("Serial / UUID:"), self.serial),
            (self.tr("Model:"), self.model),
            (self.tr("Firmware:"), self.firmware),
            (self.tr("Location:"), self.location),
            (self.tr("Printer type:"), self.printer_type),
            (self.tr("Mounted on:"), self.mounted_on),
        ):
            form.addRow(label, widget)
        form.addRow(self.add_button)
        return group

    def refresh(self) -> None:
        """Reload the register."""
        self.add_group.setEnabled(self.desk.may(Operation.MANAGE_EQUIPMENT))
        self.table.setRowCount(0)
        if not self.desk.may(Operation.VIEW_RECORDS):
            return
        try:
            self._rows = self.desk.rows()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.table.setRowCount(len(self._rows))
        for r, row in enumerate(self._rows):
            cells = (
                row.tag,
                row.kind.replace("_", " "),
                row.model,
                row.serial,
                row.location,
                row.next_due,
                row.status,
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if c == 6 and row.state != "qualified":
                    item.setForeground(error_colour(self.palette()))
                self.table.setItem(r, c, item)

    def _pick(self, index: int) -> None:
        if 0 <= index < len(self._rows):
            self.tag.setText(self._rows[index].tag)

    def _done(self, text: str) -> None:
        self.error.show_reason(None)
        self.message.setText(text)
        self.password.clear()
        self.refresh()

    def add(self) -> None:
        """Register the device entered."""
        try:
            row = self.desk.add(
                self.kind.currentData(),
                self.new_tag.text(),
                self.serial.text(),
                self.model.text(),
                self.firmware.text(),
                self.location.text(),
                self.printer_type.text(),
                self.mounted_on.text(),
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        for edit in (self.new_tag, self.serial, self.model, self.firmware, self.mounted_on):
            edit.clear()
        self._done(self.tr("{tag} registered: {status}.").format(tag=row.tag, status=row.status))

    def apply(self) -> None:
        """Record the chosen action on the selected device."""
        tag, action = self.tag.text().strip(), self.action.currentData()
        doc, day, pw = self.document.text(), self.day.text(), self.password.text()
        d = self.desk
        try:
            if action in ("IQ", "OQ", "PQ"):
                row = d.qualify(tag, action, day, doc, pw)
            elif action in ("calibration", "maintenance"):
                row = d.maintain(tag, action, day, doc)
            elif action == "suspend":
                row = d.suspend(tag, doc)
            elif action == "reinstate":
                row = d.reinstate(tag, doc, pw)
            else:
                row = d.retire(tag, doc, pw)
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            self.password.clear()
            return
        self._done(
            self.tr("{tag}: {action} recorded — {status}.").format(
                tag=row.tag, action=self.action.currentText(), status=row.status
            )
        )

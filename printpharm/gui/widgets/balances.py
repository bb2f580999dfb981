"""Administration — registered balances: calibration, validity, and registering one."""

from __future__ import annotations

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QDateEdit,
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
from printpharm.services.station.workstation import BalanceRow, Workstation

__all__ = ["BalancesPanel"]

_COLUMNS = ("Serial number", "Model", "Calibrated", "Valid until", "Status")
_ISO = "yyyy-MM-dd"


class BalancesPanel(QWidget):
    """Registered balances (read-only for other roles); administrators register them."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._rows: list[BalanceRow] = []
        self._dated = False
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Recorded batches weigh only on a registered balance with a valid calibration; "
                "the built-in simulator is for training."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.validity = QLabel()
        self.validity.setObjectName("calibrationValidity")
        self.validity.setWordWrap(True)
        layout.addWidget(self.validity)
        self.table = record_table(
            self, "balances", _COLUMNS, stretch=True, accessible=self.tr("Registered balances")
        )
        self.table.cellClicked.connect(lambda row, _col: self._pick(row))
        self.table.cellActivated.connect(lambda row, _col: self._pick(row))
        layout.addWidget(self.table, 1)
        self.empty = QLabel(self.tr("No balance is registered yet."))
        self.empty.setObjectName("noBalances")
        layout.addWidget(self.empty)
        self.read_only = QLabel(self.tr("Only an administrator registers balances."))
        self.read_only.setObjectName("balancesReadOnly")
        layout.addWidget(self.read_only)
        layout.addWidget(self._register_group())
        self.message = QLabel()
        self.message.setObjectName("balancesMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.error = FieldError()
        layout.addWidget(self.error)

    def _register_group(self) -> QGroupBox:
        title = self.tr("Register a balance or its new calibration")
        self.register_group = group = QGroupBox(title)
        group.setObjectName("balanceRegister")
        form = QFormLayout(group)
        self.serial = QLineEdit()
        self.serial.setObjectName("balanceSerial")
        self.serial.setAccessibleName(self.tr("Serial number"))
        self.serial.setPlaceholderText(self.tr("as the balance reports it (I4), e.g. 1126493049"))
        self.model = QLineEdit()
        self.model.setObjectName("balanceModel")
        self.model.setAccessibleName(self.tr("Model"))
        self.model.setPlaceholderText(self.tr("e.g. XS205 DualRange (optional)"))
        self.calibrated = QDateEdit()
        self.calibrated.setObjectName("balanceCalibrated")
        self.calibrated.setAccessibleName(self.tr("Calibration date"))
        self.calibrated.setCalendarPopup(True)
        self.calibrated.setDisplayFormat(_ISO)
        self.calibrated.setToolTip(
            self.tr("Date of the last calibration (certificate date); not in the future.")
        )
        self.register_button = QPushButton(self.tr("&Register balance"))
        self.register_button.setObjectName("registerBalanceButton")
        self.register_button.setToolTip(
            self.tr(
                "Register a new serial number, or record a new calibration date for a "
                "registered one (audited)."
            )
        )
        self.register_button.clicked.connect(self.register)
        form.addRow(self.tr("Serial &number:"), self.serial)
        form.addRow(self.tr("&Model:"), self.model)
        form.addRow(self.tr("Calibrated &on:"), self.calibrated)
        form.addRow(self.register_button)
        return group

    # -- state ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the balances and today's limit on the calibration date."""
        session = self._ws.session
        allowed = self._ws.site.may_configure()
        self.register_group.setEnabled(allowed)
        self.register_group.setToolTip("" if allowed else self.read_only.text())
        self.read_only.setVisible(not allowed)
        self.table.setRowCount(0)
        self._rows = []
        self.empty.hide()
        if not session.may(Operation.VIEW_RECORDS):
            self.validity.clear()
            return
        site = self._ws.site
        today = site.today()
        qtoday = QDate(today.year, today.month, today.day)
        self.calibrated.setMaximumDate(qtoday)
        if not self._dated:  # start at today; the administrator picks the certificate's date
            self.calibrated.setDate(qtoday)
            self._dated = True
        try:
            days = site.calibration_validity_days()
            self._rows = site.balances()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.validity.setText(
            self.tr(
                "A calibration stays valid for {days} days (site setting "
                "devices.balance_calibration_valid_days). Today is {today}."
            ).format(days=days, today=today.isoformat())
        )
        self.empty.setVisible(not self._rows)
        self.table.setRowCount(len(self._rows))
        for r, row in enumerate(self._rows):
            status = self.tr("valid") if row.valid else self.tr("EXPIRED")
            cells = (row.serial, row.model or "—", _iso(row.calibrated), _iso(row.due), status)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 4 and not row.valid:
                    item.setForeground(error_colour(self.palette()))
                    item.setToolTip(self.tr("Recalibrate, then record the new date below."))
                self.table.setItem(r, c, item)

    def _pick(self, index: int) -> None:
        """Fill the serial number and model from a row (to record a new calibration)."""
        if 0 <= index < len(self._rows):
            self.serial.setText(self._rows[index].serial)
            self.model.setText(self._rows[index].model)

    # -- register ------------------------------------------------------------------------------

    def register(self) -> None:
        """Register the balance entered, or record its new calibration date."""
        calibrated = self.calibrated.date().toString(_ISO)
        known = {r.serial for r in self._rows}
        try:
            row = self._ws.site.register_balance(self.serial.text(), self.model.text(), calibrated)
        except PrintpharmError as exc:
            self.message.clear()
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self.refresh()
        state = self.tr("valid until {due}") if row.valid else self.tr("EXPIRED on {due}")
        done = (
            self.tr("New calibration of balance {serial} recorded")
            if row.serial in known
            else self.tr("Balance {serial} registered")
        )
        self.message.setText(
            self.tr("{done}: calibrated {calibrated}, {state}.").format(
                done=done.format(serial=row.serial),
                calibrated=_iso(row.calibrated),
                state=state.format(due=_iso(row.due)),
            )
        )
        self.serial.clear()
        self.model.clear()


def _iso(day: object) -> str:
    return "—" if day is None else str(day)

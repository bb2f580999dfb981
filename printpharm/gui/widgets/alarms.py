"""The alarm list of one batch (or of the station): each alarm, who acknowledged it, and
Acknowledge.

An alarm nobody acknowledged shows in the error colour; review, release and
rejection of the batch wait for it. Acknowledge asks for a reason and the
logged-in user's password again (the services check both and audit it). The
station's alarms (no batch: lockouts, a broken audit chain, break-glass) are
listed on the Administration page and acknowledged by supervisors and
administrators.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError, error_colour
from printpharm.services.access.permissions import Operation
from printpharm.services.run.alarm_acks import BatchAlarm
from printpharm.services.station.workstation import StationSession

__all__ = ["AlarmPanel", "AlarmsDialog"]

_COLUMNS = ("#", "Raised (UTC)", "Kind", "Action", "Message", "Acknowledgement")


class AlarmPanel(QGroupBox):
    """The alarms of one batch with their acknowledgements; emits ``changed`` after one.

    ``station=True``: the alarms of no batch instead (:meth:`set_batch` is not used).
    """

    changed = Signal()

    def __init__(
        self, session: StationSession, parent: QWidget | None = None, *, station: bool = False
    ) -> None:
        title = (
            self.tr("Alarms of the station (no batch)")
            if station
            else self.tr("Alarms of the batch")
        )
        super().__init__(title, parent)
        self.setObjectName("stationAlarmPanel" if station else "alarmPanel")
        self._session = session
        self.station = station
        self._operation = (
            Operation.ACKNOWLEDGE_STATION_ALARM if station else Operation.ACKNOWLEDGE_ALARM
        )
        self.batch_id: str | None = None
        self.alarms: list[BatchAlarm] = []
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("alarmSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setObjectName("alarms")
        columns = [self.tr(c) for c in _COLUMNS]
        if station:  # what the station's alarms carry is a severity, not a run's action
            columns[3] = self.tr("Severity")
        self.table.setHorizontalHeaderLabels(columns)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column in (4, 5):  # the message and the acknowledgement take the room left
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.itemSelectionChanged.connect(self._enable)
        layout.addWidget(self.table, 1)
        layout.addLayout(self._form())
        self.error = FieldError()
        layout.addWidget(self.error)
        self.set_batch(None)

    def _form(self) -> QFormLayout:
        form = QFormLayout()
        self.reason = QLineEdit()
        self.reason.setObjectName("ackReason")
        self.reason.setPlaceholderText(
            self.tr("why, and what was done (e.g. identity confirmed, account unlocked)")
            if self.station
            else self.tr("why, and what was done (e.g. nozzle purged)")
        )
        self.password = QLineEdit()
        self.password.setObjectName("ackPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("your password again"))
        row = QHBoxLayout()
        self.ack_button = QPushButton(self.tr("&Acknowledge the selected alarm"))
        self.ack_button.setObjectName("ackButton")
        self.ack_button.setToolTip(
            self.tr("Recorded with your name, the time and the reason; it cannot be undone.")
        )
        self.ack_button.clicked.connect(self.acknowledge)
        row.addWidget(self.ack_button)
        row.addStretch(1)
        form.addRow(self.tr("&Reason:"), self.reason)
        form.addRow(self.tr("Pass&word:"), self.password)
        form.addRow(row)
        self.reason.textChanged.connect(self._enable)
        return form

    def set_batch(self, batch_id: str | None) -> None:
        """Show the alarms of ``batch_id`` (``None``: nothing)."""
        self.batch_id = batch_id
        self.refresh()

    def refresh(self) -> None:
        """Reload the alarms from the records."""
        self.error.show_reason(None)
        self.alarms = []
        if self.station or self.batch_id is not None:
            try:
                self.alarms = (
                    self._session.station_alarms()
                    if self.station
                    else self._session.batch_alarms(self.batch_id or "")
                )
            except PrintpharmError as exc:
                self.error.show_reason(str(exc))
        self._fill()
        waiting = self.unacknowledged()
        if self.station:
            text = self._station_summary(waiting)
        elif self.batch_id is None:
            text = self.tr("No batch selected.")
        elif not self.alarms:
            text = self.tr("Batch {id} raised no alarm.").format(id=self.batch_id)
        elif waiting:
            text = self.tr(
                "Batch {id}: {n} alarm(s), {open} not acknowledged: select each, give the reason "
                "and your password. Review and release wait until every alarm is acknowledged."
            ).format(id=self.batch_id, n=len(self.alarms), open=waiting)
        else:
            text = self.tr("Batch {id}: {n} alarm(s), every one acknowledged.").format(
                id=self.batch_id, n=len(self.alarms)
            )
        self.summary.setText(text)
        if waiting:  # select the first alarm still open, ready to acknowledge
            first = next(i for i, a in enumerate(self.alarms) if not a.acknowledged)
            self.table.selectRow(first)
        self._enable()

    def _station_summary(self, waiting: int) -> str:
        if not self.alarms:
            return self.tr("The station raised no alarm outside a batch.")
        if not waiting:
            return self.tr("{n} alarm(s) of the station, every one acknowledged.").format(
                n=len(self.alarms)
            )
        who = (
            self.tr("select each, give the reason and your password.")
            if self._session.may(self._operation)
            else self.tr("a supervisor or an administrator acknowledges them.")
        )
        return self.tr("{n} alarm(s) of the station, {open} not acknowledged: {who}").format(
            n=len(self.alarms), open=waiting, who=who
        )

    def unacknowledged(self) -> int:
        """How many of the shown alarms nobody has acknowledged."""
        return sum(not a.acknowledged for a in self.alarms)

    def _fill(self) -> None:
        self.table.setRowCount(len(self.alarms))
        colour = error_colour(self.palette())
        for row, alarm in enumerate(self.alarms):
            cells = (
                str(alarm.alarm_id),
                alarm.raised_at.strftime("%Y-%m-%d %H:%M:%S"),
                alarm.label,
                alarm.severity,
                alarm.message,
                alarm.ack_text(),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if not alarm.acknowledged:
                    item.setForeground(colour)
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()

    def selected(self) -> BatchAlarm | None:
        """The selected alarm, if any."""
        row = self.table.currentRow()
        return self.alarms[row] if 0 <= row < len(self.alarms) else None

    def _enable(self) -> None:
        alarm = self.selected()
        may = self._session.may(self._operation)
        ready = alarm is not None and alarm.ack is None and may
        for widget in (self.reason, self.password):
            widget.setEnabled(ready)
        self.ack_button.setEnabled(ready and bool(self.reason.text().strip()))

    def acknowledge(self) -> None:
        """Acknowledge the selected alarm with the reason and password typed."""
        alarm = self.selected()
        if alarm is None or (self.batch_id is None and not self.station):
            return
        try:
            self._session.acknowledge_alarm(
                None if self.station else self.batch_id,
                alarm.alarm_id,
                self.reason.text(),
                self.password.text(),
            )
        except PrintpharmError as exc:
            self.password.clear()
            self.error.show_reason(str(exc))
            return
        self.password.clear()
        self.reason.clear()
        self.refresh()
        self.changed.emit()


class AlarmsDialog(QDialog):
    """The alarm list of one batch in a window of its own (from the History page)."""

    def __init__(
        self, session: StationSession, batch_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("alarmsDialog")
        self.setWindowTitle(self.tr("Alarms of batch {id}").format(id=batch_id))
        layout = QVBoxLayout(self)
        self.panel = AlarmPanel(session)
        layout.addWidget(self.panel, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.panel.set_batch(batch_id)
        self.resize(900, 420)

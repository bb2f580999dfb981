"""The question a ``pause`` alarm asks at the printer: acknowledge and continue, or abort.

A recorded batch goes on only once the alarm is acknowledged: the operator gives
the reason and their password again, and the services record it (name, time,
reason) before the run is told to continue. A refusal (no reason, wrong
password) is shown here and the run keeps waiting.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.services.run.result import AlarmRecord, OperatorDecision
from printpharm.services.station.workstation import StationSession

__all__ = ["PausePanel"]


class PausePanel(QFrame):
    """Shown while a run waits on a ``pause`` alarm; emits ``answered(OperatorDecision)``."""

    answered = Signal(object)

    def __init__(self, session: StationSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pausePanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._session = session
        self.batch_id: str | None = None
        grid = QGridLayout(self)
        self.label = QLabel()
        self.label.setObjectName("pauseLabel")
        self.label.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setObjectName("pauseReason")
        self.reason.setPlaceholderText(self.tr("reason for going on (e.g. nozzle purged)"))
        self.password = QLineEdit()
        self.password.setObjectName("pausePassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("your password again"))
        self.continue_button = QPushButton(self.tr("Acknowledge and &continue"))
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setToolTip(
            self.tr("The acknowledgement is recorded with your name, the time and the reason.")
        )
        self.abort_button = QPushButton(self.tr("&Abort the run"))
        self.abort_button.setObjectName("abortButton")
        self.continue_button.clicked.connect(self.continue_run)
        self.abort_button.clicked.connect(lambda: self._answer(OperatorDecision.ABORT))
        self.error = FieldError()
        grid.addWidget(self.label, 0, 0, 1, 4)
        grid.addWidget(QLabel(self.tr("&Reason:")), 1, 0)
        grid.addWidget(self.reason, 1, 1)
        grid.addWidget(QLabel(self.tr("Pass&word:")), 1, 2)
        grid.addWidget(self.password, 1, 3)
        grid.addWidget(self.continue_button, 2, 2)
        grid.addWidget(self.abort_button, 2, 3)
        grid.addWidget(self.error, 3, 0, 1, 4)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 1)
        for label in self.findChildren(QLabel):
            if label.text() == self.tr("&Reason:"):
                label.setBuddy(self.reason)
            elif label.text() == self.tr("Pass&word:"):
                label.setBuddy(self.password)
        self.hide()

    def ask(self, alarm: AlarmRecord, batch_id: str | None) -> None:
        """Show the alarm of the paused run of ``batch_id`` and wait for the operator."""
        self.batch_id = batch_id
        self.label.setText(
            self.tr(
                "PAUSED: {message}\nTo go on, acknowledge the alarm: the reason and your "
                "password are recorded with your name."
            ).format(message=alarm.message)
        )
        self.reason.clear()
        self.password.clear()
        self.error.show_reason(None)
        self.show()
        self.reason.setFocus()

    def continue_run(self) -> None:
        """Acknowledge the alarm the run waits on, then answer *continue*; or show the refusal."""
        if self.batch_id is not None:
            try:
                waiting = self._session.paused_alarm(self.batch_id)
                if waiting is not None:
                    self._session.acknowledge_alarm(
                        self.batch_id, waiting.alarm_id, self.reason.text(), self.password.text()
                    )
            except PrintpharmError as exc:
                self.password.clear()
                self.error.show_reason(str(exc))
                return
        self._answer(OperatorDecision.CONTINUE)

    def _answer(self, decision: OperatorDecision) -> None:
        self.password.clear()
        self.hide()
        self.answered.emit(decision)

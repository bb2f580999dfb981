"""Research mode: a supervisor unlocks it with a reason for a limited time; anyone may re-lock."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.services.access.permissions import Operation
from printpharm.services.station.workstation import Workstation

__all__ = ["ResearchPage"]


class ResearchPage(QWidget):
    """Status, unlock form and lock button. Emits ``mode_changed`` after an unlock or lock."""

    mode_changed = Signal()

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Research mode"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.status = QLabel()
        self.status.setObjectName("researchStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(self._unlock_group())
        self.lock_button = QPushButton(self.tr("&Return to locked mode now"))
        self.lock_button.setObjectName("lockButton")
        self.lock_button.clicked.connect(self._lock)
        layout.addWidget(self.lock_button)
        self.error = FieldError()
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.refresh()

    def _unlock_group(self) -> QGroupBox:
        self.unlock_group = group = QGroupBox(self.tr("Unlock (supervisor)"))
        form = QFormLayout(group)
        note = QLabel(
            self.tr(
                "Research mode allows doses and parameters outside the validated ranges. "
                "It is not for patient batches. Every action is audited with the reason."
            )
        )
        note.setWordWrap(True)
        form.addRow(note)
        self.user_id = QLineEdit()
        self.user_id.setObjectName("research_user")
        self.password = QLineEdit()
        self.password.setObjectName("research_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.reason = QLineEdit()
        self.reason.setObjectName("research_reason")
        self.reason.setPlaceholderText(self.tr("e.g. calibration of a new ink lot"))
        self.minutes = QSpinBox()
        self.minutes.setRange(1, 8 * 60)
        self.minutes.setValue(60)
        self.minutes.setSuffix(self.tr(" min"))
        self.unlock_button = QPushButton(self.tr("Un&lock research mode"))
        self.unlock_button.setObjectName("unlockButton")
        self.unlock_button.clicked.connect(self._unlock)
        form.addRow(self.tr("Supervisor &user ID:"), self.user_id)
        form.addRow(self.tr("&Password:"), self.password)
        form.addRow(self.tr("&Reason:"), self.reason)
        form.addRow(self.tr("&Duration:"), self.minutes)
        form.addRow(self.unlock_button)
        return group

    def refresh(self) -> None:
        """Show the current mode and enable what the logged-in role may do."""
        session = self._ws.session
        status = self._ws.mode_status()
        if status.research and status.until is not None:
            self.status.setText(
                self.tr(
                    "Research mode is ON until {until} ({left} min left), unlocked by {who}: "
                    "{reason}"
                ).format(
                    until=status.until.strftime("%H:%M"),
                    left=max(1, status.remaining_s // 60),
                    who=status.unlocked_by,
                    reason=status.reason,
                )
            )
        else:
            self.status.setText(self.tr("Locked mode: validated recipes and ranges only."))
        if session.services is not None:
            self.minutes.setMaximum(max(1, session.services.auth.config.max_research_s // 60))
        may_unlock = session.may(Operation.UNLOCK_RESEARCH) and not status.research
        self.unlock_group.setEnabled(may_unlock)
        self.unlock_group.setToolTip(
            "" if session.may(Operation.UNLOCK_RESEARCH) else self.tr("Supervisors only.")
        )
        self.lock_button.setEnabled(status.research and session.may(Operation.LOCK_RESEARCH))

    def _unlock(self) -> None:
        try:
            self._ws.session.unlock_research(
                self.user_id.text().strip(),
                self.password.text(),
                self.reason.text(),
                self.minutes.value(),
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
        else:
            self.error.show_reason(None)
            self.reason.clear()
        self.password.clear()
        self.refresh()
        self.mode_changed.emit()

    def _lock(self) -> None:
        try:
            self._ws.session.lock_research()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
        self.refresh()
        self.mode_changed.emit()

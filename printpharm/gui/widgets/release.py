"""Release or reject a printed batch with an electronic signature (user ID and password again)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.services.access.accounts import SIGNATURE_STATEMENT
from printpharm.services.access.permissions import Operation
from printpharm.services.station.workstation import StationSession

__all__ = ["ReleasePanel"]


class ReleasePanel(QGroupBox):
    """Review, release or reject the batch record in the database with an e-signature.

    The batch-records service checks everything: the printer may not sign, a
    release needs a valid review by another person, roles are enforced.
    """

    def __init__(self, session: StationSession, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Review and release (electronic signatures)"), parent)
        self._session = session
        self._batch_id: str | None = None
        self._author: str | None = None
        form = QFormLayout(self)
        self.status = QLabel(self.tr("No printed batch yet."))
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self.meaning = QComboBox()
        self.user_id = QLineEdit()
        self.user_id.setObjectName("sign_user")
        self.password = QLineEdit()
        self.password.setObjectName("sign_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.comment = QLineEdit()
        self.comment.setPlaceholderText(self.tr("optional comment"))
        form.addRow(self.tr("&Decision:"), self.meaning)
        form.addRow(self.tr("Your user &ID:"), self.user_id)
        form.addRow(self.tr("Pass&word:"), self.password)
        form.addRow(self.tr("Co&mment:"), self.comment)
        row = QHBoxLayout()
        self.sign_button = QPushButton(self.tr("&Sign"))
        self.sign_button.setObjectName("signButton")
        self.sign_button.clicked.connect(self.sign)
        self.ack_button = QPushButton(self.tr("Ac&knowledge the signature statement"))
        self.ack_button.setToolTip(SIGNATURE_STATEMENT)
        self.ack_button.clicked.connect(self.acknowledge)
        row.addWidget(self.sign_button)
        row.addWidget(self.ack_button)
        form.addRow(row)
        self.signed = QLabel()
        self.signed.setObjectName("manifestation")
        self.signed.setWordWrap(True)
        self.signed.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.signed)
        self.error = FieldError()
        form.addRow(self.error)
        self.refresh()

    def set_batch(
        self,
        batch_id: str,
        releasable: bool,
        author: str | None,
        verdict: str = "",
        *,
        not_for_patient: str | None = None,
    ) -> None:
        """Offer a printed batch for review and disposition (release only on a releasable QC).

        ``verdict`` is the QC verdict as recorded (e.g. ``pending_content_uniformity``);
        ``not_for_patient`` why the batch may never be released (a simulator, a
        research batch): then release is not offered, whatever the QC says.
        """
        self._batch_id, self._author = batch_id, author
        self.meaning.clear()
        self.meaning.addItem(self.tr("Reviewed: record and audit trail checked"), "reviewed")
        if releasable and not_for_patient is None:
            self.meaning.addItem(self.tr("Release for dispensing (needs a review)"), "released")
        self.meaning.addItem(self.tr("Reject"), "rejected")
        named = verdict.upper().replace("_", " ")
        if not_for_patient is not None:
            said = self.tr(
                "QC {verdict}, {link} NOT FOR PATIENT USE ({why}): it cannot be released; close "
                "it with Reject"
            ).format(
                verdict=named or ("passed" if releasable else "did not pass"),
                link=self.tr("but") if releasable else self.tr("not releasable, and"),
                why=not_for_patient,
            )
        elif releasable:
            said = self.tr("QC {verdict}, may be released").format(verdict=named or "passed")
        else:
            said = self.tr("QC {verdict}, not releasable").format(verdict=named or "did not pass")
        self.status.setText(
            self.tr("Batch {id} printed by {who}: {verdict}.").format(
                id=batch_id, who=author or "?", verdict=said
            )
        )
        self.signed.clear()
        self.refresh()

    def refresh(self) -> None:
        """Enable signing for a printed batch and a role that may release or reject."""
        user = self._session.user
        if user is not None and not self.user_id.text():
            self.user_id.setText(user.user_id)
        may = any(
            self._session.may(op)
            for op in (Operation.SIGN_REVIEWED, Operation.SIGN_RELEASED, Operation.SIGN_REJECTED)
        )
        ready = self._batch_id is not None and may
        for widget in (self.meaning, self.user_id, self.password, self.comment):
            widget.setEnabled(ready)
        self.sign_button.setEnabled(ready)
        if self.ack_button.isEnabled() or user is None:
            self.ack_button.setEnabled(user is not None)
        if self._batch_id is not None and not may:
            self.error.show_reason(self.tr("your role may not sign batch records"))

    def sign(self) -> None:
        """Sign with the chosen meaning; show the signature or the refusal."""
        if self._batch_id is None:
            return
        try:
            text = self._session.sign_batch(
                self._batch_id,
                str(self.meaning.currentData()),
                self.user_id.text().strip(),
                self.password.text(),
                self.comment.text().strip(),
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            self.password.clear()
            return
        self.error.show_reason(None)
        self.password.clear()
        previous = self.signed.text()
        self.signed.setText(f"{previous}\n{text}" if previous else text)

    def acknowledge(self) -> None:
        """Record the current user's acknowledgement of the signature statement."""
        try:
            self._session.acknowledge_signature(self.password.text())
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self.password.clear()
        self.ack_button.setText(self.tr("Statement acknowledged"))
        self.ack_button.setEnabled(False)

"""An electronic-signature dialog: user ID, password and comment re-entered for one act.

The dialog does not judge the signature: ``sign`` (a callable given by the page)
calls the service, which checks the credentials, the role and the record. A
refusal is shown in the dialog, which stays open so it can be corrected.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.services.access.accounts import SIGNATURE_STATEMENT

__all__ = ["SignatureDialog"]

#: ``sign(user_id, password, comment) -> manifestation text``; raises a PrintpharmError.
Signer = Callable[[str, str, str], str]


class SignatureDialog(QDialog):
    """Ask for a signature of ``what`` (e.g. "Lock recipe x v1"); ``manifestation`` once signed."""

    def __init__(
        self, what: str, sign: Signer, user_id: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Electronic signature"))
        self._sign = sign
        self.manifestation: str | None = None
        form = QFormLayout(self)
        heading = QLabel(what)
        heading.setObjectName("signatureWhat")
        heading.setWordWrap(True)
        form.addRow(heading)
        statement = QLabel(SIGNATURE_STATEMENT)
        statement.setWordWrap(True)
        form.addRow(statement)
        self.user_id = QLineEdit(user_id)
        self.user_id.setObjectName("sign_user")
        self.password = QLineEdit()
        self.password.setObjectName("sign_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.comment = QLineEdit()
        self.comment.setObjectName("sign_comment")
        self.comment.setPlaceholderText(self.tr("e.g. validation report number"))
        form.addRow(self.tr("Your user &ID:"), self.user_id)
        form.addRow(self.tr("Pass&word:"), self.password)
        form.addRow(self.tr("Co&mment:"), self.comment)
        self.error = FieldError()
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_button = buttons.addButton(
            self.tr("&Sign"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sign_button.setObjectName("signButton")
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(440)
        (self.password if user_id else self.user_id).setFocus(Qt.FocusReason.OtherFocusReason)

    def submit(self) -> None:
        """Sign through the service; close on success, show the refusal otherwise."""
        try:
            self.manifestation = self._sign(
                self.user_id.text().strip(), self.password.text(), self.comment.text().strip()
            )
        except PrintpharmError as exc:
            self.password.clear()
            self.error.show_reason(str(exc))
            return
        self.accept()

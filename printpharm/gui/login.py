"""Log in, unlock an idle-locked session, and change a temporary password.

The dialogs only collect credentials and hand them to
:class:`~printpharm.services.station.workstation.StationSession`; a refusal
(wrong password, locked account, password policy) is shown inline with the
service's own message and the dialog stays open.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import AuthError, InputError, StorageError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.services.station.workstation import StationSession, display_url

__all__ = ["ChangePasswordDialog", "LoginDialog"]


class LoginDialog(QDialog):
    """User ID and password. With ``locked_user`` it unlocks that user's idle-locked session."""

    def __init__(
        self,
        session: StationSession,
        locked_user: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._locked_user = locked_user
        self.setWindowTitle(self.tr("printpharm — log in"))
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Session locked after inactivity. {user}, re-enter your user ID and password."
            ).format(user=locked_user)
            if locked_user
            else self.tr("Log in with your personal user ID. Never share your password.")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.user_id = QLineEdit(locked_user or "")
        self.user_id.setObjectName("user_id")
        self.user_id.setToolTip(self.tr("Your personal user ID, e.g. a.weber"))
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("&User ID:"), self.user_id)
        form.addRow(self.tr("&Password:"), self.password)
        layout.addLayout(form)
        self.error = FieldError()
        layout.addWidget(self.error)
        database = QLabel(self.tr("Database: {url}").format(url=display_url(session.resolved_url)))
        database.setWordWrap(True)
        database.setToolTip(self.tr("Where batch records and the audit trail are stored."))
        layout.addWidget(database)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("&Unlock") if locked_user else self.tr("&Log in"))
        ok.setObjectName("loginButton")
        ok.setDefault(True)
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        (self.password if locked_user else self.user_id).setFocus()

    def try_login(self) -> None:
        """Check the credentials; accept on success, show the refusal otherwise."""
        try:
            if self._locked_user:
                self._session.unlock(self.user_id.text().strip(), self.password.text())
            else:
                if self._session.services is None and not self._session.open():
                    raise StorageError(self._session.open_error or "the database is not open")
                self._session.login(self.user_id.text(), self.password.text())
        except (AuthError, StorageError) as exc:
            self.error.show_reason(str(exc))
            self.password.clear()
            self.password.setFocus()
            return
        self.accept()


class ChangePasswordDialog(QDialog):
    """The current password and a new one, typed twice."""

    def __init__(self, session: StationSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.setWindowTitle(self.tr("Change your password"))
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Choose a new password: at least 12 characters, not a common password, "
                "not one you used before."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.old = QLineEdit()
        self.new = QLineEdit()
        self.again = QLineEdit()
        for edit in (self.old, self.new, self.again):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("&Current (or one-time) password:"), self.old)
        form.addRow(self.tr("&New password:"), self.new)
        form.addRow(self.tr("New password &again:"), self.again)
        layout.addLayout(form)
        self.error = FieldError()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.try_change)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def try_change(self) -> None:
        """Change the password; accept on success, show the refusal otherwise."""
        if self.new.text() != self.again.text():
            self.error.show_reason(self.tr("the two new passwords differ"))
            return
        try:
            self._session.change_password(self.old.text(), self.new.text())
        except (AuthError, InputError) as exc:
            self.error.show_reason(str(exc))
            return
        self.accept()

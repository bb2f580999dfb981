"""First run: choose the database and create the administrator account."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.services.station.workstation import StationSession, display_url

__all__ = ["FirstRunDialog"]


class FirstRunDialog(QDialog):
    """Database (default file or a PostgreSQL URL) and the first administrator.

    After ``exec()`` returns ``Accepted``, ``chosen_url`` is the URL to remember
    (``None`` for the default file).
    """

    def __init__(self, session: StationSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.chosen_url: str | None = None
        self.setWindowTitle(self.tr("printpharm — first start"))
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "No printpharm database with user accounts was found. Choose where batch "
                "records and the audit trail are kept, and create the administrator. The "
                "administrator manages accounts only; supervisors and technicians are added "
                "afterwards."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self._database_group())
        layout.addWidget(self._admin_group())
        self.error = FieldError()
        layout.addWidget(self.error)
        layout.addWidget(self._recovery_group())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        create = buttons.button(QDialogButtonBox.StandardButton.Ok)
        create.setText(self.tr("&Create"))
        create.setObjectName("createButton")
        self.create_button = create
        buttons.accepted.connect(self.try_create)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _database_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Database"))
        column = QVBoxLayout(group)
        self.use_default = QRadioButton(
            self.tr("&This computer only: {url}").format(
                url=display_url(self._session.resolved_url)
            )
        )
        self.use_server = QRadioButton(self.tr("A &PostgreSQL server shared by the pharmacy:"))
        choice = QButtonGroup(self)
        choice.addButton(self.use_default)
        choice.addButton(self.use_server)
        self.use_default.setChecked(True)
        self.server_url = QLineEdit()
        self.server_url.setObjectName("server_url")
        self.server_url.setPlaceholderText("postgresql+psycopg://user:password@host/printpharm")
        self.server_url.setEnabled(False)
        self.use_server.toggled.connect(self.server_url.setEnabled)
        for widget in (self.use_default, self.use_server, self.server_url):
            column.addWidget(widget)
        return group

    def _recovery_group(self) -> QGroupBox:
        """The break-glass recovery code, shown once after the database is made."""
        self.recovery = QGroupBox(self.tr("Recovery code — print it and seal it now"))
        column = QVBoxLayout(self.recovery)
        note = QLabel(
            self.tr(
                "This code is shown only once. Print it, seal it in an envelope and keep it in "
                "the safe. When no administrator can log in any more, it unlocks one "
                "administrator (printpharm users break-glass); its use raises a critical alarm."
            )
        )
        note.setWordWrap(True)
        self.recovery_code = QLabel()
        self.recovery_code.setObjectName("recoveryCode")
        self.recovery_code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recovery_code.setStyleSheet("font-family: monospace; font-size: 14pt; padding: 6px;")
        self.recovery_code.setAccessibleName(self.tr("Recovery code"))
        column.addWidget(note)
        column.addWidget(self.recovery_code)
        self.recovery.hide()
        return self.recovery

    def _admin_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Administrator"))
        form = QFormLayout(group)
        self.admin_id = QLineEdit()
        self.admin_id.setObjectName("admin_id")
        self.admin_id.setPlaceholderText(self.tr("e.g. admin.weber"))
        self.full_name = QLineEdit()
        self.full_name.setObjectName("full_name")
        self.password = QLineEdit()
        self.again = QLineEdit()
        for edit in (self.password, self.again):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("&User ID:"), self.admin_id)
        form.addRow(self.tr("&Full name:"), self.full_name)
        form.addRow(self.tr("Pass&word:"), self.password)
        form.addRow(self.tr("Password &again:"), self.again)
        return group

    def try_create(self) -> None:
        """Create the database and the administrator; show the refusal inline otherwise.

        Once created, the recovery code is shown and the button becomes "Continue":
        the dialog closes only after the person has seen the code.
        """
        if self.recovery.isVisible():
            self.accept()
            return
        if self.password.text() != self.again.text():
            self.error.show_reason(self.tr("the two passwords differ"))
            return
        url = self.server_url.text().strip() if self.use_server.isChecked() else None
        if self.use_server.isChecked() and not url:
            self.error.show_reason(self.tr("enter the PostgreSQL server URL"))
            return
        try:
            self._session.create_administrator(
                self.admin_id.text().strip(),
                self.full_name.text().strip(),
                self.password.text(),
                url,
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.chosen_url = url
        code = self._session.recovery_code
        if not code:
            self.accept()
            return
        self.error.show_reason(None)
        self.recovery_code.setText(code)
        self.recovery.show()
        self.adjustSize()  # room for the note: the dialog was laid out without it
        for widget in (self.admin_id, self.full_name, self.password, self.again):
            widget.setEnabled(False)
        self.password.clear()
        self.again.clear()
        self.create_button.setText(self.tr("I have printed and sealed it — &Continue"))

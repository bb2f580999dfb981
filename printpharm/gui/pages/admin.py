"""Administration: user accounts and roles, site settings, registered balances, what is due,
and the station's alarms (lockouts, audit chain, break-glass)."""

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
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.alarms import AlarmPanel
from printpharm.gui.widgets.balances import BalancesPanel
from printpharm.gui.widgets.feedback import FieldError
from printpharm.gui.widgets.site_settings import SiteSettingsPanel
from printpharm.gui.widgets.tables import record_table
from printpharm.gui.widgets.training import DuePanel
from printpharm.services.access.permissions import Operation, Role
from printpharm.services.station.equipment_desk import EquipmentDesk
from printpharm.services.station.workstation import Workstation

__all__ = ["AdminPage"]

_COLUMNS = ("User ID", "Name", "Role", "Active", "Locked", "Last login")


class AdminPage(QWidget):
    """Tabs: accounts (add, deactivate, unlock, reset), site settings, balances, due, alarms."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        page = QVBoxLayout(self)
        title = QLabel(self.tr("Administration"))
        title.setObjectName("pageTitle")
        page.addWidget(title)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("adminTabs")
        page.addWidget(self.tabs, 1)
        accounts = QWidget()
        layout = QVBoxLayout(accounts)
        self.settings = SiteSettingsPanel(workstation)
        self.balances = BalancesPanel(workstation)
        self.due = DuePanel(EquipmentDesk(workstation.session, workstation.config.balance_url))
        self.alarms = AlarmPanel(workstation.session, station=True)
        for widget, name, tip in (
            (accounts, self.tr("A&ccounts"), self.tr("User accounts and roles")),
            (self.settings, self.tr("&Site settings"), self.tr("Lockout, timeouts, passwords, "
             "balance calibration validity, Ph. Eur. 2.9.5 reading")),
            (self.balances, self.tr("&Balances"), self.tr("Registered balances and calibration")),
            (self.due, self.tr("&Due"), self.tr("Equipment and training due, and when")),
            (self.alarms, self.tr("Station alar&ms"), self.tr("Alarms of no batch: lockouts, "
             "audit chain, anchors, break-glass; acknowledged with a reason")),
        ):  # fmt: skip
            self.tabs.setTabToolTip(self.tabs.addTab(widget, name), tip)
        self.denied = QLabel(self.tr("Only administrators manage user accounts."))
        layout.addWidget(self.denied)
        self.table = record_table(self, "users", _COLUMNS, stretch=True, single=False)
        layout.addWidget(self.table, 1)
        layout.addLayout(self._actions())
        layout.addWidget(self._add_group())
        self.message = QLabel()
        self.message.setObjectName("adminMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.error = FieldError()
        layout.addWidget(self.error)
        self.refresh()

    def _actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(
            self.tr("reason, or how the identity was checked (required, audited)")
        )
        self.disable_button = QPushButton(self.tr("&Deactivate"))
        self.unlock_button = QPushButton(self.tr("Un&lock"))
        self.reset_button = QPushButton(self.tr("&Reset password"))
        self.verify_button = QPushButton(self.tr("&Verify identity"))
        self.verify_button.setToolTip(
            self.tr("Record how you checked this person's identity (enables e-signatures).")
        )
        self.verify_button.clicked.connect(lambda: self._act("verify"))
        self.disable_button.clicked.connect(lambda: self._act("disable"))
        self.unlock_button.clicked.connect(lambda: self._act("unlock"))
        self.reset_button.clicked.connect(lambda: self._act("reset"))
        row.addWidget(QLabel(self.tr("Selected account:")))
        row.addWidget(self.reason, 1)
        for button in self._buttons():
            row.addWidget(button)
        return row

    def _buttons(self) -> tuple[QPushButton, ...]:
        return (self.disable_button, self.unlock_button, self.reset_button, self.verify_button)

    def _add_group(self) -> QGroupBox:
        self.add_group = group = QGroupBox(self.tr("Add an account"))
        form = QFormLayout(group)
        self.new_id = QLineEdit()
        self.new_id.setObjectName("new_user_id")
        self.new_name = QLineEdit()
        self.new_name.setObjectName("new_full_name")
        self.new_role = QComboBox()
        for role in (Role.TECHNICIAN, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMINISTRATOR):
            self.new_role.addItem(role.value, role.value)
        self.add_button = QPushButton(self.tr("&Add account"))
        self.add_button.setObjectName("addUserButton")
        self.add_button.clicked.connect(self._add)
        form.addRow(self.tr("User &ID:"), self.new_id)
        form.addRow(self.tr("Full &name:"), self.new_name)
        form.addRow(self.tr("R&ole:"), self.new_role)
        form.addRow(self.add_button)
        return group

    def refresh(self) -> None:
        """Reload the accounts (if the user may manage them), the settings and the balances."""
        self.settings.refresh()
        self.balances.refresh()
        self.due.refresh()
        self.alarms.refresh()
        allowed = self._ws.session.may(Operation.MANAGE_USERS)
        self.denied.setVisible(not allowed)
        for widget in (self.table, self.add_group, self.reason):
            widget.setEnabled(allowed)
        for button in self._buttons():
            button.setEnabled(allowed)
        self.table.setRowCount(0)
        if not allowed:
            return
        try:
            users = self._ws.session.users()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.table.setRowCount(len(users))
        for row, user in enumerate(users):
            last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "—"
            cells = (user.user_id, user.full_name, user.role, user.active, user.locked, last)
            for col, value in enumerate(cells):
                text = ("yes" if value else "no") if isinstance(value, bool) else str(value)
                self.table.setItem(row, col, QTableWidgetItem(text))

    def _selected(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return item.text() if item is not None else None

    def _add(self) -> None:
        try:
            one_time = self._ws.session.add_user(
                self.new_id.text().strip(),
                self.new_name.text().strip(),
                self.new_role.currentData(),
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self.message.setText(
            self.tr(
                "Account {user} created. One-time password: {pw} — hand it over in person; "
                "it must be changed at first login."
            ).format(user=self.new_id.text(), pw=one_time)
        )
        self.new_id.clear()
        self.new_name.clear()
        self.refresh()

    def _act(self, action: str) -> None:
        user = self._selected()
        if user is None:
            self.error.show_reason(self.tr("select an account in the table first"))
            return
        reason = self.reason.text()
        session = self._ws.session
        try:
            if action == "disable":
                session.disable_user(user, reason)
                self.message.setText(self.tr("{user} deactivated.").format(user=user))
            elif action == "verify":
                session.verify_identity(user, reason)
                self.message.setText(self.tr("Identity of {user} verified.").format(user=user))
            elif action == "unlock":
                session.unlock_account(user, reason)
                self.message.setText(self.tr("{user} unlocked.").format(user=user))
            else:
                one_time = session.reset_password(user, reason)
                self.message.setText(
                    self.tr("New one-time password for {user}: {pw}").format(user=user, pw=one_time)
                )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self.reason.clear()
        self.refresh()

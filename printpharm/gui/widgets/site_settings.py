"""Administration — site settings: the values in force and a signed change of one of them."""

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
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.gui.widgets.tables import record_table
from printpharm.services.access.permissions import Operation
from printpharm.services.station.workstation import SettingRow, Workstation

__all__ = ["SiteSettingsPanel"]

_COLUMNS = ("Setting", "Value in force", "Unit", "Allowed values", "Changed")


class SiteSettingsPanel(QWidget):
    """The declared site settings (read-only for other roles) and, for administrators, a change."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._rows: list[SettingRow] = []
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Each change is signed with your password and recorded in the audit trail with "
                "its reason. Sign-in, password, idle-timeout and research-period settings take "
                "effect when printpharm next starts; the others at the next run."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = record_table(
            self, "siteSettings", _COLUMNS, accessible=self.tr("Site settings")
        )
        self.table.currentCellChanged.connect(lambda *_: self._on_selected())
        layout.addWidget(self.table, 1)
        self.read_only = QLabel(self.tr("Only an administrator changes site settings."))
        self.read_only.setObjectName("settingsReadOnly")
        layout.addWidget(self.read_only)
        layout.addWidget(self._edit_group())
        self.message = QLabel()
        self.message.setObjectName("settingsMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.error = FieldError()
        layout.addWidget(self.error)

    def _edit_group(self) -> QGroupBox:
        self.edit_group = group = QGroupBox(self.tr("Change the selected setting"))
        group.setObjectName("settingEdit")
        form = QFormLayout(group)
        self.key = QLabel(self.tr("select a setting in the table"))
        self.key.setObjectName("settingKey")
        self.key.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meaning = QLabel()
        self.meaning.setObjectName("settingMeaning")
        self.meaning.setWordWrap(True)
        self.value = QLineEdit()
        self.value.setObjectName("settingValue")
        self.value.setAccessibleName(self.tr("New value"))
        self.choice = QComboBox()
        self.choice.setObjectName("settingChoice")
        self.choice.setAccessibleName(self.tr("New value"))
        self.choice.hide()
        editors = QHBoxLayout()
        editors.setContentsMargins(0, 0, 0, 0)
        editors.addWidget(self.value, 1)
        editors.addWidget(self.choice, 1)
        self.value_label = QLabel(self.tr("New &value:"))
        self.value_label.setBuddy(self.value)
        self.reason = QLineEdit()
        self.reason.setObjectName("settingReason")
        self.reason.setAccessibleName(self.tr("Reason for the change"))
        self.reason.setPlaceholderText(self.tr("why (required, recorded in the audit trail)"))
        self.password = QLineEdit()
        self.password.setObjectName("settingPassword")
        self.password.setAccessibleName(self.tr("Your password, to sign the change"))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("re-enter your password to sign the change"))
        self.password.returnPressed.connect(self.change)
        self.change_button = QPushButton(self.tr("Change se&tting"))
        self.change_button.setObjectName("changeSettingButton")
        self.change_button.setToolTip(
            self.tr("Store the new value, signed with your password (audited with the reason).")
        )
        self.change_button.clicked.connect(self.change)
        form.addRow(self.tr("Setting:"), self.key)
        form.addRow("", self.meaning)
        form.addRow(self.value_label, editors)
        form.addRow(self.tr("&Reason:"), self.reason)
        form.addRow(self.tr("Your &password:"), self.password)
        form.addRow(self.change_button)
        return group

    # -- state ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the settings; the edit row only for an administrator."""
        session = self._ws.session
        allowed = self._ws.site.may_configure()
        self.edit_group.setEnabled(allowed)
        self.edit_group.setToolTip("" if allowed else self.read_only.text())
        self.read_only.setVisible(not allowed)
        selected = self._selected_key()
        self.table.setRowCount(0)
        self._rows = []
        if not session.may(Operation.VIEW_RECORDS):
            self._on_selected()
            return
        try:
            self._rows = self._ws.site.settings()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.table.setRowCount(len(self._rows))
        for r, row in enumerate(self._rows):
            cells = (row.key, row.shown_value, row.unit, row.allowed, row.origin)
            tips = {
                0: self.tr("{meaning} (default {default})").format(
                    meaning=row.meaning, default=row.default
                ),
                1: self.tr("This workstation uses {running} until printpharm is restarted.").format(
                    running=row.running
                )
                if row.running is not None
                else row.value,
            }
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tips.get(c, text))
                self.table.setItem(r, c, item)
        keys = [row.key for row in self._rows]
        self.table.setCurrentCell(keys.index(selected) if selected in keys else 0, 0)
        self._on_selected()

    def _selected_key(self) -> str | None:
        row = self._current()
        return row.key if row is not None else None

    def _current(self) -> SettingRow | None:
        index = self.table.currentRow()
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def _on_selected(self) -> None:
        row = self._current()
        if row is None:
            self.key.setText(self.tr("select a setting in the table"))
            self.meaning.clear()
            return
        self.key.setText(row.key)
        unit = f" {row.unit}" if row.unit else ""
        self.meaning.setText(
            self.tr("{meaning}. Set to {value}{unit}; allowed: {allowed}.").format(
                meaning=row.meaning[:1].upper() + row.meaning[1:],
                value=row.value,
                unit=unit,
                allowed=row.allowed,
            )
        )
        choice = bool(row.choices)
        self.value.setVisible(not choice)
        self.choice.setVisible(choice)
        self.value_label.setBuddy(self.choice if choice else self.value)
        if choice:
            self.choice.clear()
            self.choice.addItems(list(row.choices))
            self.choice.setCurrentText(row.value)
        else:
            self.value.clear()
            self.value.setPlaceholderText(row.allowed + unit)

    # -- change --------------------------------------------------------------------------------

    def change(self) -> None:
        """Change the selected setting to the value entered (signed by the password)."""
        row = self._current()
        password = self.password.text()
        self.password.clear()
        if row is None:
            self.error.show_reason(self.tr("select a setting in the table first"))
            return
        text = self.choice.currentText() if row.choices else self.value.text()
        try:
            new = self._ws.site.change_setting(row.key, text, self.reason.text(), password)
        except PrintpharmError as exc:
            self.message.clear()
            self.error.show_reason(str(exc))
            return
        self.error.show_reason(None)
        self.reason.clear()
        self.refresh()
        unit = f" {new.unit}" if new.unit else ""
        when = (
            self.tr("when printpharm is next started (on each workstation)")
            if new.on_restart
            else self.tr("from the next run")
        )
        self.message.setText(
            self.tr(
                "{key} changed from {old} to {new}{unit} (version {version}, signed by {user}); "
                "it takes effect {when}."
            ).format(
                key=new.key,
                old=row.value,
                new=new.value,
                unit=unit,
                version=new.version,
                user=new.changed_by,
                when=when,
            )
        )

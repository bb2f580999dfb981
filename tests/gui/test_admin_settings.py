"""Administration: site settings (signed changes within declared limits) and registered balances."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QWidget

from printpharm.gui.main_window import MainWindow
from printpharm.services.access.signatures import read_audit_events
from printpharm.services.control.site_settings import MASS_POLICY_SETTING, SETTINGS
from printpharm.services.station.workstation import Workstation
from tests.gui.conftest import ADMIN, SUPERVISOR, Clock

OpenAs = Callable[[tuple[str, str, str]], MainWindow]

IDLE = "session.idle_timeout_s"


def _settings_tab(window: MainWindow) -> QWidget:
    window.show_page("admin")
    page = window.admin
    page.tabs.setCurrentWidget(page.settings)
    return page.settings


def _select(panel, key: str) -> int:  # type: ignore[no-untyped-def]
    for row in range(panel.table.rowCount()):
        if panel.table.item(row, 0).text() == key:
            panel.table.setCurrentCell(row, 0)
            return row
    raise AssertionError(f"{key} is not in the settings table")


def _events(station: Workstation, key: str) -> list:  # type: ignore[type-arg]
    assert station.session.services is not None
    return [
        e
        for e in read_audit_events(station.session.services.db)
        if e.record_type == "setting" and e.record_id == key
    ]


def test_administrator_changes_the_idle_timeout(
    qtbot,  # type: ignore[no-untyped-def]
    logged_in_window: OpenAs,
    station: Workstation,
) -> None:
    panel = _settings_tab(logged_in_window(ADMIN))
    assert panel.table.rowCount() == len(SETTINGS)
    row = _select(panel, IDLE)
    assert panel.key.text() == IDLE
    assert panel.table.item(row, 4).text() == "default"
    assert panel.value.isVisible() and not panel.choice.isVisible()
    qtbot.keyClicks(panel.value, "600")
    qtbot.keyClicks(panel.reason, "shared workstation in the clean room")
    qtbot.keyClicks(panel.password, ADMIN[2])
    panel.change_button.click()
    assert not panel.error.isVisible(), panel.error.text()
    assert panel.password.text() == ""
    row = _select(panel, IDLE)
    # stored and shown; this workstation keeps 900 until printpharm restarts (read at start)
    assert panel.table.item(row, 1).text() == "600 (900 until restart)"
    assert panel.table.item(row, 4).text().startswith(f"version 1 by {ADMIN[0]}")
    assert "from 900 to 600 s (version 1" in panel.message.text()
    assert "next started" in panel.message.text()
    events = _events(station, IDLE)
    assert [(e.action, e.new(), e.reason) for e in events] == [
        ("create", 600, "shared workstation in the clean room")
    ]


def test_value_outside_the_limits_shows_the_services_message(
    qtbot,  # type: ignore[no-untyped-def]
    logged_in_window: OpenAs,
    station: Workstation,
) -> None:
    panel = _settings_tab(logged_in_window(ADMIN))
    _select(panel, IDLE)
    panel.value.setText("5")
    panel.reason.setText("too short on purpose")
    panel.password.setText(ADMIN[2])
    panel.change_button.click()
    assert panel.error.isVisible()
    assert "must be a whole number from 60 to 3600" in panel.error.text()
    assert panel.password.text() == ""
    row = _select(panel, IDLE)
    assert panel.table.item(row, 1).text() == "900"
    assert panel.table.item(row, 4).text() == "default"
    assert _events(station, IDLE) == []


def test_wrong_password_is_refused_and_cleared(
    qtbot,  # type: ignore[no-untyped-def]
    logged_in_window: OpenAs,
    station: Workstation,
) -> None:
    panel = _settings_tab(logged_in_window(ADMIN))
    _select(panel, IDLE)
    panel.value.setText("600")
    panel.reason.setText("shared workstation")
    panel.password.setText("not my password")
    panel.change_button.click()
    assert panel.error.isVisible()
    assert panel.password.text() == ""
    assert panel.reason.text() == "shared workstation"  # kept for the next attempt
    row = _select(panel, IDLE)
    assert panel.table.item(row, 1).text() == "900"
    assert not [e for e in _events(station, IDLE) if e.action in ("create", "modify")]


def test_a_choice_setting_offers_exactly_its_choices(
    qtbot,  # type: ignore[no-untyped-def]
    logged_in_window: OpenAs,
    station: Workstation,
) -> None:
    panel = _settings_tab(logged_in_window(ADMIN))
    _select(panel, MASS_POLICY_SETTING)
    assert panel.choice.isVisible() and not panel.value.isVisible()
    assert panel.value_label.buddy() is panel.choice
    choices = [panel.choice.itemText(i) for i in range(panel.choice.count())]
    assert tuple(choices) == SETTINGS[MASS_POLICY_SETTING].choices
    assert panel.choice.currentText() == "strict"
    panel.choice.setCurrentText("gn_rounding")
    panel.reason.setText("site SOP QA-12 rev 3")
    panel.password.setText(ADMIN[2])
    panel.change_button.click()
    assert not panel.error.isVisible(), panel.error.text()
    row = _select(panel, MASS_POLICY_SETTING)
    assert panel.table.item(row, 1).text() == "gn_rounding"
    assert panel.choice.currentText() == "gn_rounding"
    assert "from the next run" in panel.message.text()


def test_registering_a_balance_shows_it_valid_with_its_due_date(
    qtbot,  # type: ignore[no-untyped-def]
    logged_in_window: OpenAs,
    station: Workstation,
    clock: Clock,
) -> None:
    window = logged_in_window(ADMIN)
    window.show_page("admin")
    panel = window.admin.balances
    window.admin.tabs.setCurrentWidget(panel)
    assert panel.table.rowCount() == 0 and panel.empty.isVisible()
    today = clock.now.date()
    assert panel.calibrated.maximumDate() == QDate(today.year, today.month, today.day)
    assert panel.calibrated.calendarPopup()
    calibrated = today - timedelta(days=30)
    qtbot.keyClicks(panel.serial, "1126493049")
    qtbot.keyClicks(panel.model, "XS205 DualRange")
    panel.calibrated.setDate(QDate(calibrated.year, calibrated.month, calibrated.day))
    panel.register_button.click()
    assert not panel.error.isVisible(), panel.error.text()
    assert panel.table.rowCount() == 1
    cells = [panel.table.item(0, c).text() for c in range(5)]
    due = calibrated + timedelta(days=365)
    assert cells == ["1126493049", "XS205 DualRange", str(calibrated), str(due), "valid"]
    assert f"valid until {due}" in panel.message.text()
    assert not panel.empty.isVisible()


def test_an_expired_calibration_is_shown_expired(
    qtbot,  # type: ignore[no-untyped-def]
    logged_in_window: OpenAs,
    clock: Clock,
) -> None:
    window = logged_in_window(ADMIN)
    panel = window.admin.balances
    panel.serial.setText("B-OLD")
    panel.calibrated.setDate(QDate(2025, 1, 2))
    panel.register_button.click()
    assert panel.table.item(0, 3).text() == str(date(2025, 1, 2) + timedelta(days=365))
    assert panel.table.item(0, 4).text() == "EXPIRED"
    assert "EXPIRED on" in panel.message.text()


def test_a_future_calibration_date_cannot_be_entered_or_registered(
    qtbot,  # type: ignore[no-untyped-def]
    logged_in_window: OpenAs,
    station: Workstation,
    clock: Clock,
) -> None:
    window = logged_in_window(ADMIN)
    panel = window.admin.balances
    tomorrow = clock.now.date() + timedelta(days=1)
    panel.calibrated.setDate(QDate(tomorrow.year, tomorrow.month, tomorrow.day))
    assert panel.calibrated.date() <= panel.calibrated.maximumDate()  # clamped to today
    panel.serial.setText("")
    panel.register_button.click()
    assert "serial number" in panel.error.text()
    assert panel.table.rowCount() == 0


def test_a_supervisor_sees_settings_and_balances_read_only(
    qtbot,  # type: ignore[no-untyped-def]
    logged_in_window: OpenAs,
) -> None:
    window = logged_in_window(SUPERVISOR)
    window.show_page("admin")
    page = window.admin
    assert page.denied.isVisible()  # the accounts tab, as before
    page.tabs.setCurrentWidget(page.settings)
    panel = page.settings
    assert panel.table.rowCount() == len(SETTINGS)
    assert not panel.edit_group.isEnabled()
    assert "administrator" in panel.edit_group.toolTip()
    assert panel.read_only.isVisible()
    page.tabs.setCurrentWidget(page.balances)
    assert not page.balances.register_group.isEnabled()
    assert page.balances.read_only.isVisible()


def test_administration_tabs_have_mnemonics(logged_in_window: OpenAs) -> None:
    page = logged_in_window(ADMIN).admin
    labels = [page.tabs.tabText(i) for i in range(page.tabs.count())]
    assert labels == ["A&ccounts", "&Site settings", "&Balances", "&Due", "Station alar&ms"]

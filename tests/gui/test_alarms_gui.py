"""Alarms in the GUI: acknowledged with a reason and the password on the QC and History pages,
and at the printer before a paused run goes on (the services decide; the GUI asks)."""

from __future__ import annotations

import dataclasses
from typing import Any

from printpharm.errors import PrintpharmError
from printpharm.gui.main_window import MainWindow
from printpharm.services.station.workstation import Workstation
from tests.gui.conftest import REVIEWER, SUPERVISOR, TECHNICIAN, clear_line
from tests.gui.test_flow import _fill

REASON = "nozzle clogged: syringe changed and purged (SOP PR-07)"


def _window(qtbot: Any, station: Workstation, settings: Any, printer_url: str) -> MainWindow:
    config = dataclasses.replace(station.config, printer_url=printer_url)
    ws = Workstation(config, station.catalog, None, station.session)
    ws.session.login(TECHNICIAN[0], TECHNICIAN[2])
    window = MainWindow(ws, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _print(qtbot: Any, window: MainWindow) -> None:
    window.new_batch.next_button.click()
    qtbot.waitUntil(lambda: window.plan.batch is not None, timeout=20_000)
    window.plan.print_button.click()
    clear_line(window.print_page)
    window.print_page.start_button.click()


def test_the_qc_page_lists_the_run_alarm_and_acknowledges_it_with_reason_and_password(
    qtbot, station, settings
) -> None:  # type: ignore[no-untyped-def]
    # a head without a load cell: the balance finds the clogged unit out of tolerance
    window = _window(qtbot, station, settings, "sim://printer?clog_unit=2&pressure_sensor=0")
    _fill(window, units=3)
    _print(qtbot, window)
    page = window.print_page
    qtbot.waitUntil(lambda: page.result is not None, timeout=60_000)
    assert page.result is not None and page.result.status == "stopped"
    window.show_page("qc")
    panel = window.qc.alarms
    assert panel.isVisible() and panel.table.rowCount() == 1
    assert panel.table.item(0, 2).text() == "unit out of tolerance"
    assert panel.table.item(0, 5).text() == "NOT ACKNOWLEDGED"
    assert "1 not acknowledged" in panel.summary.text()
    assert not panel.ack_button.isEnabled()  # no reason yet

    # a reviewer is refused by the services, and the page says which alarm waits
    station.session.logout()
    station.session.login(REVIEWER[0], REVIEWER[2])
    release = window.qc.release
    release.refresh()
    release.user_id.setText(REVIEWER[0])
    release.password.setText(REVIEWER[2])
    release.sign()
    assert "not acknowledged" in release.error.text() and "unit out of tolerance" in (
        release.error.text()
    )
    station.session.logout()
    station.session.login(TECHNICIAN[0], TECHNICIAN[2])

    panel.refresh()
    panel.reason.setText(REASON)
    panel.password.setText("not my password")
    assert panel.ack_button.isEnabled()
    panel.ack_button.click()
    assert "wrong user ID or password" in panel.error.text()
    assert panel.password.text() == ""  # never kept after a refusal
    panel.password.setText(TECHNICIAN[2])
    with qtbot.waitSignal(panel.changed, timeout=5_000):
        panel.ack_button.click()
    assert panel.table.item(0, 5).text().startswith("Acknowledged by Tam Nguyen (t.nguyen) on")
    assert panel.table.item(0, 5).text().endswith(REASON)
    assert "every one acknowledged" in panel.summary.text()
    assert not panel.reason.isEnabled()  # nothing left to acknowledge
    window.close()


def test_the_history_page_opens_the_alarm_list_of_the_selected_batch(
    qtbot, station, settings
) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot, station, settings, "sim://printer?clog_unit=2&pressure_sensor=0")
    _fill(window, units=2)
    _print(qtbot, window)
    qtbot.waitUntil(lambda: window.print_page.result is not None, timeout=60_000)
    batch_id = window.print_page.result.batch_id  # type: ignore[union-attr]
    station.session.logout()  # the pharmacist looks at the records (the audit view is theirs)
    station.session.login(SUPERVISOR[0], SUPERVISOR[2])
    history = window.history
    window.show_page("history")
    history.refresh()
    assert history.show_alarms() is None and "select a batch" in history.error.text()
    history.batches.setCurrentCell(0, 0)
    assert history.selected_batch() == batch_id
    dialog = history.show_alarms()
    assert dialog is not None and dialog.isVisible()
    assert batch_id in dialog.windowTitle()
    assert dialog.panel.table.rowCount() == 1
    dialog.panel.reason.setText(REASON)
    dialog.panel.password.setText(SUPERVISOR[2])
    dialog.panel.ack_button.click()
    assert dialog.panel.unacknowledged() == 0
    (alarm,) = station.session.batch_alarms(batch_id)
    assert alarm.ack is not None and alarm.ack.reason == REASON
    dialog.close()
    window.close()


def _fill_sildenafil(window: MainWindow, units: int) -> None:
    """10 mg sildenafil caplets (a weight band): the recipe pauses on an alarm."""
    page = window.new_batch
    page.patient.setText("P-2026-0148")
    page.prescriber.setText("Dr Weber")
    page.rule.setCurrentIndex(page.rule.findData("weight_band"))
    page.drug.setCurrentIndex(page.drug.findData("sildenafil"))
    page.weight_kg.setText("18")
    page.bands.setText("≤20:10; >20:20")
    page.units.setValue(units)


def test_a_paused_run_goes_on_only_after_the_operator_acknowledges_the_alarm(
    qtbot, station, settings
) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot, station, settings, "sim://printer?clog_unit=3")
    _fill_sildenafil(window, units=3)
    _print(qtbot, window)
    page = window.print_page
    pause = page.pause
    qtbot.waitUntil(pause.isVisible, timeout=60_000)
    # the clog is seen by the pressure while unit 3 prints, before it is weighed
    assert pause.label.text().startswith("PAUSED: unit 3: extrusion pressure")
    pause.continue_button.click()  # no reason: refused, the run keeps waiting
    assert "needs a reason" in pause.error.text() and pause.isVisible()
    pause.reason.setText(REASON)
    pause.password.setText(TECHNICIAN[2])
    pause.continue_button.click()
    assert not pause.isVisible()
    qtbot.waitUntil(pause.isVisible, timeout=60_000)  # then its mass, once weighed
    assert pause.label.text().startswith("PAUSED: unit 3: ") and " mg is " in pause.label.text()
    pause.reason.setText(REASON)
    pause.password.setText(TECHNICIAN[2])
    pause.continue_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=60_000)
    result = page.result
    assert result is not None and result.status == "completed", result.reason
    paused = [(a.kind.value, a.unit) for a in result.alarms if a.action == "pause"]
    assert paused == [("over_pressure", 3), ("unit_out_of_tolerance", 3)]
    stored = [a for a in station.session.batch_alarms(result.batch_id) if a.severity == "pause"]
    assert [(a.ack.acknowledged_by, a.ack.reason) for a in stored if a.ack] == [
        (TECHNICIAN[0], REASON), (TECHNICIAN[0], REASON),
    ]  # fmt: skip
    assert page.pressure_chart.points  # shown live beside the temperatures
    window.close()


def test_the_administration_page_lists_a_lockout_and_a_supervisor_acknowledges_it(
    qtbot, station, logged_in_window
) -> None:  # type: ignore[no-untyped-def]
    """An alarm of no batch (a lockout) is listed under Station alarms and acknowledged there."""
    for _ in range(5):  # the default lockout threshold
        try:
            station.session.login(TECHNICIAN[0], "not the password")
        except PrintpharmError:
            pass
    window = logged_in_window(SUPERVISOR)
    window.show_page("admin")
    panel = window.admin.alarms
    window.admin.tabs.setCurrentWidget(panel)
    assert panel.isVisible() and panel.table.rowCount() == 1
    assert panel.table.item(0, 2).text() == "security.lockout"
    assert "1 not acknowledged" in panel.summary.text()
    qtbot.keyClicks(panel.reason, "forgotten password; identity confirmed in person")
    qtbot.keyClicks(panel.password, "wrong")
    panel.ack_button.click()
    assert "password" in panel.error.text().lower()  # refused by the services, nothing stored
    assert panel.table.item(0, 5).text() == "NOT ACKNOWLEDGED"
    qtbot.keyClicks(panel.password, SUPERVISOR[2])
    panel.ack_button.click()
    assert panel.table.item(0, 5).text().startswith(f"Acknowledged by {SUPERVISOR[1]}")
    assert "every one acknowledged" in panel.summary.text()
    assert not panel.ack_button.isEnabled()

"""The print page shows the flow controller's work: the material of each unit and warnings."""

from __future__ import annotations

import dataclasses


def test_a_drift_is_a_warning_on_the_print_page_and_each_unit_shows_its_material(
    qtbot, station, settings
) -> None:  # type: ignore[no-untyped-def]
    from printpharm.gui.main_window import MainWindow
    from printpharm.services.station.workstation import Workstation
    from tests.gui.conftest import TECHNICIAN, clear_line
    from tests.gui.test_flow import _fill

    url = "sim://printer?process_rsd=0&drift_pct_per_unit=-1.2"
    config = dataclasses.replace(station.config, printer_url=url)
    ws = Workstation(config, station.catalog, None, station.session)
    ws.session.login(TECHNICIAN[0], TECHNICIAN[2])
    window = MainWindow(ws, settings)
    qtbot.addWidget(window)
    _fill(window, units=8)
    window.new_batch.next_button.click()
    qtbot.waitUntil(lambda: window.plan.batch is not None, timeout=20_000)
    window.plan.print_button.click()
    page = window.print_page
    clear_line(page)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=90_000)
    result = page.result
    assert any(a.action == "warn" for a in result.alarms)
    assert "WARNING: after unit" in page.alarm.text()
    assert "trending" in page.alarm.text()
    header = page.table.horizontalHeaderItem(5).text()
    assert header == "Material (%)"
    shown = [page.table.item(row, 5).text() for row in range(page.table.rowCount())]
    assert shown == [str(u.material_pct) for u in result.units]
    assert shown[0] == "100.00" and shown[-1] != "100.00"  # the drift is followed
    window.close()

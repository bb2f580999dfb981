"""The Ink lots page (scan, record, release), the plan page's lot field and the CU form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt

from printpharm.gui.main_window import MainWindow
from printpharm.services.station.workstation import Workstation
from tests.gui.conftest import SUPERVISOR, TECHNICIAN, clear_line, released_lot
from tests.gui.test_flow import _fill
from tests.gui.test_library_locked import _lock_via_services

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]
INK = "cyclophosphamide-sse-chewable"
GTIN = "09506000134352"


def test_a_technician_scans_and_records_a_lot_and_a_pharmacist_releases_it(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    _lock_via_services(station, ("ink",))
    window = logged_in_window(TECHNICIAN)
    window.show_page("lots")
    page = window.lots
    assert page.ink.findText(INK) >= 0 and page.prepared.text() == "2026-11-22"
    # a GS1-128 label as a keyboard-wedge scanner types it: the lot, GS (Ctrl+]), the expiry
    qtbot.keyClicks(page.scan, f"]C101{GTIN}10CPM-26-11")
    qtbot.keyClick(page.scan, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(page.scan, "17261130")
    qtbot.keyClick(page.scan, Qt.Key.Key_Return)  # the scanner's Enter
    assert "GS1 code: lot CPM-26-11, GTIN 09506000134352, expiry 2026-11-30" in page.scanned.text()
    assert page.beyond_use.text() == "2026-11-30"
    page.ink.setCurrentText(INK)
    page.quantity.setText("20")
    page.container.setText("2 × 10 mL syringes")
    page.assay.setText("49.2")
    page.uncertainty.setText("0.8")
    page.method.setText("HPLC-UV, SOP QC-12")
    page.add_button.click()
    assert not page.error.text(), page.error.text()
    assert "recorded in quarantine; beyond-use date 2026-11-30" in page.message.text()
    row = page.selected()
    assert row is not None and (row.status, row.gtin) == ("quarantine", GTIN)
    assert row.assay.startswith("49.2 ± 0.8 mg/g")
    assert not page.release_button.isEnabled()  # a technician does not release
    qtbot.keyClicks(page.scan, f"(01){GTIN[:-1]}3(10)BAD")  # wrong check digit
    qtbot.keyClick(page.scan, Qt.Key.Key_Return)
    assert "Invalid GTIN check digit" in page.error.text()
    window.close()
    station.session.logout()
    window = logged_in_window(SUPERVISOR)
    window.show_page("lots")
    page = window.lots
    page.select("CPM-26-11")
    assert page.release_button.isEnabled()
    page.release_button.click()
    dialog = page.dialog
    assert dialog is not None
    dialog.password.setText(SUPERVISOR[2])
    dialog.sign_button.click()
    assert not dialog.error.text(), dialog.error.text()
    assert "Released by Maria Keller" in page.message.text()
    assert page.rows[0].status == "released"


def test_the_plan_takes_a_scanned_lot_and_the_batch_records_contents_and_cu(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    _lock_via_services(station, ("recipe", "ink"))
    released_lot(station, "CPM-OK")
    released_lot(station, "CPM-LOW", quantity="0.5")
    window = logged_in_window(TECHNICIAN)
    _fill(window, units=10)
    window.new_batch.next_button.click()
    plan = window.plan
    qtbot.waitUntil(lambda: plan.authorisation is not None, timeout=30_000)
    assert "no released ink lot" in plan.patient_banner.text()
    field = plan.lot_field
    qtbot.keyClicks(field.code, f"(01){GTIN}(10)CPM-LOW")
    qtbot.keyClick(field.code, Qt.Key.Key_Return)
    assert field.verdict.text() == "REFUSED" and "has 0.5 mL left" in field.detail.text()
    assert not plan.print_button.isEnabled() and "ink lot refused" in plan.error.text()
    field.code.clear()
    qtbot.keyClicks(field.code, "CPM-OK")
    field.use_button.click()
    assert field.verdict.text() == "lot accepted", field.detail.text()
    assert plan.print_button.isEnabled() and "no released ink lot" not in plan.patient_banner.text()
    plan.print_button.click()
    page = window.print_page
    clear_line(page)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=90_000)
    assert page.result is not None and page.result.status == "completed"
    assert page.table.item(0, 6).text().endswith(" mg / 15 mg")
    qc = window.qc
    assert "API content per unit (dose 15 mg; lot CPM-OK (released))" in qc.run_report.text()
    cu = qc.cu
    assert cu.verdict.text() == "SELECT" and cu.select_button.isEnabled()
    cu.select_button.click()
    assert cu.status is not None and cu.status.state == "PENDING"
    chosen = cu.status.samples[0].units
    other = next(n for n in range(1, 11) if n not in chosen) if len(chosen) < 10 else None
    assert other is None  # 10 printed: all ten are assayed
    cu.results.setPlainText("11 99.0")
    cu.method.setText("HPLC-UV, SOP QC-12")
    cu.enter_button.click()
    assert "were not chosen for assay" in cu.error.text()
    cu.results.setPlainText("\n".join(f"{n} {99 + n / 10:.1f}" for n in chosen))
    cu.enter_button.click()
    assert not cu.error.text(), cu.error.text()
    assert cu.verdict.text() == "PASS" and "AV(10)" in cu.reason.text()

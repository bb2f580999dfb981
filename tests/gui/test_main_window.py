"""The main window: pages, banner, status bar, shortcuts, remembered state."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from printpharm.gui.main_window import PAGE_KEYS, MainWindow
from printpharm.services.station.workstation import ModeStatus

pytestmark = pytest.mark.gui


def test_main_window_opens_on_new_batch_in_locked_mode(window: MainWindow) -> None:
    assert window.isVisible()
    assert window.current_page() == "new_batch"
    assert window.banner.text().startswith("LOCKED MODE")
    assert window.nav.count() == len(PAGE_KEYS)
    assert "simulator" in window.printer_status.text()
    assert window.balance_status.text().startswith("Balance:")


def test_ctrl_digit_switches_pages(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() == "qc"
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() == "new_batch"


def test_print_page_waits_for_a_plan(window: MainWindow) -> None:
    window.show_page("print")
    assert "No planned batch yet" in window.print_page.batch_label.text()
    assert not window.print_page.start_button.isEnabled()


def test_research_banner_shows_until_and_who(window: MainWindow) -> None:
    from datetime import datetime

    window.banner.set_status(
        ModeStatus(research=True, until=datetime(2026, 1, 1, 14, 30), unlocked_by="M. Keller")
    )
    assert window.banner.text() == "RESEARCH MODE until 14:30 — unlocked by M. Keller"


def test_window_state_is_remembered(qtbot, workstation, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    first = MainWindow(workstation, settings)
    qtbot.addWidget(first)
    first.show()
    size = (first.minimumSizeHint().width() + 20, 500)  # the offscreen screen is 800 × 600
    first.resize(*size)
    first.show_page("qc")
    first.close()
    second = MainWindow(workstation, settings)
    qtbot.addWidget(second)
    assert second.current_page() == "qc"
    assert (second.width(), second.height()) == size


def test_qc_page_judges_typed_masses(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.show_page("qc")
    qc = window.qc
    assert qc.verdict_295.text() == "waiting for masses"
    qc.set_masses(["200"] * 19 + ["230"], "200")  # one unit +14.3 % of the mean: 2.9.5 allows it
    assert qc.verdict_295.text() == "PASS"
    assert qc.verdict_local.text() == "FAIL"  # 230 is 15 % above its 200 mg target (7.5 %)
    assert qc.model.rowCount() == 20
    qc.masses.setPlainText("200,5")
    assert "decimal point" in qc.masses_error.text()
    assert qc.model.rowCount() == 0

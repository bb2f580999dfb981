"""Issue 10, finding 5 on screen: a batch no pharmacopoeial test decided is not shown as a pass
and is not offered for release."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from printpharm.gui.main_window import MainWindow
from tests.gui.conftest import SUPERVISOR, clear_line
from tests.gui.test_flow import _fill

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]


def test_two_units_are_pending_content_uniformity_and_not_releasable(
    qtbot,
    logged_in_window: OpenAs,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(SUPERVISOR)
    _fill(window, units=2)
    window.new_batch.next_button.click()
    qtbot.waitUntil(lambda: window.plan.batch is not None, timeout=20_000)
    window.plan.print_button.click()
    clear_line(window.print_page)
    window.print_page.start_button.click()
    qtbot.waitUntil(lambda: window.print_page.result is not None, timeout=60_000)
    result = window.print_page.result
    assert result.status == "completed" and result.qc.verdict == "pending_content_uniformity"
    assert window.print_page.verdict.text() == "COMPLETED — QC PENDING CONTENT UNIFORMITY"
    window.print_page.qc_button.click()
    qc = window.qc
    assert "QC PENDING_CONTENT_UNIFORMITY — not a pass" in qc.run_report.text()
    panel = qc.release
    meanings = [panel.meaning.itemData(i) for i in range(panel.meaning.count())]
    assert meanings == ["reviewed", "rejected"]  # no release of a pending verdict
    assert "QC PENDING CONTENT UNIFORMITY, not releasable" in panel.status.text()

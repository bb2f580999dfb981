"""An ink that dries (sildenafil paste: 25 mg/g wet, 30 mg/g dried) on the print and QC pages.

Before, the print page said "weighing target 233.33 mg per unit" (the dried printlet)
while the run weighed every unit wet against ~280 mg, and the QC page judged the run's
wet masses against the dried 233.33 mg: every unit ~20 % off, "FAIL", for a batch the
run itself had judged within tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from printpharm.gui.main_window import MainWindow
from printpharm.services.station.batch import PlannedBatch
from tests.gui.conftest import SUPERVISOR, clear_line

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]


def _sildenafil(window: MainWindow) -> None:
    page = window.new_batch
    page.patient.setText("P-2026-0311")
    page.prescriber.setText("Dr Weber")
    page.drug.setCurrentIndex(page.drug.findData("sildenafil"))
    page.rule.setCurrentIndex(page.rule.findData("fixed"))
    page.amount.setText("7")
    page.units.setValue(2)


def planned_sildenafil(qtbot: Any, window: MainWindow) -> PlannedBatch:
    """The sildenafil batch of :func:`_sildenafil`, planned on the plan page."""
    _sildenafil(window)
    window.new_batch.next_button.click()
    qtbot.waitUntil(
        lambda: window.plan.batch is not None or window.plan.error.text() != "", timeout=20_000
    )
    batch = window.plan.batch
    assert batch is not None, window.plan.error.text()
    return batch


def test_a_drying_ink_is_judged_on_the_qc_page_as_the_run_judged_it(
    qtbot,
    logged_in_window: OpenAs,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(SUPERVISOR)
    plan = planned_sildenafil(qtbot, window).plan
    assert plan.ink_mass_mg == pytest.approx(280.0) and plan.target_mass_mg == pytest.approx(
        233.3333, abs=1e-3
    )
    shown = [
        window.plan.numbers.itemAt(i).widget().text() for i in range(window.plan.numbers.count())
    ]
    assert "280.00 mg per unit wet, in line; 233.33 mg per unit once dried (for release)" in shown
    window.plan.print_button.click()
    page = window.print_page
    label = page.batch_label.text()
    assert "weighing target 280.00 mg per unit (wet, in line; 233.33 mg once dried)" in label
    assert page.mass_chart.target_mg == Decimal("280.0")  # the band the wet units fall in
    clear_line(page)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=90_000)
    result = page.result
    judged = {u.target_mg for u in result.units}
    assert judged == {Decimal("280.0000")}
    assert all(u.verdict == "pass" for u in result.units)
    page.qc_button.click()
    qc = window.qc
    assert Decimal(qc.target.text()) == Decimal(280)  # was 233.3333
    assert qc.verdict_local.text().startswith("PASS"), qc.reason_local.text()

"""What the batch record knows, on screen: the predicted mass's basis and the noise prior.

Before, the plan page showed "Predicted unit mass: predicted unit mass 233.33 mg" for
the sildenafil paste (25 mg/g wet, 30 mg/g dried), the dried printlet's mass, while
each unit is weighed wet in line at 280 mg; and the QC page, where a pharmacist
signs the release, never said which noise prior the flow controller started from (nor
did the print page while the run went on).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from printpharm.gui.main_window import MainWindow
from tests.gui.conftest import SUPERVISOR, clear_line
from tests.gui.test_drying_ink_targets import planned_sildenafil
from tests.gui.test_entry_check import _rows

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]


def test_plan_and_qc_pages_say_what_the_record_says(
    qtbot,
    logged_in_window: OpenAs,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(SUPERVISOR)
    planned_sildenafil(qtbot, window)
    plan = window.plan
    rows = _rows(plan)
    (predicted,) = rows["Predicted mass:"]
    assert predicted.startswith("predicted printlet mass once dried 233.33 mg"), predicted
    assert "Predicted unit mass:" not in rows
    plan.print_button.click()
    page = window.print_page
    clear_line(page)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=90_000)
    assert page.result.status == "completed", page.result.reason
    recorded = page.result.recipe["flow_noise_prior"]["text"]
    assert recorded.startswith("noise prior "), recorded
    assert page.flow_prior.isVisible() and page.flow_prior.text() == f"Flow control: {recorded}."
    page.qc_button.click()
    report = window.qc.run_report.text()
    ink = page.result.recipe["ink"]["id"]
    rsd = page.result.recipe["flow_noise_prior"]["unit_rsd"] * 100
    assert (
        f"Flow control: noise prior {rsd:.2f} % unit RSD declared by the ink file {ink} "
        "(weight 4; no calibration fitted on site in force)" in report.splitlines()
    ), report

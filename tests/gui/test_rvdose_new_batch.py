"""The new-batch page doses by the weight-only Costeff formula without a height (rvdose)."""

from __future__ import annotations

import pytest

from printpharm.gui.main_window import MainWindow

pytestmark = pytest.mark.gui


def _select(combo, data: str) -> None:  # type: ignore[no-untyped-def]
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def test_costeff_doses_from_the_weight_alone(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.show_page("new_batch")
    page = window.new_batch
    qtbot.keyClicks(page.patient, "P-2026-0147")
    qtbot.keyClicks(page.prescriber, "Dr Weber")
    _select(page.drug, "cyclophosphamide")
    _select(page.rule, "per_m2")
    _select(page.formula, "costeff")
    qtbot.keyClicks(page.amount, "25")
    qtbot.keyClicks(page.weight_kg, "18")
    # Costeff (4·18 + 7)/(18 + 90) = 0.7315 m² → 18.29 mg → recipe step 0.5 mg → 18.5 mg
    assert page.bsa_label.text().startswith("0.731 m²")
    assert page.dose_label.text() == "18.5 mg"
    assert "Costeff; 18 kg" in page.trail_label.text()
    assert page.next_button.isEnabled()

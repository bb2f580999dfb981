"""The new-batch page: live BSA and dose, inline refusals, Next gating, keyboard-only use."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from printpharm.gui.main_window import MainWindow
from printpharm.gui.pages.new_batch import NewBatchPage

pytestmark = pytest.mark.gui


def _page(window: MainWindow) -> NewBatchPage:
    window.show_page("new_batch")
    return window.new_batch


def _select(combo, data: str) -> None:  # type: ignore[no-untyped-def]
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def _fill_cyclophosphamide(qtbot, page: NewBatchPage, weight: str = "18") -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(page.patient, "P-2026-0147")
    qtbot.keyClicks(page.prescriber, "Dr Weber")
    _select(page.drug, "cyclophosphamide")
    _select(page.rule, "per_m2")
    qtbot.keyClicks(page.amount, "20")
    qtbot.keyClicks(page.height_cm, "110")
    qtbot.keyClicks(page.weight_kg, weight)


def test_typing_updates_bsa_and_dose_live(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    page = _page(window)
    _select(page.drug, "cyclophosphamide")
    qtbot.keyClicks(page.height_cm, "110")
    assert "enter height and weight" in page.bsa_label.text()
    qtbot.keyClicks(page.weight_kg, "18")
    # Mosteller sqrt(110 * 18 / 3600) = 0.74162 m²
    assert page.bsa_label.text().startswith("0.742 m²")
    assert "Mosteller" in page.bsa_label.text()
    qtbot.keyClicks(page.amount, "20")
    # 20 mg/m² × 0.74162 m² = 14.83 mg → recipe step 0.5 mg → 15 mg
    assert page.dose_label.text() == "15 mg"
    assert "rounded to 15 mg" in page.trail_label.text()
    page.weight_kg.clear()
    qtbot.keyClicks(page.weight_kg, "36")
    # sqrt(110 * 36 / 3600) = 1.0488 m² → 20.98 mg → 21 mg
    assert page.bsa_label.text().startswith("1.049 m²")
    assert page.dose_label.text() == "21 mg"


def test_cap_and_warnings_are_shown(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    page = _page(window)
    _fill_cyclophosphamide(qtbot, page)
    qtbot.keyClicks(page.cap, "12")
    assert page.dose_label.text() == "12 mg"
    assert "capped at 12 mg" in page.trail_label.text()
    assert "capped" in page.warnings_label.text()


def test_weight_450_kg_is_refused_inline_and_next_stays_disabled(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    page = _page(window)
    _fill_cyclophosphamide(qtbot, page, weight="450")
    error = page.errors["weight_kg"]
    assert error.isVisible()
    assert "weight_kg = 450 is above the limit of 300 kg" in error.text()
    assert page.dose_label.text() == "—"
    assert not page.next_button.isEnabled()
    page.weight_kg.clear()
    qtbot.keyClicks(page.weight_kg, "18")
    assert not error.isVisible()
    assert page.next_button.isEnabled()


def test_dose_outside_recipe_range_is_refused(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    page = _page(window)
    _fill_cyclophosphamide(qtbot, page)
    page.amount.clear()
    qtbot.keyClicks(page.amount, "60")  # 60 × 0.742 = 44.5 mg > 40 mg
    error = page.errors["recipe_id"]
    assert error.isVisible()
    assert "outside the validated range 5–40 mg" in error.text()
    assert "(above 40 mg)" in error.text()
    assert not page.next_button.isEnabled()


def test_recipe_picker_is_filtered_by_drug(qtbot, window: MainWindow, workstation) -> None:  # type: ignore[no-untyped-def]
    page = _page(window)
    _select(page.drug, "sildenafil")
    ids = [page.recipe.itemData(i) for i in range(page.recipe.count())]
    assert ids == [r.id for r in workstation.recipes("sildenafil")]
    assert all(workstation.recipe(i).api == "sildenafil" for i in ids)
    assert "mg, step" in page.recipe.itemText(0)


def test_patient_name_instead_of_pseudonym_is_refused(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    page = _page(window)
    _fill_cyclophosphamide(qtbot, page)
    page.patient.clear()
    qtbot.keyClicks(page.patient, "Anna Muster")
    assert "pseudonym" in page.errors["patient_id"].text()
    assert not page.next_button.isEnabled()


def test_weight_band_rule_hides_amount_and_uses_bands(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    page = _page(window)
    _fill_cyclophosphamide(qtbot, page)
    _select(page.rule, "weight_band")
    assert not page.dose_form.isRowVisible(page.amount_label)
    qtbot.keyClicks(page.bands, "10: 5; 20: 10; *: 20")
    assert "is ambiguous (does 10 kg itself belong to this band?)" in page.errors["bands"].text()
    assert not page.next_button.isEnabled()
    page.bands.clear()
    qtbot.keyClicks(page.bands, "<=10: 5; <=20: 10; *: 20")
    assert page.dose_label.text() == "10 mg"
    assert page.next_button.isEnabled()


def test_keyboard_only_path_reaches_the_plan(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """Tab through the form typing values, then Enter plans the batch."""
    page = _page(window)
    page.patient.setFocus()
    QApplication.processEvents()

    def focused() -> QWidget | None:
        return QApplication.focusWidget()

    def type_and_tab(text: str) -> None:
        qtbot.keyClicks(focused(), text)
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)

    assert focused() is page.patient
    type_and_tab("P-2026-0147")
    type_and_tab("Dr Weber")
    assert focused() is page.drug
    qtbot.keyClick(page.drug, Qt.Key.Key_Tab)  # cyclophosphamide is first
    assert focused() is page.rule
    qtbot.keyClick(page.rule, Qt.Key.Key_Tab)  # mg/m² is the default
    assert focused() is page.amount
    type_and_tab("20")
    type_and_tab("110")
    assert focused() is page.weight_kg
    qtbot.keyClicks(page.weight_kg, "18")
    assert page.next_button.isEnabled()
    qtbot.keyClick(page.weight_kg, Qt.Key.Key_Return)
    assert window.current_page() == "plan"
    assert window.plan.summary.rowCount() >= 5


def test_mnemonic_moves_focus_to_weight(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    page = _page(window)
    window.activateWindow()
    qtbot.waitActive(window)
    page.patient.setFocus()
    qtbot.keyClick(page.patient, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is page.weight_kg

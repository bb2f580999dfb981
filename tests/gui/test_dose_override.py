"""Issue 10, finding 1 in the desktop application: the new-batch page refuses a dose that
rounding moved outside its tolerance (Next stays disabled) until a pharmacist signs an
override there; the plan, print and QC banners then name the override.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from printpharm.gui.main_window import MainWindow
from printpharm.gui.pages.new_batch import NewBatchPage
from printpharm.services.access.signatures import read_audit_events
from printpharm.services.station.workstation import Workstation
from tests.gui.conftest import REVIEWER, SUPERVISOR, TECHNICIAN

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]


def _hydrocortisone(window: MainWindow, amount: str = "0.075") -> NewBatchPage:
    window.show_page("new_batch")
    page = window.new_batch
    page.patient.setText("P-2026-0147")
    page.prescriber.setText("Dr Weber")
    page.drug.setCurrentIndex(page.drug.findData("hydrocortisone"))
    page.rule.setCurrentIndex(page.rule.findData("per_kg"))
    page.amount.setText(amount)
    page.weight_kg.setText("10")
    page.units.setValue(2)
    return page


def _sign(page: NewBatchPage, who: tuple[str, str, str], reason: str = "protocol") -> None:
    page.override_user.setText(who[0])
    page.override_password.setText(who[2])
    page.override_reason.setText(reason)
    page.override_button.click()


def _overrides(station: Workstation) -> list[str]:
    db = station.session.services.db  # type: ignore[union-attr]
    return [str(e.user_id) for e in read_audit_events(db) if e.action == "dose-override"]


def test_next_is_refused_until_a_pharmacist_signs_and_the_banners_say_so(
    qtbot,
    logged_in_window: OpenAs,
    station: Workstation,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(TECHNICIAN)
    page = _hydrocortisone(window)
    assert "1 mg — refused: outside the rounding tolerance" in page.dose_label.text()
    assert "deviation +33.33 %, OUTSIDE the ±10 % tolerance" in page.trail_label.text()
    assert "rounding_outside_tolerance" in page.warnings_label.text()
    assert not page.next_button.isEnabled() and not page.override_group.isHidden()
    assert "outside the rounding tolerance" in page.blocker.text()

    _sign(page, REVIEWER)  # a technician may not override
    assert "r.weiss may not override a dose" in page.override_error.text()
    _sign(page, TECHNICIAN)  # nor may the person entering the batch
    assert "cannot also override its dose" in page.override_error.text()
    assert not page.next_button.isEnabled() and _overrides(station) == []

    _sign(page, SUPERVISOR, "protocol rounds up at 10 kg")
    assert page.next_button.isEnabled() and page.override_password.text() == ""
    assert "DOSE OVERRIDE signed by Maria Keller (m.keller)" in page.override_status.text()
    assert _overrides(station) == [SUPERVISOR[0]]

    page.weight_kg.setText("10.5")  # another entry: the override does not carry over
    assert not page.next_button.isEnabled()
    page.weight_kg.setText("10")
    assert page.next_button.isEnabled()

    page.next_button.click()
    plan = window.plan
    qtbot.waitUntil(
        lambda: plan.authorisation is not None or bool(plan.error.text()), timeout=20_000
    )
    assert plan.authorisation is not None and plan.authorisation.allowed, plan.error.text()
    banner = plan.patient_banner.text()
    assert not plan.patient_banner.isHidden()
    assert "DOSE OVERRIDE signed by Maria Keller (m.keller)" in banner
    assert "+33.33 %" in banner and "reason: protocol rounds up at 10 kg" in banner
    plan.print_button.click()
    assert "DOSE OVERRIDE signed by Maria Keller" in window.print_page.patient_banner.text()
    assert "DOSE OVERRIDE signed by Maria Keller" in window.qc.patient_banner.text()


def test_a_dose_inside_the_tolerance_shows_no_override_group(
    qtbot,
    logged_in_window: OpenAs,  # type: ignore[no-untyped-def]
) -> None:
    page = _hydrocortisone(logged_in_window(TECHNICIAN), amount="0.1")
    assert page.dose_label.text() == "1 mg"
    assert page.override_group.isHidden() and page.next_button.isEnabled()


def test_the_page_fits_the_default_window_without_scrolling_sideways(
    qtbot,
    logged_in_window: OpenAs,  # type: ignore[no-untyped-def]
) -> None:
    from PySide6.QtWidgets import QScrollArea

    window = logged_in_window(TECHNICIAN)
    window.resize(1100, 760)
    page = _hydrocortisone(window)
    qtbot.wait(50)
    for area in page.findChildren(QScrollArea):
        content = area.widget()
        assert content is not None
        assert content.minimumSizeHint().width() <= area.viewport().width()
        assert area.horizontalScrollBar().maximum() == 0
    right = page.next_button.mapTo(window, page.next_button.rect().bottomRight())
    assert right.x() <= window.width() and page.recipe.width() < page.width()

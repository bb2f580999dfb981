"""The Calibrations page: a technician runs a series, pharmacists validate and lock it.

The series runs on the built-in simulators in the page's worker thread; the fit is
drawn (points, line, band, residuals), marked TRAINING ONLY, and signed through the
e-signature dialog. Who may do what is the services' rule, which the page reflects.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from printpharm.errors import PermissionDenied
from printpharm.gui.main_window import PAGE_KEYS, MainWindow
from printpharm.services.station.workstation import Workstation
from tests.gui.conftest import SECOND_SUPERVISOR, SUPERVISOR, TECHNICIAN
from tests.gui.test_library_locked import _lock_via_services

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]
INK = "cyclophosphamide-sse-chewable"


def _sign(qtbot, window: MainWindow, step: str, who: tuple[str, str, str]) -> None:  # type: ignore[no-untyped-def]
    page = window.calibration
    page.select(1)
    button = page.validate_button if step == "validate" else page.lock_button
    assert button.isEnabled(), button.toolTip()
    button.click()
    dialog = page.dialog
    assert (
        dialog is not None and "TRAINING ONLY" in dialog.findChild(object, "signatureWhat").text()
    )
    dialog.password.setText(who[2])
    dialog.comment.setText("OQ series reviewed")
    dialog.sign_button.click()
    assert not dialog.error.text(), dialog.error.text()
    assert page.message.text().startswith("Signed: Approved by " + who[1])


def test_a_technician_runs_a_series_and_two_pharmacists_validate_and_lock_it(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    assert "calibration" in PAGE_KEYS
    _lock_via_services(station, ("ink",))
    window = logged_in_window(TECHNICIAN)
    window.show_page("calibration")
    page = window.calibration
    assert page.table.rowCount() == 0 and page.run_button.isEnabled()
    assert page.devices.currentText() == "Built-in simulators — training only"
    page.ink.setCurrentText(INK)
    page.printer.setCurrentText("marlin-sse")
    page.replicates.setValue(1)  # 5 discs: refused by the site's minimum of 6 points
    page.run_button.click()
    qtbot.waitUntil(lambda: not page.runner.busy, timeout=120_000)
    assert "5 points; the site needs at least 6" in page.error.text()
    assert page.verdict.text().startswith("✘ does NOT meet the site's acceptance criteria")
    assert page.fit_chart.data is not None and len(page.fit_chart.data.points) == 5
    assert page.table.rowCount() == 0  # nothing stored
    page.replicates.setValue(2)
    page.run_button.click()
    assert not page.run_button.isEnabled()  # no second series while one runs
    qtbot.waitUntil(lambda: not page.runner.busy, timeout=120_000)
    assert not page.error.text(), page.error.text()
    assert page.message.text().startswith("Stored as calibration v1 (draft).")
    row = page.selected()
    assert row is not None and (row.status, row.use, row.in_force) == (
        "draft",
        "TRAINING ONLY",
        "no",
    )
    assert page.training.text().startswith("TRAINING ONLY: fitted on simulators")
    assert page.verdict.text() == "✔ meets the site's acceptance criteria"
    assert "n = 10 discs;  R² = 0.99" in page.stats.text()
    assert "fit: weighted least squares, weights 1/mass²" in page.stats.text()  # the default
    data = page.fit_chart.data
    assert data is not None and len(data.points) == 10 and len(data.residuals) == 10
    assert all(low < high for _, low, high in data.band)
    assert page.residual_chart.data is data
    assert not page.validate_button.isEnabled()  # a technician does not sign
    with pytest.raises(PermissionDenied, match="library.validate"):
        station.calibrations.sign("validate", 1, TECHNICIAN[0], TECHNICIAN[2], "")
    window.close()
    station.session.logout()
    window = logged_in_window(SUPERVISOR)
    window.show_page("calibration")
    _sign(qtbot, window, "validate", SUPERVISOR)
    assert window.calibration.selected().status == "validated"  # type: ignore[union-attr]
    window.close()
    station.session.logout()
    window = logged_in_window(SECOND_SUPERVISOR)
    window.show_page("calibration")
    _sign(qtbot, window, "lock", SECOND_SUPERVISOR)
    row = window.calibration.selected()
    assert row is not None and (row.status, row.in_force, row.use) == (
        "locked",
        "yes",
        "TRAINING ONLY",
    )
    assert "Approved by Paul Braun" in window.calibration.stats.text()
    window.close()


def test_nothing_is_signed_or_drawn_until_a_version_is_selected(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(SUPERVISOR)
    window.show_page("calibration")
    page = window.calibration
    assert page.run_button.isEnabled() and page.fit_chart.data is None
    assert not page.validate_button.isEnabled() and not page.lock_button.isEnabled()
    window.close()

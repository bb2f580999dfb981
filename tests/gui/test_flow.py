"""Login → new batch → plan (toolpaths) → print on the simulators → QC, through the window."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from printpharm.gui.main_window import MainWindow
from printpharm.services.access.signatures import read_audit_events
from tests.gui.conftest import (
    REVIEWER,
    SUPERVISOR,
    TECHNICIAN,
    clear_line,
    lock_drug,
    released_lot,
    use_lot,
)

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]


def _fill(window: MainWindow, amount: str = "20", units: int = 10) -> None:
    page = window.new_batch
    page.patient.setText("P-2026-0147")
    page.prescriber.setText("Dr Weber")
    page.drug.setCurrentIndex(page.drug.findData("cyclophosphamide"))
    page.rule.setCurrentIndex(page.rule.findData("per_m2"))
    page.amount.setText(amount)
    page.height_cm.setText("110")
    page.weight_kg.setText("18")
    page.units.setValue(units)


def test_plan_shows_numbers_and_layers(qtbot, logged_in_window: OpenAs) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(TECHNICIAN)
    _fill(window)
    window.new_batch.next_button.click()
    assert window.current_page() == "plan"
    plan = window.plan
    qtbot.waitUntil(lambda: plan.batch is not None or plan.error.text() != "", timeout=20_000)
    assert plan.batch is not None, plan.error.text()
    assert plan.batch.dose_mg == 15  # 20 mg/m² × 0.742 m² = 14.8 → 15 mg (step 0.5)
    assert plan.batch.plan.units == 10
    assert plan.slider.maximum() == len(plan.batch.layers) - 1 >= 1
    plan.slider.setValue(plan.slider.maximum())
    assert plan.layer_label.text().startswith(f"&Layer {len(plan.batch.layers)} of")
    assert plan.print_button.isEnabled()
    image = plan.view.grab().toImage()
    centre = image.pixelColor(image.width() // 2, image.height() // 2)
    corner = image.pixelColor(2, 2)
    assert centre != corner  # paths were drawn over the background
    assert plan.view_tabs.currentWidget().isAncestorOf(plan.unit_view)  # the 3-D tab first
    assert plan.unit_view.isVisible()
    height = plan.batch.plan.dimensions_mm["height_mm"]
    assert plan.unit_view.accessibleDescription().endswith(f" × {height:.1f} mm")
    image = plan.unit_view.grab().toImage()
    centre = image.pixelColor(image.width() // 2, image.height() // 2)
    assert centre != image.pixelColor(10, 10)  # the unit was drawn over the background


def test_plan_refusal_is_shown(qtbot, logged_in_window: OpenAs, station) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(TECHNICIAN)
    _fill(window)
    station.session.logout()  # the plan needs a live session; the refusal says so
    window.new_batch.next_button.click()
    plan = window.plan
    qtbot.waitUntil(lambda: plan.error.text() != "", timeout=20_000)
    assert "log" in plan.error.text().lower()
    assert not plan.print_button.isEnabled()
    assert plan.unit_view.accessibleDescription() == ""  # no unit is shown


def test_print_ten_units_on_the_simulators_then_qc(qtbot, logged_in_window: OpenAs) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(TECHNICIAN)
    _fill(window)
    window.new_batch.next_button.click()
    qtbot.waitUntil(lambda: window.plan.batch is not None, timeout=20_000)
    window.plan.print_button.click()
    assert window.current_page() == "print"
    page = window.print_page
    assert not page.start_button.isEnabled()  # the line is not cleared yet
    clear_line(page)
    assert page.start_button.isEnabled()
    page.start_button.click()
    qtbot.waitUntil(
        lambda: page.result is not None or not page.stop_button.isEnabled(), timeout=60_000
    )
    assert page.result is not None, page.alarm.text()
    assert page.result.status == "completed"
    assert page.table.rowCount() == 10
    assert page.overall.value() == 10
    assert page.verdict.text().startswith("COMPLETED")
    assert [p.n for p in page.mass_chart.points] == list(range(1, 11))  # one point per unit
    assert page.mass_chart.band_mg() is not None
    samples = page.temperature_chart.samples
    assert samples[-1].nozzle_target_c is not None  # the target carried from heating
    assert len(samples) >= 2 + 10  # heating, then readings at least after each unit
    assert "target" in page.last_temperature.text()
    measured = page.table.item(0, 2).text()
    assert len(measured.split(".")[1]) >= 2  # masses keep at least two decimals
    page.qc_button.click()
    assert window.current_page() == "qc"
    assert window.qc.model.rowCount() == 10
    assert len(window.qc.target.text().split(".")[1]) >= 2  # 300.00, not 300
    assert page.result.batch_id in window.qc.run_report.text()
    assert window.qc.verdict_local.text() == "PASS"


def test_plan_and_print_are_audited(qtbot, logged_in_window: OpenAs, station) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(TECHNICIAN)
    _fill(window, units=2)
    window.new_batch.next_button.click()
    qtbot.waitUntil(lambda: window.plan.batch is not None, timeout=20_000)
    window.plan.print_button.click()
    page = window.print_page
    clear_line(page)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=60_000)
    assert not page.start_button.isEnabled()  # a batch id prints once
    assert window.printer_status.text() == "Printer: disconnected"
    batch_id = page.result.batch_id
    actions = [
        e.action
        for e in read_audit_events(station.session.services.db)
        if e.batch_id == batch_id and e.user_id == TECHNICIAN[0]
    ]
    assert actions[0] == "planned"  # by the workstation, then the run's own record:
    assert len(actions) > 3 and "planned" not in actions[1:]
    assert station.session.batch(batch_id).status == "completed"
    assert len(station.session.batch(batch_id).units) == 2


def _switch(window: MainWindow, station, who: tuple[str, str, str]) -> None:  # type: ignore[no-untyped-def]
    station.session.logout()
    station.session.login(who[0], who[2])
    window.on_session_changed()


def _sign(panel, who: tuple[str, str, str], meaning: str, password: str | None = None) -> None:  # type: ignore[no-untyped-def]
    panel.meaning.setCurrentIndex(panel.meaning.findData(meaning))
    panel.user_id.setText(who[0])
    panel.password.setText(password or who[2])
    panel.sign_button.click()


def _enter_passing_assays(cu) -> None:  # type: ignore[no-untyped-def]
    """Type passing assays (mg) of the units printpharm chose, and enter them."""
    units = cu.status.samples[0].units
    cu.results.setPlainText("\n".join(f"{n}; {14.7 + n / 20:.2f}" for n in units))
    cu.basis.setCurrentIndex(cu.basis.findData("mg"))
    cu.method.setText("HPLC-UV, SOP QC-12")
    cu.enter_button.click()
    assert cu.verdict.text() == "PASS", cu.error.text()


def _assays_pass(window: MainWindow) -> None:
    """Let printpharm choose the units to assay, and enter passing results."""
    cu = window.qc.cu
    cu.select_button.click()
    assert cu.status is not None, cu.error.text()
    _enter_passing_assays(cu)


def _open_as(qtbot, station, settings, who: tuple[str, str, str]) -> MainWindow:  # type: ignore[no-untyped-def]
    station.session.login(who[0], who[2])
    window = MainWindow(station, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_simulator_batch_is_closed_as_training_not_released(
    qtbot, logged_in_window: OpenAs, station
) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: printed and weighed on the simulators, the batch is never for patient use."""
    window = logged_in_window(TECHNICIAN)
    _fill(window, units=10)  # 15 mg at 5 % w/w: content uniformity of 10 units is needed
    window.new_batch.next_button.click()
    qtbot.waitUntil(lambda: window.plan.batch is not None, timeout=20_000)
    window.plan.print_button.click()
    clear_line(window.print_page)
    window.print_page.start_button.click()
    qtbot.waitUntil(lambda: window.print_page.result is not None, timeout=60_000)
    window.show_page("qc")
    panel = window.qc.release
    _switch(window, station, REVIEWER)
    _sign(panel, REVIEWER, "reviewed")
    assert panel.signed.text().startswith("Reviewed by Rosa Weiss")
    _switch(window, station, SUPERVISOR)
    assert panel.meaning.findData("released") == -1  # never offered: pending, not for patients
    _assays_pass(window)  # even once its content uniformity passes, release is not offered
    assert panel.meaning.findData("released") == -1
    status = panel.status.text()
    assert "QC PASS, but NOT FOR PATIENT USE (" in status and "simulat" in status, status
    assert "close it with Reject" in status
    _switch(window, station, REVIEWER)  # the assays changed the record: reviewed again
    _sign(panel, REVIEWER, "reviewed")
    _switch(window, station, SUPERVISOR)
    _sign(panel, SUPERVISOR, "rejected")
    assert "Rejected by Maria Keller (m.keller) on " in panel.signed.text()
    assert station.session.batch(window.print_page.result.batch_id).status == "rejected"


def test_review_then_release_with_electronic_signatures(
    qtbot,
    bench_station,
    settings,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """A batch for patient use: a locked library, a released lot, qualified bench devices."""
    station = bench_station
    lock_drug(station)
    released_lot(station, "CPM-REL")
    window = _open_as(qtbot, station, settings, TECHNICIAN)
    _fill(window, units=10)  # 15 mg at 5 % w/w: content uniformity of 10 units is needed
    window.new_batch.next_button.click()
    plan = window.plan
    qtbot.waitUntil(
        lambda: plan.batch is not None and plan.authorisation is not None, timeout=20_000
    )
    use_lot(plan, "CPM-REL")  # a released lot of the locked ink version
    plan.verifier_id.setText(SUPERVISOR[0])  # the second-person check of the entry
    plan.verifier_password.setText(SUPERVISOR[2])
    plan.verify_button.click()
    assert plan.authorisation.patient_use, plan.patient_banner.text()
    plan.print_button.click()
    clear_line(window.print_page)
    window.print_page.start_button.click()
    qtbot.waitUntil(lambda: window.print_page.result is not None, timeout=60_000)
    result = window.print_page.result
    assert result.status == "completed" and not result.passed  # not a pass until CU passes
    assert result.qc.verdict == "pending_content_uniformity"
    window.show_page("qc")
    panel = window.qc.release
    _sign(panel, TECHNICIAN, "reviewed")  # the technician who printed may not sign it
    assert panel.error.text() and not panel.signed.text()
    assert panel.meaning.findData("released") == -1  # a pending verdict is not offered
    assert "QC PENDING CONTENT UNIFORMITY, not releasable" in panel.status.text()
    _switch(window, station, REVIEWER)
    _sign(panel, REVIEWER, "reviewed", password="wrong-password")
    assert panel.error.text() and not panel.signed.text()
    _sign(panel, REVIEWER, "reviewed")
    assert panel.signed.text().startswith("Reviewed by Rosa Weiss (r.weiss) on ")
    _switch(window, station, SUPERVISOR)
    cu = window.qc.cu
    cu.select_button.click()
    assert cu.status is not None and cu.status.state == "PENDING", cu.error.text()
    assert panel.meaning.findData("released") == -1  # chosen, not yet assayed
    _enter_passing_assays(cu)
    assert "QC PASS, may be released" in panel.status.text()  # the record's verdict now
    assert "the run's QC PENDING_CONTENT_UNIFORMITY" in window.qc.run_report.text()
    _sign(panel, SUPERVISOR, "released")  # the review predates the assays
    assert "review" in panel.error.text() and not panel.signed.text()
    _switch(window, station, REVIEWER)  # the assays changed the record: reviewed again
    _sign(panel, REVIEWER, "reviewed")
    _switch(window, station, SUPERVISOR)
    _sign(panel, SUPERVISOR, "released")
    assert "Released by Maria Keller (m.keller) on " in panel.signed.text(), panel.error.text()
    batch_id = window.print_page.result.batch_id
    assert station.session.batch(batch_id).status == "released"
    window.show_page("history")  # the supervisor may view records and the audit trail
    history = window.history
    assert history.batches.item(0, 0).text() == batch_id
    assert history.batches.item(0, 1).text().startswith("released")
    history.batches.selectRow(0)
    target = tmp_path / "record.pdf"
    history.export_selected(target, "pdf")
    assert target.read_bytes().startswith(b"%PDF"), history.error.text()
    assert str(target) in history.exported.text()


def test_plan_shows_the_predicted_unit_mass_and_which_calibration(
    qtbot, logged_in_window: OpenAs
) -> None:  # type: ignore[no-untyped-def]
    from tests.gui.test_entry_check import _rows

    window = logged_in_window(TECHNICIAN)
    _fill(window, units=2)
    window.new_batch.next_button.click()
    plan = window.plan
    qtbot.waitUntil(lambda: plan.batch is not None or plan.error.text() != "", timeout=20_000)
    assert plan.batch is not None, plan.error.text()
    rows = _rows(plan)
    # nothing is calibrated on site in this database: the ink file's line, said so
    assert rows["Calibration:"] == ["ink file, not fitted on site (cyclophosphamide-sse-chewable)"]
    (predicted,) = rows["Predicted unit mass:"]
    assert predicted.startswith("predicted unit mass 300.0")
    assert predicted.endswith("(no prediction interval: not fitted from weighed units)")

"""Library page (import, validate, lock by a supervisor), locked-mode gate, start-up recovery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt

from printpharm.errors import DesignSpaceError
from printpharm.gui.main_window import MainWindow
from printpharm.services.access.signatures import read_audit_events
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.events import UnitWeighed
from printpharm.services.run.recording import BatchRecorder
from printpharm.services.station import batch as _station_batch
from printpharm.services.station.workstation import DoseForm, StationSession, Workstation
from tests.gui.conftest import (
    SECOND_SUPERVISOR,
    SUPERVISOR,
    TECHNICIAN,
    clear_line,
    lock_drug,
    released_lot,
    use_lot,
)
from tests.gui.test_flow import _fill

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]
DRUG = "cyclophosphamide"


def _sign_in_dialog(qtbot, page, step: str, comment: str, who=SUPERVISOR) -> str:  # type: ignore[no-untyped-def]
    """Sign in the page's dialog as ``who``; the dialog's error text ('' when signed)."""
    (page.validate_button if step == "validate" else page.lock_button).click()
    dialog = page.dialog
    assert dialog is not None and dialog.user_id.text() == who[0]
    dialog.password.setText(who[2])
    dialog.comment.setText(comment)
    dialog.sign_button.click()
    return str(dialog.error.text())


def _switch_to(window: MainWindow, station: Workstation, who: tuple[str, str, str]) -> None:
    session = station.session
    session.logout()
    session.login(who[0], who[2])
    window.on_session_changed()


def _lock_via_services(station: Workstation, kinds: tuple[str, ...], drug: str = DRUG) -> None:
    lock_drug(station, drug, kinds)


def _plan(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    _fill(window, units=2)
    window.new_batch.next_button.click()
    plan = window.plan
    qtbot.waitUntil(
        lambda: plan.authorisation is not None or bool(plan.error.text()), timeout=20_000
    )


def test_supervisors_import_validate_and_lock_through_the_page(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(SUPERVISOR)
    window.show_page("library")
    page = window.library
    assert page.table.rowCount() == 0 and "empty" in page.summary.text()
    page.import_button.click()
    assert page.table.rowCount() > 2 and "new version" in page.message.text()
    assert {r.status for r in page.rows} == {"draft"}
    recipe = next(r for r in page.rows if r.kind == "recipe")
    page.select("recipe", recipe.item_id, recipe.version)
    assert page.validate_button.isEnabled() and not page.lock_button.isEnabled()
    assert _sign_in_dialog(qtbot, page, "validate", "PQ report 12") == ""
    page.select("recipe", recipe.item_id, recipe.version)
    assert page.selected().status == "validated"  # type: ignore[union-attr]
    refused = _sign_in_dialog(qtbot, page, "lock", "released for patients")
    assert "may not also lock" in refused  # issue 13: a second pharmacist locks
    page.dialog.reject()
    _switch_to(window, station, SECOND_SUPERVISOR)
    window.show_page("library")
    page.select("recipe", recipe.item_id, recipe.version)
    assert _sign_in_dialog(qtbot, page, "lock", "released", SECOND_SUPERVISOR) == ""
    locked = page.selected() or next(r for r in page.rows if r.item_id == recipe.item_id)
    assert locked.status == "locked"
    assert "Maria Keller" in locked.signed and "Paul Braun" in locked.signed
    assert "lock" in locked.signed
    assert "Signed:" in page.message.text()
    assert "1 recipe(s) locked" in page.summary.text()


def test_technician_sees_the_library_read_only(qtbot, logged_in_window: OpenAs) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(TECHNICIAN)
    page = window.library
    window.show_page("library")
    assert not page.import_button.isEnabled() and "Read-only" in page.summary.text()
    page.import_shipped()  # forced past the disabled button: refused as text, no crash
    assert "permission" in page.error.text().lower() or "may not" in page.error.text().lower()
    assert page.table.rowCount() == 0


def test_a_fresh_database_prints_shipped_examples_but_not_for_patient_use(
    qtbot, logged_in_window: OpenAs
) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(TECHNICIAN)
    _plan(qtbot, window)
    plan = window.plan
    assert plan.authorisation is not None and plan.authorisation.allowed
    texts = [plan.numbers.itemAt(i).widget().text() for i in range(plan.numbers.count())]
    assert any("shipped file, treated as locked" in t for t in texts if t)
    # The shipped recipes are examples: they print (training, validation) but their
    # batches are not for patient use until validated and locked on site.
    assert plan.print_button.isEnabled() and not plan.authorisation.patient_use
    assert not plan.patient_banner.isHidden()
    assert plan.patient_banner.text().startswith("NOT FOR PATIENT USE")
    assert "examples shipped with printpharm" in plan.patient_banner.text()


def test_locked_mode_refuses_a_batch_whose_ink_is_not_locked(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    _lock_via_services(station, ("recipe",))  # the recipe is locked, its ink is not
    window = logged_in_window(TECHNICIAN)
    _plan(qtbot, window)
    plan = window.plan
    assert plan.authorisation is not None and not plan.authorisation.allowed
    assert "locked mode refuses" in plan.error.text() and "ink" in plan.error.text()
    assert not plan.print_button.isEnabled()
    assert plan.batch is not None
    window.print_page.set_batch(plan.batch, plan.authorisation)  # even if reached somehow
    assert not window.print_page.start_button.isEnabled()
    assert "locked mode refuses" in window.print_page.alarm.text()
    with pytest.raises(DesignSpaceError, match="not a locked library version"):
        station.print_batch(plan.batch, EventHub(), CancelToken())


def test_locked_versions_authorise_the_batch_for_patient_use(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    _lock_via_services(station, ("recipe", "ink"))
    released_lot(station, "CPM-OK")
    window = logged_in_window(TECHNICIAN)
    _plan(qtbot, window)
    plan = window.plan
    assert plan.authorisation is not None and plan.authorisation.allowed
    use_lot(plan, "CPM-OK")  # a released lot of the locked ink version
    # Locked versions are not enough: a pharmacist verifies the technician's entry first.
    assert not plan.authorisation.patient_use and plan.print_button.isEnabled()
    assert "not verified by a second person" in plan.patient_banner.text()
    assert not plan.check_group.isHidden()
    qtbot.keyClicks(plan.verifier_id, SUPERVISOR[0])
    qtbot.keyClicks(plan.verifier_password, SUPERVISOR[2])
    qtbot.keyClick(plan.verifier_password, Qt.Key.Key_Return)  # Enter verifies
    assert plan.verified.text() == "Verified by Maria Keller.", plan.error.text()
    assert plan.authorisation is not None and plan.authorisation.patient_use
    assert plan.authorisation.recipe_line.endswith(" v1") and plan.print_button.isEnabled()
    assert plan.patient_banner.isHidden() and plan.check_group.isHidden()
    assert station.session.user is not None and station.session.user.user_id == TECHNICIAN[0]
    # Printed and weighed on the built-in simulators, the batch is for training only.
    plan.print_button.click()
    page = window.print_page
    clear_line(page)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=60_000)
    assert page.result is not None and page.result.status == "completed"
    for banner in (page.patient_banner, window.qc.patient_banner):
        assert not banner.isHidden()
        assert banner.text().startswith("NOT FOR PATIENT USE — weighed on the built-in simulated")


def test_research_mode_batch_is_flagged_not_for_patient_use_on_every_page(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    _lock_via_services(station, ("recipe",))  # the ink is not locked
    station.session.login(SUPERVISOR[0], SUPERVISOR[2])
    station.session.unlock_research(SUPERVISOR[0], SUPERVISOR[2], "dose-finding study", 30)
    station.session.logout()
    window = logged_in_window(TECHNICIAN)
    _plan(qtbot, window)
    plan = window.plan
    assert plan.authorisation is not None and plan.authorisation.allowed
    assert not plan.authorisation.patient_use and plan.print_button.isEnabled()
    assert plan.patient_banner.text().startswith("NOT FOR PATIENT USE")
    assert "ink" in plan.patient_banner.text()
    plan.print_button.click()
    for page in (window.plan, window.print_page, window.qc):
        assert page.patient_banner.text().startswith("NOT FOR PATIENT USE")
        assert not page.patient_banner.isHidden()
    clear_line(window.print_page)
    assert window.print_page.start_button.isEnabled()


def test_research_mode_prints_a_recipe_that_is_not_locked_not_for_patient_use(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    other = next(d for d in station.drugs() if d != DRUG)
    _lock_via_services(station, ("recipe",), drug=other)  # the library is in use
    station.session.login(SUPERVISOR[0], SUPERVISOR[2])
    station.session.unlock_research(SUPERVISOR[0], SUPERVISOR[2], "dose-finding study", 30)
    station.session.logout()
    window = logged_in_window(TECHNICIAN)
    _plan(qtbot, window)
    plan = window.plan
    assert plan.authorisation is not None and plan.authorisation.allowed
    assert "recipe" in plan.patient_banner.text() and plan.print_button.isEnabled()
    plan.print_button.click()
    page = window.print_page
    clear_line(page)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.result is not None or bool(page.alarm.text()), timeout=60_000)
    assert page.result is not None and page.result.status == "completed", page.alarm.text()
    (event,) = [
        e
        for e in read_audit_events(station.session.services.db)  # type: ignore[union-attr]
        if e.batch_id == page.result.batch_id and e.action == "authorise"
    ]
    assert event.new()["patient_use"] is False


class _Crash:
    """Forwards a run's records but never closes the batch, as if the process died."""

    def __init__(self, inner: BatchRecorder) -> None:
        self.batch_started = inner.batch_started
        self.unit_weighed = inner.unit_weighed
        self.alarm = inner.alarm
        self.correction = inner.correction

    def finished(self, result: Any) -> None:
        pass

    def interrupted(self, result: Any) -> None:
        pass


def test_startup_recovery_names_the_batches_a_crash_left_printing(
    qtbot, station: Workstation, settings
) -> None:  # type: ignore[no-untyped-def]
    session = station.session
    session.login(TECHNICIAN[0], TECHNICIAN[2])
    form = _form(station)
    batch = station.plan(form, station.preview_dose(form))
    hub, cancel = EventHub(), CancelToken()
    hub.subscribe(lambda e: cancel.cancel("power cut") if isinstance(e, UnitWeighed) else None)
    assert station.catalog is not None
    ports = ("sim://printer", "sim://balance")
    _station_batch.print_batch(
        station.catalog, batch, ports, hub=hub, cancel=cancel, operator=None,
        recorder=_Crash(session.recorder()), records_dir=None,
    )  # fmt: skip
    assert session.batch(batch.batch_id).status == "printing"
    session.close()
    from printpharm.services.run import lease

    lease._HELD.clear()  # the process "died": its leases no longer hold (as after a power cut)
    restarted = StationSession(session.db_url, session.now)
    assert restarted.open(), restarted.open_error  # the start-up recovery runs here
    restarted.login(TECHNICIAN[0], TECHNICIAN[2])
    ws = Workstation(station.config, station.catalog, None, restarted)
    window = MainWindow(ws, settings)
    qtbot.addWidget(window)
    window.show()
    assert window.recovery_strip.isVisible()
    assert batch.batch_id in window.recovery.text() and "INTERRUPTED" in window.recovery.text()
    assert restarted.batch(batch.batch_id).status == "interrupted"
    assert restarted.recovered == []  # shown once
    window.recovery_close.click()
    assert not window.recovery_strip.isVisible()
    window.close()
    restarted.close()


def _form(station: Workstation) -> DoseForm:
    return DoseForm(
        patient_id="P-2026-0147",
        prescriber="Dr Weber",
        recipe_id=station.recipes(DRUG)[0].id,
        rule="per_m2",
        amount="20",
        height_cm="110",
        weight_kg="18",
        units=2,
    )

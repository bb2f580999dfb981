"""Plan page: the second-person check (a pharmacist verifies the technician's entry and dose)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFormLayout, QLabel, QLineEdit

from printpharm.gui.main_window import MainWindow
from printpharm.gui.pages.plan import PlanPage
from printpharm.services.access.signatures import read_audit_events
from printpharm.services.station.workstation import Workstation
from tests.gui.conftest import REVIEWER, SUPERVISOR, TECHNICIAN, released_lot, use_lot
from tests.gui.test_library_locked import _lock_via_services, _plan

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]
NOT_VERIFIED = "not verified by a second person (a pharmacist)"


def _rows(plan: PlanPage) -> dict[str, list[str]]:
    """The Plan group's rows: label text → the value texts of every row with that label."""
    rows: dict[str, list[str]] = {}
    for row in range(plan.numbers.rowCount()):
        label = plan.numbers.itemAt(row, QFormLayout.ItemRole.LabelRole)
        value = plan.numbers.itemAt(row, QFormLayout.ItemRole.FieldRole)
        if label is not None and value is not None:
            label_widget, value_widget = label.widget(), value.widget()
            assert isinstance(label_widget, QLabel) and isinstance(value_widget, QLabel)
            rows.setdefault(label_widget.text(), []).append(value_widget.text())
    return rows


def _verify(plan: PlanPage, who: tuple[str, str, str], password: str | None = None) -> None:
    plan.verifier_id.setText(who[0])
    plan.verifier_password.setText(who[2] if password is None else password)
    plan.verify_button.click()


def _verifications(station: Workstation) -> list[str]:
    db = station.session.services.db  # type: ignore[union-attr]
    return [e.user_id for e in read_audit_events(db) if e.action == "verify-entry"]


def _planned_unverified(qtbot, window: MainWindow) -> PlanPage:  # type: ignore[no-untyped-def]
    _plan(qtbot, window)
    plan = window.plan
    assert plan.authorisation is not None and plan.authorisation.allowed, plan.error.text()
    assert not plan.authorisation.patient_use and NOT_VERIFIED in plan.patient_banner.text()
    assert not plan.check_group.isHidden() and plan.verified.isHidden()
    return plan


def _assert_unchanged(plan: PlanPage, before: object, station: Workstation) -> None:
    assert plan.authorisation is before  # not re-authorised
    assert NOT_VERIFIED in plan.patient_banner.text() and not plan.patient_banner.isHidden()
    assert not plan.check_group.isHidden() and plan.verified.isHidden()
    assert plan.verifier_password.text() == ""
    assert _verifications(station) == []


def test_the_check_is_keyboard_operable_and_labelled(qtbot, logged_in_window: OpenAs) -> None:  # type: ignore[no-untyped-def]
    plan = _planned_unverified(qtbot, logged_in_window(TECHNICIAN))
    assert "pharmacist checks the patient, prescription, dose calculation and units" in (
        " ".join(label.text() for label in plan.check_group.findChildren(QLabel))
    )
    assert plan.verifier_password.echoMode() == QLineEdit.EchoMode.Password
    buddies = {
        label.text(): label.buddy()
        for label in plan.check_group.findChildren(QLabel)
        if label.buddy() is not None
    }
    assert buddies == {
        "Pharmacist's user &ID:": plan.verifier_id,
        "Pharmacist's pass&word:": plan.verifier_password,
    }
    assert plan.verify_button.text() == "&Verify entry"
    for widget in (plan.verifier_id, plan.verifier_password, plan.verify_button):
        assert widget.accessibleName() and widget.toolTip() and widget.objectName()
    window = plan.window()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)  # the label's mnemonic
    assert QApplication.focusWidget() is plan.verifier_id
    qtbot.keyClicks(plan.verifier_id, SUPERVISOR[0])
    qtbot.keyClick(plan.verifier_id, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is plan.verifier_password
    qtbot.keyClicks(plan.verifier_password, SUPERVISOR[2])
    qtbot.keyClick(plan.verifier_password, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is plan.verify_button
    qtbot.keyClick(plan.verify_button, Qt.Key.Key_Space)
    assert plan.verified.text() == "Verified by Maria Keller.", plan.error.text()
    assert QApplication.focusWidget() is plan.print_button  # the next step


def test_a_technician_cannot_verify_their_own_entry(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    plan = _planned_unverified(qtbot, logged_in_window(TECHNICIAN))
    before = plan.authorisation
    _verify(plan, TECHNICIAN)
    assert plan.error.text().startswith("⚠ Not verified: ")
    assert "t.nguyen entered this batch and cannot also verify it" in plan.error.text()
    _assert_unchanged(plan, before, station)


def test_another_technician_may_not_verify(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    plan = _planned_unverified(qtbot, logged_in_window(TECHNICIAN))
    before = plan.authorisation
    _verify(plan, REVIEWER)  # r.weiss is a technician too
    assert "role technician may not prescription.verify" in plan.error.text()
    _assert_unchanged(plan, before, station)


def test_a_wrong_password_is_refused_and_cleared_then_the_right_one_verifies(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    plan = _planned_unverified(qtbot, logged_in_window(TECHNICIAN))
    before = plan.authorisation
    _verify(plan, SUPERVISOR, password="not-her-password")
    assert "wrong user ID or password" in plan.error.text()
    assert plan.verifier_id.text() == SUPERVISOR[0]  # kept: only the password is re-typed
    _assert_unchanged(plan, before, station)
    plan.verifier_password.setText(SUPERVISOR[2])
    plan.verify_button.click()
    assert plan.error.isHidden() and plan.verified.text() == "Verified by Maria Keller."
    assert plan.verifier_password.text() == ""
    assert _verifications(station) == [SUPERVISOR[0]]


def test_the_check_is_asked_among_other_problems_and_only_they_remain(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(TECHNICIAN)  # a fresh database: shipped example recipes
    plan = _planned_unverified(qtbot, window)
    assert "examples shipped with printpharm" in plan.patient_banner.text()
    assert _rows(plan)["Use:"] == ["NOT FOR PATIENT USE"]
    _verify(plan, SUPERVISOR)
    assert plan.verified.text() == "Verified by Maria Keller.", plan.error.text()
    assert plan.authorisation is not None and not plan.authorisation.patient_use
    assert plan.check_group.isHidden()  # verified: the other problems are not the pharmacist's
    assert "examples shipped with printpharm" in plan.patient_banner.text()
    assert NOT_VERIFIED not in plan.patient_banner.text()
    rows = _rows(plan)
    assert rows["Use:"] == ["NOT FOR PATIENT USE"] and len(rows["Recipe version:"]) == 1
    assert plan.print_button.isEnabled()
    plan.print_button.click()  # the print page gets the new authorisation
    assert NOT_VERIFIED not in window.print_page.patient_banner.text()


def test_a_verified_batch_is_for_patient_use_and_a_new_batch_needs_its_own_check(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    _lock_via_services(station, ("recipe", "ink"))
    released_lot(station, "CPM-OK")
    window = logged_in_window(TECHNICIAN)
    plan = _planned_unverified(qtbot, window)
    assert _rows(plan)["Use:"] == ["NOT FOR PATIENT USE"]
    use_lot(plan, "CPM-OK")
    _verify(plan, SUPERVISOR)
    assert plan.authorisation is not None and plan.authorisation.patient_use
    assert plan.patient_banner.isHidden() and plan.check_group.isHidden()
    assert _rows(plan)["Use:"] == ["for patient use"]
    window.show_page("new_batch")
    plan = _planned_unverified(qtbot, window)  # the check does not carry over
    assert plan.verified.isHidden() and plan.verifier_id.text() == ""


def test_the_check_is_hidden_when_locked_mode_refuses(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    _lock_via_services(station, ("recipe",))  # the ink is not locked
    window = logged_in_window(TECHNICIAN)
    _plan(qtbot, window)
    plan = window.plan
    assert plan.authorisation is not None and not plan.authorisation.allowed
    assert plan.check_group.isHidden() and not plan.print_button.isEnabled()


def test_a_supervisor_entering_a_batch_needs_another_pharmacist(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    plan = _planned_unverified(qtbot, logged_in_window(SUPERVISOR))
    qtbot.keyClicks(plan.verifier_id, SUPERVISOR[0])
    qtbot.keyClick(plan.verifier_id, Qt.Key.Key_Return)  # Enter moves to the password
    qtbot.keyClicks(plan.verifier_password, SUPERVISOR[2])
    qtbot.keyClick(plan.verifier_password, Qt.Key.Key_Return)
    assert "m.keller entered this batch and cannot also verify it" in plan.error.text()
    assert not plan.check_group.isHidden() and _verifications(station) == []

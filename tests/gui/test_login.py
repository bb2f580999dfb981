"""First run, login, lockout, idle lock, research unlock/expiry, administration, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog

from printpharm.gui.first_run import FirstRunDialog
from printpharm.gui.login import LoginDialog
from printpharm.gui.main_window import MainWindow
from printpharm.services.station.workstation import StationSession, Workstation
from tests.gui.conftest import ADMIN, SUPERVISOR, TECHNICIAN, Clock

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]


def test_first_run_creates_database_and_administrator(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session = StationSession(f"sqlite:///{tmp_path / 'new.sqlite3'}", Clock())
    assert session.needs_first_run()
    dialog = FirstRunDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "new.sqlite3" in dialog.use_default.text()
    qtbot.keyClicks(dialog.admin_id, "admin.root")
    qtbot.keyClicks(dialog.full_name, "Ada Admin")
    qtbot.keyClicks(dialog.password, "short")
    qtbot.keyClicks(dialog.again, "short")
    dialog.try_create()
    assert dialog.error.isVisible()  # the password policy refuses it, inline
    assert dialog.result() != QDialog.DialogCode.Accepted
    for edit in (dialog.password, dialog.again):
        edit.setText(ADMIN[2])
    dialog.try_create()
    assert dialog.recovery.isVisible()  # issue 13: the break-glass code, shown once
    code = dialog.recovery_code.text()
    assert len(code.replace("-", "")) == 30 and "Continue" in dialog.create_button.text()
    assert dialog.result() != QDialog.DialogCode.Accepted  # not before it was seen
    dialog.try_create()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.chosen_url is None
    assert not session.needs_first_run()
    session.close()


def test_login_refuses_wrong_password_inline_then_accepts(qtbot, station: Workstation) -> None:  # type: ignore[no-untyped-def]
    dialog = LoginDialog(station.session)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.user_id, TECHNICIAN[0])
    qtbot.keyClicks(dialog.password, "wrong-password")
    dialog.try_login()
    assert dialog.error.isVisible()
    assert dialog.password.text() == ""
    assert station.session.user is None
    qtbot.keyClicks(dialog.password, TECHNICIAN[2])
    dialog.try_login()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert station.session.user is not None and station.session.user.user_id == TECHNICIAN[0]


def test_five_failures_lock_the_account(qtbot, station: Workstation) -> None:  # type: ignore[no-untyped-def]
    dialog = LoginDialog(station.session)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.user_id.setText(TECHNICIAN[0])
    for _ in range(5):
        dialog.password.setText("wrong-password")
        dialog.try_login()
    dialog.password.setText(TECHNICIAN[2])  # even the right password is refused now
    dialog.try_login()
    assert "lock" in dialog.error.text().lower()
    assert station.session.user is None


def test_window_shows_user_and_role(logged_in_window: OpenAs) -> None:
    window = logged_in_window(TECHNICIAN)
    assert window.user_status.text() == "Tam Nguyen (technician)"
    assert not window.research.unlock_group.isEnabled()  # technicians may not unlock
    assert window.admin.denied.isVisible() or not window.admin.add_group.isEnabled()


def test_idle_timeout_locks_and_same_user_unlocks(
    qtbot,
    logged_in_window: OpenAs,
    station: Workstation,
    clock: Clock,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(TECHNICIAN)
    clock.advance(station.session.idle_timeout_s + 1)
    window.guard.poll()
    dialog = window.lock_dialog
    assert dialog is not None and dialog.isVisible()
    assert not window.body.isEnabled()
    assert dialog.user_id.text() == TECHNICIAN[0]
    dialog.password.setText("wrong-password")
    dialog.try_login()
    assert dialog.error.isVisible() and not window.body.isEnabled()
    dialog.password.setText(TECHNICIAN[2])
    dialog.try_login()
    assert window.body.isEnabled()
    assert window.lock_dialog is None


def test_activity_keeps_the_session_open(
    qtbot,
    logged_in_window: OpenAs,
    station: Workstation,
    clock: Clock,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(TECHNICIAN)
    half = station.session.idle_timeout_s // 2 + 1
    for _ in range(3):
        clock.advance(half)
        qtbot.keyClicks(window.new_batch.patient, "P")
        window.guard.poll()
    assert window.lock_dialog is None


def test_research_unlock_shows_banner_and_expires(
    qtbot,
    logged_in_window: OpenAs,
    clock: Clock,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(SUPERVISOR)
    window.show_page("research")
    page = window.research
    assert page.unlock_group.isEnabled()
    page.user_id.setText(SUPERVISOR[0])
    page.password.setText(SUPERVISOR[2])
    page.reason.setText("calibration of ink lot 42")
    page.minutes.setValue(30)
    page.unlock_button.click()
    assert not page.error.isVisible(), page.error.text()
    until = (clock.now + timedelta(minutes=30)).astimezone().strftime("%H:%M")  # local time
    assert window.banner.text() == f"RESEARCH MODE until {until} — unlocked by {SUPERVISOR[0]}"
    assert "30 min left" in page.status.text()
    assert page.lock_button.isEnabled()
    clock.advance(31 * 60)
    window.refresh_mode()
    assert window.banner.text().startswith("LOCKED MODE")


def test_research_unlock_with_wrong_password_is_refused(
    qtbot,
    logged_in_window: OpenAs,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(SUPERVISOR)
    window.show_page("research")
    page = window.research
    page.user_id.setText(SUPERVISOR[0])
    page.password.setText("wrong-password")
    page.reason.setText("trial")
    page.unlock_button.click()
    assert page.error.isVisible()
    assert window.banner.text().startswith("LOCKED MODE")


def test_administrator_adds_a_technician(qtbot, logged_in_window: OpenAs) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(ADMIN)
    window.show_page("admin")
    page = window.admin
    before = page.table.rowCount()  # the template's six accounts
    assert before == 6
    page.new_id.setText("j.doe")
    page.new_name.setText("Jo Doe")
    page.add_button.click()  # nobody recorded Jo's training for the role yet (TRN-01)
    assert "no in-date training record for the role technician" in page.error.text()
    assert page.table.rowCount() == before
    window.show_page("equipment")
    training = window.equipment.training
    training.person.setText("j.doe")
    training.kind.setCurrentIndex(training.kind.findData("role"))
    training.subject.setText("technician")
    training.trained_on.setText("2026-11-20")
    training.trainer.setText("Tara Trainer")
    training.add_button.click()
    assert training.message.text().startswith("j.doe trained on role technician"), (
        training.error.text()
    )
    window.show_page("admin")
    page.add_button.click()
    assert "One-time password" in page.message.text()
    assert page.table.rowCount() == before + 1


def test_history_shows_audit_events_and_verifies_the_chain(
    qtbot,
    logged_in_window: OpenAs,  # type: ignore[no-untyped-def]
) -> None:
    window = logged_in_window(SUPERVISOR)
    window.show_page("history")
    page = window.history
    assert page.table.rowCount() > 0
    actions = {page.table.item(r, 4).text() for r in range(page.table.rowCount())}
    assert "login" in actions
    page.verify_button.click()
    assert page.verdict.text().startswith("audit trail intact")


def test_window_state_survives_login(logged_in_window: OpenAs, settings: QSettings) -> None:
    window = logged_in_window(TECHNICIAN)
    assert window.current_page() == "new_batch"

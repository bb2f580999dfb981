"""Issue 13: the integrity gate in the GUI — at start-up and before every recorded action.

On failure production is read-only (printing, signing, changes refused; viewing and
exporting still work) and a banner tells the administrator what to do.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from printpharm.gui.main_window import MainWindow
from printpharm.services.station.workstation import StationSession, Workstation, WorkstationConfig
from tests.gui.conftest import ADMIN, SUPERVISOR, Clock

pytestmark = pytest.mark.gui

OpenAs = Callable[[tuple[str, str, str]], MainWindow]


def _cut_the_last_event(path: Path) -> None:
    """A forger with the file: delete the newest event and move the head back (no key)."""
    con = sqlite3.connect(path)
    try:
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            con.execute(f"DROP TRIGGER {name}")
        seq, digest, at = con.execute(
            "SELECT seq, event_hash, occurred_at FROM audit_events ORDER BY seq DESC LIMIT 1 "
            "OFFSET 1"
        ).fetchone()
        con.execute("DELETE FROM audit_events WHERE seq > ?", (seq,))
        con.execute(
            "UPDATE audit_head SET last_seq = ?, last_hash = ?, last_occurred_at = ?",
            (seq, digest, at),
        )
        con.commit()
    finally:
        con.close()


def _add_user(window: MainWindow, user_id: str) -> None:
    window.show_page("admin")
    page = window.admin
    page.new_id.setText(user_id)
    page.new_name.setText("Jo Doe")
    page.add_button.click()


def _train(window: MainWindow, user_id: str) -> None:
    """The administrator records the person's training for the role (TRN-01 comes first)."""
    window.show_page("equipment")
    training = window.equipment.training
    training.person.setText(user_id)
    training.kind.setCurrentIndex(training.kind.findData("role"))
    training.subject.setText("technician")
    training.trained_on.setText("2026-11-20")
    training.trainer.setText("Tara Trainer")
    training.add_button.click()
    assert training.message.text().startswith(f"{user_id} trained"), training.error.text()


def test_a_forged_database_opens_read_only_with_an_alarm_banner(
    qtbot, workstation: Workstation, template_db: Path, tmp_path: Path, settings: QSettings
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "printpharm.sqlite3"
    shutil.copy(template_db, path)
    _cut_the_last_event(path)
    url = f"sqlite:///{path}"
    session = StationSession(url, Clock())
    station = Workstation(WorkstationConfig(database_url=url), workstation.catalog, None, session)
    assert session.open()  # readable: the records can still be viewed and exported
    assert session.integrity_problem and "integrity check FAILED" in session.integrity_problem
    session.login(ADMIN[0], ADMIN[2])
    window = MainWindow(station, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    banner = window.integrity
    assert banner.isVisible() and "production is read-only" in banner.text()
    assert "printpharm audit verify" in banner.text()  # what the administrator does
    _add_user(window, "j.doe")
    assert "integrity check FAILED" in window.admin.error.text()
    assert "j.doe" not in [u.user_id for u in session.users()]
    window.show_page("history")  # viewing still works
    assert window.history.table.rowCount() > 0
    session.close()


def test_a_forgery_while_the_window_is_open_stops_the_next_recorded_action(
    qtbot, logged_in_window: OpenAs, station: Workstation
) -> None:  # type: ignore[no-untyped-def]
    window = logged_in_window(ADMIN)
    assert not window.integrity.isVisible()  # a clean start
    for user_id in ("j.doe", "k.roe"):  # both may be added: only the gate can refuse k.roe
        _train(window, user_id)
    _add_user(window, "j.doe")
    assert "One-time password" in window.admin.message.text(), window.admin.error.text()
    path = Path(station.session.resolved_url.removeprefix("sqlite:///"))
    _cut_the_last_event(path)
    _add_user(window, "k.roe")  # the gate runs before the action: refused, nothing written
    assert "integrity check FAILED" in window.admin.error.text()
    assert "k.roe" not in [u.user_id for u in station.session.users()]
    window._on_tick()  # the banner follows within a second (the session guard's tick)
    assert window.integrity.isVisible()
    station.session.logout()
    station.session.login(SUPERVISOR[0], SUPERVISOR[2])
    with pytest.raises(Exception, match="integrity check FAILED"):
        station.session.unlock_research(SUPERVISOR[0], SUPERVISOR[2], "dose finding", 30)

"""The Equipment and training page, the Due tab and the patient label button (issue 14)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from printpharm.devices.sim import PtyServer, build_balance
from printpharm.gui.main_window import MainWindow
from printpharm.services.station.workstation import Workstation
from tests.gui.conftest import ADMIN, SUPERVISOR, TECHNICIAN, clear_line
from tests.gui.test_flow import _fill


def _as(window: MainWindow, station: Workstation, who: tuple[str, str, str]) -> None:
    station.session.logout()
    station.session.login(who[0], who[2])
    window.on_session_changed()


def _register(page: Any, kind: str, tag: str, serial: str, model: str) -> None:
    reg = page.register
    reg.kind.setCurrentIndex(reg.kind.findData(kind))
    for edit, text in ((reg.new_tag, tag), (reg.serial, serial), (reg.model, model)):
        edit.setText(text)
    reg.add_button.click()


def _act(page: Any, tag: str, action: str, day: str, document: str, password: str = "") -> None:
    reg = page.register
    reg.tag.setText(tag)
    reg.action.setCurrentIndex(reg.action.findData(action))
    reg.day.setText(day)
    reg.document.setText(document)
    reg.password.setText(password)
    reg.apply_button.click()


def test_register_then_a_pharmacist_signs_the_qualification(
    qtbot: Any, logged_in_window: Any, station: Workstation
) -> None:
    window = logged_in_window(ADMIN)
    window.show_page("equipment")
    page = window.equipment
    _register(page, "balance", "BAL-01", "1126493049", "XS205 DualRange")
    assert page.register.message.text().startswith("BAL-01 registered: out of service")
    statuses = {page.register.table.item(r, 0).text(): page.register.table.item(r, 6).text()
                for r in range(page.register.table.rowCount())}  # fmt: skip
    assert statuses["BAL-01"].startswith("out of service: not qualified: IQ, OQ not approved")
    _act(page, "BAL-01", "IQ", "2026-11-01", "QP-IQ", ADMIN[2])  # an administrator never signs
    assert "sign.approved" in page.register.error.text()
    _act(page, "BAL-01", "calibration", "2026-11-01", "CAL-77")
    _as(window, station, SUPERVISOR)
    for stage in ("IQ", "OQ"):
        _act(page, "BAL-01", stage, "2026-11-02", f"QP-{stage}", SUPERVISOR[2])
        assert not page.register.error.text(), page.register.error.text()
    assert page.register.table.item(0, 6).text() == "qualified"
    assert page.register.add_group.isEnabled()  # pharmacists and administrators register
    _as(window, station, TECHNICIAN)
    assert not page.register.add_group.isEnabled()


@pytest.fixture
def pty_balance(station: Workstation) -> Iterator[tuple[Workstation, str]]:
    """The workstation configured with a balance simulator on a pseudo-terminal."""
    with PtyServer(build_balance({"check_weight_g": "100.00003"}), speed=1000.0) as port:
        config = dataclasses.replace(station.config, balance_url=port.path)
        yield Workstation(config, station.catalog, None, station.session), port.path


def test_the_guided_balance_check_runs_over_mtsics(
    qtbot: Any, pty_balance: tuple[Workstation, str], settings: Any
) -> None:
    ws, port = pty_balance
    ws.session.login(ADMIN[0], ADMIN[2])
    from printpharm.services.station.equipment_desk import EquipmentDesk

    desk = EquipmentDesk(ws.session, port)
    desk.add("balance", "BAL-01", "1126493049", "XS205 DualRange")
    desk.add_weight("W-100", "100", "100.00003", "0.05", "E2", "CAL-1", "2027-06-01")
    ws.session.logout()
    ws.session.login(TECHNICIAN[0], TECHNICIAN[2])
    window = MainWindow(ws, settings)
    qtbot.addWidget(window)
    window.show_page("equipment")
    check = window.equipment.check
    check.refresh()
    assert check.port.text() == port and check.weight.currentData() == "W-100"
    check.start()
    qtbot.waitUntil(lambda: not check.runner.busy and check.result.text() != "", timeout=30_000)
    assert check.verdict.text().startswith("PASSED"), check.error.text()
    assert "Minimum weight:" in check.result.text() and "10 readings" in check.result.text()
    assert check.instruction.text() == "Check finished: take the weight off the pan."


def test_cleaning_training_and_what_is_due(
    qtbot: Any, logged_in_window: Any, station: Workstation
) -> None:
    window = logged_in_window(ADMIN)
    window.show_page("equipment")
    page = window.equipment
    _register(page, "printer", "PR-01", "00000000-0000-4000-8000-000000000000", "SSE sim")
    training = page.training
    training.person.setText("j.doe")
    training.kind.setCurrentIndex(training.kind.findData("sop"))
    training.subject.setText("SOP-CLN-7")
    training.trained_on.setText("2025-01-01")
    training.trainer.setText("Tara Trainer")
    training.expires.setText("2026-12-01")
    training.add_button.click()
    assert training.message.text().startswith("j.doe trained on sop SOP-CLN-7")
    window.show_page("admin")
    due = {window.admin.due.table.item(r, 1).text(): window.admin.due.table.item(r, 2).text()
           for r in range(window.admin.due.table.rowCount())}  # fmt: skip
    assert due["j.doe"] == "sop SOP-CLN-7: expires 2026-12-01"
    assert due["PR-01"].startswith("out of service: not qualified")
    _as(window, station, TECHNICIAN)
    window.show_page("equipment")
    cleaning = page.cleaning
    cleaning.tag.setText("PR-01")
    cleaning.method.setText("SOP-CLN-7")
    cleaning.parts.setText("nozzle, plate")
    cleaning.log_button.click()
    assert cleaning.message.text() == "Cleaning of PR-01 logged: SOP-CLN-7.", cleaning.error.text()
    cleaning.cytotoxic.setChecked(True)
    cleaning.log_button.click()  # a cytotoxic cleaning: the site's procedure is not declared
    assert "declared no cytotoxic cleaning procedure" in cleaning.error.text()


def test_a_printed_batch_gets_its_label_from_history(
    qtbot: Any, logged_in_window: Any, station: Workstation, tmp_path: Path
) -> None:
    window = logged_in_window(TECHNICIAN)
    _fill(window, units=2)
    window.new_batch.next_button.click()
    qtbot.waitUntil(lambda: window.plan.batch is not None, timeout=20_000)
    window.plan.print_button.click()
    clear_line(window.print_page)
    window.print_page.start_button.click()
    qtbot.waitUntil(lambda: window.print_page.result is not None, timeout=60_000)
    _as(window, station, SUPERVISOR)  # the pharmacist labels it from the batch records
    window.show_page("history")
    history = window.history
    assert history.batches.rowCount() == 1
    history.batches.setCurrentCell(0, 0)
    history.label.directions.setText("Chew one disc once daily")
    history.label.write(tmp_path / "label.pdf")
    message = history.label.message.text()
    assert message.startswith("NOT FOR PATIENT USE — Label written to"), history.label.error.text()
    assert ": 2 units, use before " in message  # how many the patient gets
    assert (tmp_path / "label.pdf").read_bytes().startswith(b"%PDF-")
    history.label.write(tmp_path / "label.pdf")  # never overwritten
    assert "never overwrite" in history.label.error.text()

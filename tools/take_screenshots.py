"""Screenshots of every screen, for a person to look at (not collected by pytest).

Run by hand from the repository root::

    python tools/take_screenshots.py            # starts Xvfb :99 if there is no display
    python tools/take_screenshots.py --offscreen

A throw-away database with an administrator, a supervisor and a technician is
created in a temporary folder. Each screen (and the interesting states of the
new-batch page) is saved with ``QWidget.grab()`` to ``/tmp/printpharm-shots/``;
under Xvfb one more picture, ``xvfb-root.png``, is taken of the whole X screen
with ImageMagick's ``import -window root`` to show the real window.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OUT = Path("/tmp/printpharm-shots")
ADMIN = ("admin.root", "Ada Admin", "correct-horse-42-battery")
SUPERVISOR = ("m.keller", "Maria Keller", "keller-pharmacist-pass-7")
SECOND_SUPERVISOR = ("p.braun", "Paul Braun", "braun-pharmacist-pass-8")
SECOND_ADMIN = ("b.admin", "Bea Admin", "bea-admin-passphrase-42")
TECHNICIAN = ("t.nguyen", "Tam Nguyen", "nguyen-technician-pass-3")


def _start_xvfb(display: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        if Path(f"/tmp/.X11-unix/X{display.lstrip(':')}").exists():
            break
        time.sleep(0.1)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


class Shooter:
    """Builds the app over a temporary database and saves numbered PNGs."""

    def __init__(self) -> None:
        from PySide6.QtCore import QSettings

        from printpharm.gui.app import create_application
        from printpharm.services.station.workstation import (
            StationSession,
            WorkstationConfig,
            build_workstation,
        )

        os.environ.setdefault("PRINTPHARM_ARGON2", "1,8,1")  # fast hashing for a demo database
        self.app = create_application([])
        folder = Path(tempfile.mkdtemp(prefix="printpharm-shots-"))
        # the demo's site key and anchor log stay with the demo, never in the user's folders
        os.environ["PRINTPHARM_KEY_DIR"] = str(folder / "keys")
        os.environ["PRINTPHARM_ANCHOR_LOG"] = str(folder / "anchors.jsonl")
        url = f"sqlite:///{folder / 'demo.sqlite3'}"
        self.ws = build_workstation(WorkstationConfig(database_url=url, records_dir=folder))
        self.settings = QSettings(str(folder / "shots.ini"), QSettings.Format.IniFormat)
        self.session: StationSession = self.ws.session
        self.saved: list[Path] = []

    def settle(self, seconds: float = 0.1) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def shot(self, widget: Any, name: str) -> None:
        self.settle()
        path = OUT / f"{len(self.saved) + 1:02d}-{name}.png"
        widget.grab().save(str(path))
        self.saved.append(path)

    def wait_for(self, condition: Any, timeout_s: float = 60.0) -> None:
        end = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < end:
            self.settle(0.05)

    def accounts(self) -> None:
        """First-run and login dialogs, then the demo accounts."""
        from printpharm.gui.first_run import FirstRunDialog
        from printpharm.gui.login import LoginDialog

        first = FirstRunDialog(self.session)
        first.show()
        first.admin_id.setText(ADMIN[0])
        first.full_name.setText(ADMIN[1])
        self.shot(first, "first-run")
        first.password.setText(ADMIN[2])
        first.again.setText(ADMIN[2])
        first.try_create()  # creates the database; shows the recovery code once
        self.shot(first, "first-run-recovery-code")
        first.try_create()
        first.close()
        people = ((SECOND_ADMIN, "administrator"), (SUPERVISOR, "supervisor"),
                  (SECOND_SUPERVISOR, "supervisor"), (TECHNICIAN, "technician"))  # fmt: skip
        for who, role in people:
            self.session.login(ADMIN[0], ADMIN[2])
            self.train(who[0], role)
            one_time = self.session.add_user(who[0], who[1], role)
            self.session.logout()
            self.session.login(who[0], one_time)
            self.session.change_password(one_time, who[2])
            self.session.logout()
        for signer in (SUPERVISOR, SECOND_SUPERVISOR):  # a second administrator enrols them
            self.session.login(SECOND_ADMIN[0], SECOND_ADMIN[2])
            self.session.verify_identity(signer[0], "staff badge checked in person")
            self.session.logout()
            self.session.login(signer[0], signer[2])
            self.session.acknowledge_signature(signer[2])
            self.session.logout()
        login = LoginDialog(self.session)
        login.show()
        login.user_id.setText(SUPERVISOR[0])
        login.password.setText("wrong password")
        login.try_login()
        self.shot(login, "login-refused")
        login.close()
        self.session.login(SUPERVISOR[0], SUPERVISOR[2])

    def train(self, user_id: str, role: str) -> None:
        """The logged-in administrator records the role and operator training (issue 14)."""
        from datetime import date, timedelta

        from printpharm.services.station.equipment_desk import EquipmentDesk

        desk = EquipmentDesk(self.session)
        day = (date.today() - timedelta(days=20)).isoformat()
        for kind, subject in (("role", role), ("ink", "sse-paste-base"),
                              ("ink", "fdm-filament-base"), ("printer", "marlin-sse"),
                              ("printer", "marlin-fdm")):  # fmt: skip
            desk.add_training(user_id, kind, subject, day, "Tara Trainer")

    def clear_line(self, window: Any) -> None:
        """Tick the line-clearance checklist of the print page."""
        for box in window.print_page.clearance.boxes.values():
            box.setChecked(True)

    def new_batch(self, window: Any) -> None:
        page = window.new_batch
        self.shot(window, "new-batch-empty")
        page.patient.setText("P-2026-0147")
        page.prescriber.setText("Dr Weber")
        page.drug.setCurrentIndex(page.drug.findData("cyclophosphamide"))
        page.amount.setText("20")
        page.height_cm.setText("110")
        page.weight_kg.setText("18")
        self.shot(window, "new-batch-ready")
        page.weight_kg.setText("450")
        self.shot(window, "new-batch-weight-refused")
        page.weight_kg.setText("18")
        page.amount.setText("60")
        self.shot(window, "new-batch-dose-outside-recipe")
        page.amount.setText("20")
        page.cap.setText("12")
        self.shot(window, "new-batch-capped")
        page.cap.setText("")
        size = window.size()
        window.resize(1100, 760)  # the default window: nothing cut off at the right
        self.shot(window, "new-batch-default-size")
        page.drug.setCurrentIndex(page.drug.findData("hydrocortisone"))
        page.rule.setCurrentIndex(page.rule.findData("per_kg"))
        page.amount.setText("0.075")
        page.weight_kg.setText("10")
        self.shot(window, "new-batch-rounding-refused")  # +33 %: a pharmacist's override
        window.resize(size)
        page.drug.setCurrentIndex(page.drug.findData("cyclophosphamide"))
        page.rule.setCurrentIndex(page.rule.findData("per_m2"))
        page.amount.setText("20")
        page.weight_kg.setText("18")
        page.units.setValue(20)

    def plan_and_print(self, window: Any) -> None:
        window.new_batch.next_button.click()
        self.wait_for(lambda: window.plan.batch is not None or window.plan.error.text())
        window.plan.slider.setValue(window.plan.slider.maximum() // 2)
        tabs = window.plan.view_tabs
        self.shot(window, "plan-3d-unit")  # the first tab
        self.dark(window, "plan-3d-unit-dark")
        tabs.setCurrentIndex(1)
        self.shot(window, "plan-layers")
        tabs.setCurrentIndex(0)
        window.plan.print_button.click()
        self.shot(window, "print-ready")
        self.clear_line(window)
        self.shot(window, "print-line-cleared")
        window.print_page.start_button.click()
        self.wait_for(lambda: window.print_page.table.rowCount() >= 3, 30)
        self.shot(window, "print-running")
        self.wait_for(lambda: not window.print_page.stop_button.isEnabled())
        self.shot(window, "print-finished")
        self.shot(window.print_page.pressure_chart, "print-pressure-chart")
        self.dark(window, "print-finished-dark")
        window.print_page.qc_button.click()
        self.shot(window, "qc-after-run")

    def dark(self, window: Any, name: str) -> None:
        """The same screen in a dark palette (as a dark desktop theme gives it)."""
        from PySide6.QtGui import QColor, QPalette

        light = self.app.palette()
        dark = QPalette()
        role = QPalette.ColorRole
        for r, colour in (
            (role.Window, "#2b2b2b"), (role.WindowText, "#e8e8e8"), (role.Base, "#1e1e1e"),
            (role.AlternateBase, "#333333"), (role.Text, "#e8e8e8"), (role.Button, "#3a3a3a"),
            (role.ButtonText, "#e8e8e8"), (role.Highlight, "#3d7bd9"),
            (role.HighlightedText, "#ffffff"), (role.ToolTipBase, "#333333"),
            (role.ToolTipText, "#e8e8e8"), (role.PlaceholderText, "#9a9a9a"),
        ):  # fmt: skip
            dark.setColor(r, QColor(colour))
        for r in (role.ButtonText, role.WindowText, role.Text):
            dark.setColor(QPalette.ColorGroup.Disabled, r, QColor("#7a7a7a"))
        sheet = self.app.styleSheet()
        self.app.setPalette(dark)
        self.app.setStyleSheet(sheet)  # re-polish every widget with the new palette
        self.shot(window, name)
        self.app.setPalette(light)
        self.app.setStyleSheet(sheet)

    @contextlib.contextmanager
    def printing_on(self, url: str) -> Iterator[None]:
        """Print on the simulated printer ``url`` inside the block, the configured one after."""
        config = self.ws.config
        self.ws.config = dataclasses.replace(config, printer_url=url)
        try:
            yield
        finally:
            self.ws.config = config

    def start_batch(self, window: Any, plan_shot: str | None = None) -> None:
        """Next on the new-batch page, Print on the plan, the line cleared, Start."""
        window.new_batch.next_button.click()
        self.wait_for(lambda: window.plan.authorisation is not None or window.plan.error.text())
        if plan_shot is not None:
            self.shot(window, plan_shot)
        window.plan.print_button.click()
        self.clear_line(window)
        window.print_page.start_button.click()

    def clogged_run(self, window: Any) -> None:
        """A simulated clog halves unit 3: the run stops and the chart shows a cross."""
        # a head without a load cell, so that the balance is what sees the clog
        with self.printing_on("sim://printer?clog_unit=3&pressure_sensor=0"):
            window.new_batch.units.setValue(6)
            window.show_page("new_batch")
            self.start_batch(window)
            self.wait_for(lambda: window.print_page.result is not None)
            self.shot(window, "print-unit-outside-tolerance")
            self.dark(window, "print-unit-outside-tolerance-dark")
        window.new_batch.units.setValue(20)

    def alarms(self, window: Any) -> None:
        """The clogged run's alarm on the QC page: to acknowledge, then acknowledged."""
        window.show_page("qc")
        panel = window.qc.alarms
        panel.reason.setText("nozzle clogged: syringe changed, nozzle purged (SOP PR-07)")
        panel.password.setText(SUPERVISOR[2])
        self.shot(window, "qc-alarm-to-acknowledge")
        self.shot(panel, "qc-alarm-panel")
        panel.ack_button.click()
        self.shot(panel, "qc-alarm-acknowledged")

    def paused_run(self, window: Any) -> None:
        """A sildenafil caplet batch (pause policy) clogs at unit 2: the operator acknowledges."""
        page = window.new_batch
        with self.printing_on("sim://printer?clog_unit=2"):
            window.show_page("new_batch")
            page.rule.setCurrentIndex(page.rule.findData("weight_band"))
            page.drug.setCurrentIndex(page.drug.findData("sildenafil"))
            page.bands.setText("≤20:10; >20:20")
            page.units.setValue(2)
            self.start_batch(window, "plan-drying-ink")  # its predicted mass: once dried
            self._acknowledge_pauses(window)
        page.rule.setCurrentIndex(page.rule.findData("per_m2"))
        page.drug.setCurrentIndex(page.drug.findData("cyclophosphamide"))
        page.amount.setText("20")
        page.units.setValue(20)

    def _acknowledge_pauses(self, window: Any) -> None:
        """The paused run: continue refused without a reason, then acknowledged (twice)."""
        pause = window.print_page.pause
        self.wait_for(pause.isVisible)  # the pressure climbs while unit 2 prints
        pause.continue_button.click()  # no reason: refused, still paused
        pause.reason.setText("nozzle partly blocked: purged, unit 2 will be set aside")
        pause.password.setText(SUPERVISOR[2])
        self.shot(window, "print-paused-over-pressure")
        self.shot(window.print_page.pressure_chart, "print-pressure-chart-clog")
        pause.error.show_reason(None)
        pause.continue_button.click()
        self.wait_for(lambda: pause.isVisible() or window.print_page.result is not None)
        if pause.isVisible():  # then unit 2's mass, once weighed
            pause.reason.setText("unit 2 light after the blocked nozzle: set aside")
            pause.password.setText(SUPERVISOR[2])
            self.shot(window, "print-paused-mass-after-pressure")
            pause.continue_button.click()
        self.wait_for(lambda: window.print_page.result is not None and not pause.isVisible())
        self.wait_for(lambda: not window.print_page.stop_button.isEnabled())
        self.shot(window, "print-continued-after-acknowledgement")

    def drift_run(self, window: Any) -> None:
        """A paste whose deposit drifts −1.2 %/unit: the controller follows it and warns."""
        with self.printing_on("sim://printer?drift_pct_per_unit=-1.2"):
            window.new_batch.units.setValue(8)
            window.show_page("new_batch")
            self.start_batch(window)
            self.wait_for(lambda: window.print_page.result is not None)
            self.shot(window, "print-drift-warning")
        window.new_batch.units.setValue(20)

    def library(self, window: Any) -> None:
        """Library page empty, imported, a signature dialog, then a recipe locked (not its ink)."""
        page = window.library
        window.show_page("library")
        self.shot(window, "library-empty")
        page.import_button.click()
        recipe = self.ws.recipes("cyclophosphamide")[0].id
        self.sign(page, "recipe", recipe, "library-signature-dialog")
        page.select("recipe", recipe, 1)
        self.shot(window, "library-recipe-locked")

    def sign(self, page: Any, kind: str, item_id: str, dialog_shot: str = "") -> None:
        """Version 1 of ``item_id``: one supervisor validates, a second one locks (two people)."""
        window = page.window()
        for step, who in (("validate", SUPERVISOR), ("lock", SECOND_SUPERVISOR)):
            self.session.logout()
            self.session.login(who[0], who[2])
            window.on_session_changed()
            window.show_page("library")
            page.select(kind, item_id, 1)
            (page.validate_button if step == "validate" else page.lock_button).click()
            dialog = page.dialog
            dialog.password.setText(who[2])
            dialog.comment.setText("PQ report 2026-114")
            if step == "lock" and dialog_shot:
                self.shot(dialog, dialog_shot)
            dialog.submit()
        self.session.logout()
        self.session.login(SUPERVISOR[0], SUPERVISOR[2])
        window.on_session_changed()

    def refused_and_research(self, window: Any) -> None:
        """Locked mode refuses (the ink is not locked); research mode flags the batch."""
        window.show_page("new_batch")
        window.new_batch.next_button.click()
        self.wait_for(lambda: window.plan.authorisation is not None or window.plan.error.text())
        self.shot(window, "plan-refused-locked-mode")
        self.session.unlock_research(SUPERVISOR[0], SUPERVISOR[2], "dose-finding study", 30)
        window.refresh_mode()
        window.show_page("new_batch")
        window.new_batch.next_button.click()
        self.wait_for(lambda: window.plan.authorisation is not None or window.plan.error.text())
        self.shot(window, "plan-research-not-for-patient-use")
        window.plan.print_button.click()
        self.shot(window, "print-research-not-for-patient-use")
        self.session.lock_research()
        window.refresh_mode()

    def second_person_check(self, window: Any) -> None:
        """Recipe and ink locked, a technician's batch: the pharmacist's check, then verified."""
        assert self.ws.catalog is not None
        recipe = self.ws.catalog.recipe(self.ws.recipes("cyclophosphamide")[0].id)
        window.show_page("library")
        self.sign(window.library, "ink", recipe.ink)
        self.session.logout()
        self.session.login(TECHNICIAN[0], TECHNICIAN[2])
        window.on_session_changed()
        window.show_page("new_batch")
        window.new_batch.next_button.click()
        plan = window.plan
        self.wait_for(lambda: plan.authorisation is not None or plan.error.text())
        plan.verifier_id.setText(SUPERVISOR[0])
        plan.verifier_password.setText(SUPERVISOR[2])
        plan.verifier_password.setFocus()
        self.shot(window, "plan-second-person-check")
        plan.verify_button.click()
        self.shot(window, "plan-verified-for-patient-use")
        self.session.logout()
        self.session.login(SUPERVISOR[0], SUPERVISOR[2])
        window.on_session_changed()

    def _as(self, window: Any, who: tuple[str, str, str]) -> None:
        self.session.logout()
        self.session.login(who[0], who[2])
        window.on_session_changed()

    def lots_and_content_uniformity(self, window: Any) -> None:
        """A lot scanned and recorded, released by the pharmacist, bound to a 10-unit batch,
        the units' contents, and content uniformity on the QC page."""
        from datetime import date, timedelta

        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        self._as(window, TECHNICIAN)
        window.show_page("lots")
        page = window.lots
        expiry = date.today() + timedelta(days=10)
        QTest.keyClicks(page.scan, "]C10109506000134352" + "10CPM-2611-07")
        QTest.keyClick(page.scan, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(page.scan, f"17{expiry:%y%m%d}")
        QTest.keyClick(page.scan, Qt.Key.Key_Return)
        page.ink.setCurrentText("cyclophosphamide-sse-chewable")
        page.quantity.setText("20")
        page.container.setText("2 × 10 mL syringes")
        page.assay.setText("49.2")
        page.uncertainty.setText("0.8")
        page.method.setText("HPLC-UV, SOP QC-12")
        page.analyst.setText("A. Analyst")
        self.shot(window, "lots-scanned")
        page.add_button.click()
        self.shot(window, "lots-recorded")
        self._as(window, SUPERVISOR)
        window.show_page("lots")
        page.select("CPM-2611-07")
        page.release_button.click()
        dialog = page.dialog
        dialog.password.setText(SUPERVISOR[2])
        dialog.comment.setText("assay 98.4 % of label claim, within specification")
        self.shot(dialog, "lots-release-signature")
        dialog.sign_button.click()
        self.shot(window, "lots-released")
        self._as(window, TECHNICIAN)
        window.show_page("new_batch")
        window.new_batch.units.setValue(10)
        window.new_batch.next_button.click()
        plan = window.plan
        self.wait_for(lambda: plan.authorisation is not None or plan.error.text())
        QTest.keyClicks(plan.lot_field.code, "(01)09506000134352(10)CPM-2611-07")
        QTest.keyClick(plan.lot_field.code, Qt.Key.Key_Return)
        plan.verifier_id.setText(SUPERVISOR[0])
        plan.verifier_password.setText(SUPERVISOR[2])
        plan.verify_button.click()
        self.shot(window, "plan-lot-accepted")
        plan.print_button.click()
        before = window.print_page.result  # the clogged run's, until this batch finishes
        self.clear_line(window)  # Start waits for the line clearance
        window.print_page.start_button.click()
        self.wait_for(lambda: window.print_page.result not in (None, before), 120)
        self.shot(window, "print-unit-contents")
        self.shot(window.print_page.table, "print-unit-contents-table")  # material and content
        window.show_page("qc")
        cu = window.qc.cu
        cu.select_button.click()
        units = cu.status.samples[0].units if cu.status and cu.status.samples else ()
        cu.results.setPlainText("\n".join(f"{n} {98.6 + (n % 4) * 0.7:.1f}" for n in units))
        cu.method.setText("HPLC-UV, SOP QC-12")
        cu.analyst.setText("A. Analyst")
        self.shot(window, "qc-cu-units-chosen")
        cu.enter_button.click()
        self.shot(window, "qc-cu-passed")
        self.shot(window.qc.release, "qc-release-offered-after-cu")  # the record's verdict
        self._as(window, SUPERVISOR)
        window.show_page("new_batch")  # a fresh plan, not yet printed, for the steps after
        window.new_batch.units.setValue(2)
        window.new_batch.next_button.click()
        self.wait_for(lambda: plan.authorisation is not None or plan.error.text())

    def recovery(self, window: Any) -> None:
        """A run whose process 'dies' after a unit, then the restart's notice."""
        from printpharm.gui.main_window import MainWindow
        from printpharm.services.jobs import CancelToken, EventHub
        from printpharm.services.run.events import UnitWeighed
        from printpharm.services.station import batch as _station_batch
        from printpharm.services.station.workstation import StationSession, Workstation

        batch = window.plan.batch
        recorder = self.session.recorder()

        class Crash:  # forwards the records but never closes the batch
            batch_started, unit_weighed = recorder.batch_started, recorder.unit_weighed
            alarm, correction = recorder.alarm, recorder.correction
            may_continue = recorder.may_continue

            def finished(self, result: Any) -> None:
                pass

            interrupted = finished

        hub, cancel = EventHub(), CancelToken()
        hub.subscribe(lambda e: cancel.cancel("crash") if isinstance(e, UnitWeighed) else None)
        assert self.ws.catalog is not None
        _station_batch.print_batch(
            self.ws.catalog, window.plan.batch, ("sim://printer", "sim://balance"), hub=hub,
            cancel=cancel, operator=None, recorder=Crash(), records_dir=None,
        )  # fmt: skip
        assert batch is not None
        from printpharm.services.run import lease

        lease._HELD.clear()  # as if this process had died: its leases no longer hold
        window.close()
        url = self.session.db_url
        self.session.close()
        self.session = StationSession(url)
        self.session.open()
        self.session.login(SUPERVISOR[0], SUPERVISOR[2])
        self.ws = Workstation(self.ws.config, self.ws.catalog, None, self.session)
        restarted = MainWindow(self.ws, self.settings)
        restarted.resize(1200, 820)
        restarted.show()
        restarted.show_page("history")
        self.shot(restarted, "restart-recovery-notice")
        restarted.close()

    def integrity_failure(self) -> None:
        """Someone cut the newest audit event in the file: the next start is read-only."""
        import sqlite3

        from printpharm.gui.main_window import MainWindow
        from printpharm.services.station.workstation import StationSession, Workstation

        url = self.session.db_url
        assert url is not None
        self.session.close()
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            con.execute(f"DROP TRIGGER {name}")
        seq, digest, at = con.execute(
            "SELECT seq, event_hash, occurred_at FROM audit_events ORDER BY seq DESC LIMIT 1 "
            "OFFSET 1"
        ).fetchone()
        con.execute("DELETE FROM audit_events WHERE seq > ?", (seq,))
        con.execute("UPDATE audit_head SET last_seq = ?, last_hash = ?, last_occurred_at = ?",
                    (seq, digest, at))  # fmt: skip
        con.commit()
        con.close()
        self.session = StationSession(url)
        self.session.open()
        self.session.login(SUPERVISOR[0], SUPERVISOR[2])
        self.ws = Workstation(self.ws.config, self.ws.catalog, None, self.session)
        broken = MainWindow(self.ws, self.settings)
        broken.resize(1200, 820)
        broken.show()
        broken.show_page("history")
        self.shot(broken, "integrity-failed-read-only")
        broken.close()

    def other_pages(self, window: Any) -> None:
        window.show_page("history")
        self.shot(window, "history")
        window.history.batches.setCurrentCell(0, 0)
        dialog = window.history.show_alarms()
        if dialog is not None:
            self.shot(dialog, "history-alarms-dialog")
            dialog.close()
        window.show_page("research")
        self.shot(window, "research-locked")
        page = window.research
        page.user_id.setText(SUPERVISOR[0])
        page.password.setText(SUPERVISOR[2])
        page.reason.setText("calibration of ink lot 42")
        page.unlock_button.click()
        self.shot(window, "research-unlocked")
        page.lock_button.click()
        self.session.logout()
        self.session.login(ADMIN[0], ADMIN[2])
        window.on_session_changed()
        window.show_page("admin")
        self.shot(window, "admin")
        self.admin_settings_and_balances(window)
        self.equipment(window)

    def admin_settings_and_balances(self, window: Any) -> None:
        """At the default window size: one signed setting change, one registered balance."""
        from PySide6.QtCore import QDate

        size = window.size()
        window.resize(1100, 760)
        page = window.admin
        page.tabs.setCurrentWidget(page.settings)
        panel = page.settings
        for row in range(panel.table.rowCount()):
            if panel.table.item(row, 0).text() == "session.idle_timeout_s":
                panel.table.setCurrentCell(row, 0)
        panel.value.setText("600")
        panel.reason.setText("shared workstation in the clean room")
        panel.password.setText(ADMIN[2])
        panel.change_button.click()
        self.shot(window, "admin-site-settings")
        page.tabs.setCurrentWidget(page.balances)
        balances = page.balances
        balances.serial.setText("1126493049")
        balances.model.setText("XS205 DualRange")
        balances.calibrated.setDate(QDate.currentDate().addDays(-30))
        balances.register_button.click()
        balances.serial.setText("B-0815")
        balances.model.setText("AX204")
        balances.calibrated.setDate(QDate.currentDate().addDays(-400))
        balances.register_button.click()
        self.shot(window, "admin-balances")
        page.tabs.setCurrentIndex(0)
        window.resize(size)

    def equipment(self, window: Any) -> None:
        """Issue 14: the register, the balance check over MT-SICS, cleaning, training, due."""
        from printpharm.devices.sim import PtyServer, build_balance

        window.show_page("equipment")
        page = window.equipment
        reg = page.register
        for kind, tag, serial, model, fw in (
            ("printer", "PR-01", "00000000-0000-4000-8000-000000000000",
             "printpharm SSE simulator", "Marlin 2.1.2.1 (printpharm simulator)"),
            ("balance", "BAL-01", "1126493049-b", "XS205 DualRange", ""),
            ("print_head", "HEAD-01", "SY-4411", "10 mL syringe head", ""),
        ):  # fmt: skip
            reg.kind.setCurrentIndex(reg.kind.findData(kind))
            for edit, text in (
                (reg.new_tag, tag),
                (reg.serial, serial),
                (reg.model, model),
                (reg.firmware, fw),
                (reg.location, "Clean room 2"),
                (reg.mounted_on, "PR-01" if kind == "print_head" else ""),
            ):
                edit.setText(text)
            reg.add_button.click()
        page.tabs.setCurrentWidget(page.training)
        training = page.training
        training.person.setText("j.doe")
        training.kind.setCurrentIndex(training.kind.findData("role"))
        training.subject.setText("technician")
        from datetime import date, timedelta

        training.trained_on.setText((date.today() - timedelta(days=715)).isoformat())
        training.trainer.setText("Tara Trainer")
        training.add_button.click()
        self.shot(window, "equipment-training")
        self.session.logout()
        self.session.login(SUPERVISOR[0], SUPERVISOR[2])
        window.on_session_changed()
        window.show_page("equipment")
        page.tabs.setCurrentWidget(reg)
        day = (date.today() - timedelta(days=30)).isoformat()
        for stage in ("IQ", "OQ", "PQ"):
            reg.tag.setText("PR-01")
            reg.action.setCurrentIndex(reg.action.findData(stage))
            reg.day.setText(day)
            reg.document.setText(f"QP-PR01-{stage}")
            reg.password.setText(SUPERVISOR[2])
            reg.apply_button.click()
        self.shot(window, "equipment-register")
        sim = build_balance({"check_weight_g": "100.00003"})
        with PtyServer(sim, speed=1000.0) as port:
            page.desk.balance_url = port.path
            self.session.logout()
            self.session.login(ADMIN[0], ADMIN[2])
            page.desk.add_weight("W-100", "100", "100.00003", "0.05", "E2", "CAL-2026-0142",
                                 (date.today() + timedelta(days=300)).isoformat())  # fmt: skip
            self.session.logout()
            self.session.login(TECHNICIAN[0], TECHNICIAN[2])
            window.on_session_changed()
            window.show_page("equipment")
            page.tabs.setCurrentWidget(page.check)
            page.check.start()
            self.wait_for(lambda: not page.check.runner.busy, 60)
            self.shot(window, "equipment-balance-check")
        page.tabs.setCurrentWidget(page.cleaning)
        page.cleaning.tag.setText("PR-01")
        page.cleaning.method.setText("SOP-CLN-7")
        page.cleaning.parts.setText("nozzle, syringe holder, build plate")
        page.cleaning.log_button.click()
        self.shot(window, "equipment-cleaning")
        self.session.logout()
        self.session.login(ADMIN[0], ADMIN[2])
        window.on_session_changed()
        window.show_page("admin")
        window.admin.tabs.setCurrentWidget(window.admin.due)
        self.shot(window, "admin-due")
        window.show_page("history")
        window.history.batches.setCurrentCell(0, 0)
        window.history.label.directions.setText("Chew one disc once daily after food")
        self.shot(window, "history-label")

    def calibration(self, window: Any) -> None:
        """A series on the simulators: one refused by the criteria, one stored (training only),
        then validated and locked by two pharmacists."""
        self._as(window, TECHNICIAN)
        window.show_page("calibration")
        page = window.calibration
        self.shot(window, "calibration-empty")
        page.ink.setCurrentText("cyclophosphamide-sse-chewable")
        page.printer.setCurrentText("marlin-sse")
        page.replicates.setValue(1)  # 5 discs: fewer than the site's 6 points
        page.run_button.click()
        self.settle(0.3)
        self.shot(window, "calibration-series-running")
        self.wait_for(lambda: not page.runner.busy, 180.0)
        self.shot(window, "calibration-fit-refused")
        page.replicates.setValue(2)
        page.run_button.click()
        self.wait_for(lambda: not page.runner.busy, 180.0)
        self.shot(window, "calibration-draft-training-only")
        for step, who in (("validate", SUPERVISOR), ("lock", SECOND_SUPERVISOR)):
            self._as(window, who)
            window.show_page("calibration")
            page.select(1)
            (page.validate_button if step == "validate" else page.lock_button).click()
            dialog = page.dialog
            dialog.password.setText(who[2])
            dialog.comment.setText("OQ calibration series reviewed")
            if step == "lock":
                self.shot(dialog, "calibration-lock-signature")
            dialog.submit()
        self.shot(window, "calibration-locked")
        self.shot(page, "calibration-locked-whole-page")

    def only_calibration(self) -> list[Path]:
        """The calibration page's screens alone (``--only calibration``)."""
        from printpharm.gui.main_window import MainWindow

        self.accounts()
        window = MainWindow(self.ws, self.settings)
        window.resize(1200, 820)
        window.show()
        window.library.import_button.click()
        self.sign(window.library, "ink", "cyclophosphamide-sse-chewable")
        self.calibration(window)
        self.session.close()
        return self.saved

    def run(self, root_shot: bool) -> list[Path]:
        from printpharm.gui.main_window import MainWindow

        self.accounts()
        window = MainWindow(self.ws, self.settings)
        window.resize(1200, 820)
        window.show()
        self.new_batch(window)
        self.plan_and_print(window)
        self.clogged_run(window)
        self.alarms(window)
        self.paused_run(window)
        self.drift_run(window)
        self.library(window)
        self.refused_and_research(window)
        self.second_person_check(window)
        self.lots_and_content_uniformity(window)
        self.calibration(window)
        self.other_pages(window)
        if root_shot and shutil.which("import"):
            window.show_page("plan")
            self.settle(0.3)
            path = OUT / "xvfb-root.png"
            subprocess.run(["import", "-window", "root", str(path)], check=True)
            self.saved.append(path)
        self.session.logout()
        self.session.login(SUPERVISOR[0], SUPERVISOR[2])
        self.recovery(window)
        self.integrity_failure()
        self.session.close()
        return self.saved


def main() -> int:
    """Take the screenshots; print the files written."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offscreen", action="store_true", help="no X server: grab() only")
    parser.add_argument("--display", default=":99", help="Xvfb display to start (default :99)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNGs ({OUT})")
    parser.add_argument("--only", choices=("calibration",), help="take one page's screens only")
    args = parser.parse_args()
    globals()["OUT"] = args.out
    OUT.mkdir(parents=True, exist_ok=True)
    xvfb = None
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif not os.environ.get("DISPLAY"):
        xvfb = _start_xvfb(args.display)
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    try:
        shooter = Shooter()
        saved = shooter.only_calibration() if args.only else shooter.run(not args.offscreen)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    for path in saved:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

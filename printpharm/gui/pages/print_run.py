"""Print: run the planned batch — heat, print each unit, weigh it, judge it — and watch it.

The run happens in a worker thread; its events arrive through an
:class:`~printpharm.gui.workers.EventBridge`. A ``pause`` alarm asks the
operator here while the run waits (:class:`~printpharm.gui.widgets.pause_panel.PausePanel`:
acknowledge with a reason and the password, then continue; or abort). Stop cancels safely.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from printpharm.core.ink_lots import UnitContent
from printpharm.gui.widgets.banner import PatientUseBanner
from printpharm.gui.widgets.charts import MassChart, PressureChart, TemperatureChart
from printpharm.gui.widgets.feedback import FieldError, VerdictLabel
from printpharm.gui.widgets.line_clearance import LineClearancePanel
from printpharm.gui.widgets.pause_panel import PausePanel
from printpharm.gui.workers import BlockingQuestion, EventBridge, TaskRunner
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.events import (
    Alarm,
    FlowCorrected,
    Heating,
    Pressure,
    RunStarted,
    Temperatures,
    UnitProgress,
    UnitStarted,
    UnitWeighed,
)
from printpharm.services.run.result import AlarmRecord, BatchResult, OperatorDecision, UnitRecord
from printpharm.services.station.workstation import (
    PlannedBatch,
    PrintAuthorisation,
    Workstation,
    after_run,
    format_mass,
    format_mg,
)

if TYPE_CHECKING:
    from printpharm.services.run.planning import PlanResult

__all__ = ["PrintPage"]

_COLUMNS = (
    "Unit",
    "Target (mg)",
    "Measured (mg)",
    "Deviation (%)",
    "Verdict",
    "Material (%)",
    "API content (mg) / dose",
)


class PrintPage(QWidget):
    """Start/stop, progress, unit table, alarms; emits ``finished(BatchResult, PlannedBatch)``."""

    finished = Signal(object, object)
    #: ``(printer state, balance state)`` for the status bar.
    devices_changed = Signal(str, str)

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self.batch: PlannedBatch | None = None
        self.authorisation: PrintAuthorisation | None = None
        self.result: BatchResult | None = None
        self._cancel = CancelToken()
        self.runner = TaskRunner(self)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.bridge = EventBridge(self)
        self.bridge.received.connect(self._on_event)
        self.question = BlockingQuestion(OperatorDecision.ABORT, self)
        self.question.asked.connect(self._on_pause)
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Print and weigh"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.patient_banner = PatientUseBanner()
        layout.addWidget(self.patient_banner)
        self.batch_label = QLabel(self.tr("No planned batch yet: plan one on the Plan page."))
        self.batch_label.setWordWrap(True)
        layout.addWidget(self.batch_label)
        self.clearance = LineClearancePanel()
        self.clearance.changed.connect(lambda: self._set_running(self.runner.busy))
        layout.addWidget(self.clearance)
        layout.addLayout(self._controls())
        self.overall = QProgressBar()
        self.overall.setFormat(self.tr("%v of %m units weighed"))
        self.unit_progress = QProgressBar()
        self.unit_progress.setFormat(self.tr("current unit: %p % of its G-code sent"))
        # A progress bar repaints at once on every setValue (about 1 ms); the run reports
        # progress every 20 lines, so the latest value is shown at most every 50 ms.
        self._pending_progress: tuple[int, int] | None = None
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(50)
        self._progress_timer.timeout.connect(self._show_progress)
        self.state = QLabel()
        self.state.setObjectName("runState")
        # Which unit-to-unit noise the flow controller starts from, as the record keeps it.
        self.flow_prior = QLabel()
        self.flow_prior.setObjectName("flowPrior")
        self.flow_prior.setWordWrap(True)
        self.flow_prior.hide()
        for widget in (self.overall, self.unit_progress, self.state, self.flow_prior):
            layout.addWidget(widget)
        self.pause = PausePanel(workstation.session)
        self.pause.answered.connect(self._answer)
        layout.addWidget(self.pause)
        self.alarm = FieldError()
        layout.addWidget(self.alarm)
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setObjectName("units")
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in _COLUMNS])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # the content column's header and "14.76 ± 0.24 / 15 mg" need more than an even share
        header.setSectionResizeMode(len(_COLUMNS) - 1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        layout.addLayout(self._charts())
        layout.addWidget(self.table, 1)
        self._set_running(False)

    def _charts(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.mass_chart = MassChart()
        self.temperature_chart = TemperatureChart()
        temperatures = QVBoxLayout()
        temperatures.addWidget(self.temperature_chart, 1)
        self.temperature_note = QLabel(
            self.tr(
                "Targets (dashed) are set when heating starts; readings come when the targets "
                "are reached, after each unit and during printing. A temperature leaving its "
                "limits raises an alarm."
            )
        )
        self.temperature_note.setWordWrap(True)
        self.last_temperature = QLabel()
        self.last_temperature.setWordWrap(True)
        temperatures.addWidget(self.last_temperature)
        temperatures.addWidget(self.temperature_note)
        # the extrusion pressure below the temperatures: what the head reports while printing
        self.pressure_chart = PressureChart()
        self.pressure_chart.setToolTip(
            self.tr(
                "Read at the plunger where the head reports it, while extruding: a clog raises "
                "it before the unit is weighed, air makes it fall; leaving the ink's limits "
                "(dashed) raises an alarm."
            )
        )
        self.last_pressure = QLabel(self.pressure_chart.last_known())
        self.last_pressure.setObjectName("lastPressure")
        self.last_pressure.setWordWrap(True)
        temperatures.addWidget(self.pressure_chart, 1)
        temperatures.addWidget(self.last_pressure)
        row.addWidget(self.mass_chart, 3)
        row.addLayout(temperatures, 2)
        return row

    def _controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.start_button = QPushButton(self.tr("&Start printing"))
        self.start_button.setObjectName("startButton")
        self.start_button.setToolTip(self.tr("Connect the printer and balance, heat, then print."))
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton(self.tr("S&top"))
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip(self.tr("Stop safely after the current G-code chunk."))
        self.stop_button.clicked.connect(self.stop)
        self.verdict = VerdictLabel()
        self.qc_button = QPushButton(self.tr("&QC and release  ›"))
        self.qc_button.setEnabled(False)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.verdict, 1)
        row.addWidget(self.qc_button)
        return row

    def _set_running(self, running: bool) -> None:
        # A batch id is printed once: after any end the technician plans a new batch.
        done = self.result is not None
        allowed = self.authorisation is not None and self.authorisation.allowed
        ready = self.batch is not None and allowed and not done and self.clearance.complete()
        self.start_button.setEnabled(not running and ready)
        self.stop_button.setEnabled(running)

    def set_batch(self, batch: PlannedBatch, authorisation: PrintAuthorisation | None) -> None:
        """Prepare the page for a planned, authorised batch (nothing is printed until Start).

        A batch locked mode refused (or one with no authorisation) cannot be started.
        """
        self.batch = batch
        self.authorisation = authorisation
        self.result = None
        self.clearance.set_batch(batch.request.ink.id, batch.lot or batch.request.ink.lot)
        plan = batch.plan
        self.patient_banner.set_authorisation(authorisation)
        # Units are weighed wet, in line (as dispensed); an ink that dries is weighed dried
        # again for release (the plan's target_mass_mg).
        self.mass_chart.set_plan(
            plan.ink_mass_mg, batch.request.recipe.tolerances.unit_mass.value, plan.units
        )
        self.temperature_chart.clear()
        self.pressure_chart.clear()
        self.last_pressure.setText(self.pressure_chart.last_known())
        self.last_temperature.setText(
            self.tr("Last known: {t}.").format(t=self.temperature_chart.last_known())
        )
        printer, balance = self._ws.device_status()
        self.batch_label.setText(
            self.tr(
                "Batch {id}: {units} × {dose} of {recipe}; weighing target {target}."
                "\nPrinter: {printer}. Balance: {balance}."
            ).format(
                id=batch.batch_id,
                units=plan.units,
                dose=format_mg(batch.dose_mg),
                recipe=plan.recipe_id,
                target=self._target_text(plan),
                printer=printer.url + (" (simulator)" if printer.simulated else ""),
                balance=balance.url + (" (simulator)" if balance.simulated else ""),
            )
        )
        self.overall.setRange(0, plan.units)
        self.overall.setValue(0)
        self.unit_progress.setValue(0)
        self.table.setRowCount(0)
        self.alarm.show_reason(None)
        self.verdict.set_verdict(None, self.tr("not started"))
        self.state.setText("")
        self.flow_prior.hide()
        self.qc_button.setEnabled(False)
        if authorisation is not None and not authorisation.allowed:
            self.alarm.show_reason(authorisation.refusal)
            self.verdict.set_verdict(False, self.tr("REFUSED"))
        self._set_running(False)

    def _target_text(self, plan: PlanResult) -> str:
        """The mass each unit is weighed against in line; an ink that dries names both."""
        wet = format_mass(plan.ink_mass_mg, exact=False)
        if plan.ink_mass_mg == plan.target_mass_mg:
            return self.tr("{mass} mg per unit").format(mass=wet)
        return self.tr("{wet} mg per unit (wet, in line; {dried} mg once dried)").format(
            wet=wet, dried=format_mass(plan.target_mass_mg, exact=False)
        )

    def start(self) -> None:
        """Start the run in a worker thread."""
        if self.batch is None or self.runner.busy:
            return
        batch = self.batch
        self._cancel = CancelToken()
        hub = EventHub()
        hub.subscribe(self.bridge.publish)
        cancel = self._cancel
        self.table.setRowCount(0)
        self.verdict.set_verdict(None, self.tr("running"))
        self.state.setText(self.tr("Connecting the printer and the balance…"))
        self.devices_changed.emit(self.tr("connecting…"), self.tr("connecting…"))
        self._set_running(True)
        clearance = self.clearance.clearance()
        self.runner.start(
            lambda: self._ws.print_batch(batch, hub, cancel, self._ask_operator, clearance)
        )

    def stop(self) -> None:
        """Ask the run to stop safely."""
        self._cancel.cancel(self.tr("stopped by the operator"))
        self.pause.hide()
        self.question.cancel()
        self.state.setText(self.tr("Stopping…"))

    def wait(self) -> None:
        """Stop and wait for the worker (window closing)."""
        if self.runner.busy:
            self.stop()
            self.runner.wait()

    def _ask_operator(self, alarm: AlarmRecord) -> OperatorDecision:
        answer = self.question.ask(alarm)
        return answer if isinstance(answer, OperatorDecision) else OperatorDecision.ABORT

    def _on_pause(self, alarm: object) -> None:
        assert isinstance(alarm, AlarmRecord)
        self.pause.ask(alarm, None if self.batch is None else self.batch.batch_id)

    def _answer(self, decision: object) -> None:
        self.question.answer(decision)

    def _on_event(self, event: object) -> None:
        if isinstance(event, RunStarted):
            self.state.setText(self.tr("Batch started."))
            if event.noise_prior:
                self.flow_prior.setText(
                    self.tr("Flow control: {prior}.").format(prior=event.noise_prior)
                )
                self.flow_prior.show()
            self.devices_changed.emit(self.tr("connected, printing"), self.tr("connected"))
        elif isinstance(event, Heating):
            self.temperature_chart.add_heating(event, time.monotonic())
            self.last_temperature.setText(
                self.tr("Last known: {t}.").format(t=self.temperature_chart.last_known())
            )
            self.state.setText(
                self.tr("Heaters at target.") if event.reached else self.tr("Heating…")
            )
        elif isinstance(event, Temperatures):
            self.temperature_chart.add_reading(event, time.monotonic())
            self.last_temperature.setText(
                self.tr("Last known: {t}.").format(t=self.temperature_chart.last_known())
            )
        elif isinstance(event, Pressure):
            self.pressure_chart.add(event)
            self.last_pressure.setText(
                self.tr("Last: {p}.").format(p=self.pressure_chart.last_known())
            )
        elif isinstance(event, UnitStarted):
            self.state.setText(self.tr("Printing unit {n} of {of}…").format(n=event.n, of=event.of))
            self._pending_progress = (0, 1)
            self._show_progress()
        elif isinstance(event, UnitProgress):
            self._pending_progress = (event.lines_sent, max(1, event.lines_total))
            if event.lines_sent >= event.lines_total:
                self._show_progress()
            elif not self._progress_timer.isActive():
                self._progress_timer.start()
            if event.lines_sent >= event.lines_total:
                self.state.setText(
                    self.tr("Unit {n}: finishing the moves, then weighing…").format(n=event.n)
                )
        elif isinstance(event, UnitWeighed):
            self._add_unit(event.unit)
        elif isinstance(event, FlowCorrected):
            c = event.correction
            self.state.setText(
                self.tr("Material for unit {n}: {pct} % of the plan.").format(
                    n=c.for_unit, pct=c.applied_pct
                )
            )
        elif isinstance(event, Alarm):
            a = event.alarm
            text = self.tr("WARNING: {m}") if a.action == "warn" else self.tr("ALARM: {m}")
            self.alarm.show_reason(text.format(m=a.message))

    def _show_progress(self) -> None:
        """Show the latest progress of the current unit (see ``_progress_timer``)."""
        self._progress_timer.stop()
        if self._pending_progress is not None:
            sent, total = self._pending_progress
            self._pending_progress = None
            self.unit_progress.setRange(0, total)
            self.unit_progress.setValue(sent)

    def _content(self, unit: UnitRecord) -> str:
        """``14.76 ± 0.24 / 15 mg``: mass × the lot's assay, next to the dose per unit."""
        if unit.content_mg is None:
            return "—"
        dose = f" / {format_mg(self.batch.dose_mg)}" if self.batch is not None else ""
        return UnitContent(unit.content_mg, unit.content_uncertainty_mg).text() + dose

    def _add_unit(self, unit: UnitRecord) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = (
            str(unit.n),
            format_mass(unit.target_mg, exact=False),
            "—" if unit.measured_mg is None else format_mass(unit.measured_mg),
            "—" if unit.deviation_pct is None else f"{unit.deviation_pct:+}",
            str(unit.verdict).upper(),
            str(unit.material_pct),
            self._content(unit),
        )
        for col, text in enumerate(cells):
            self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.scrollToBottom()
        self.mass_chart.add_unit(unit)
        self.overall.setValue(self.table.rowCount())

    def _on_finished(self, result: object) -> None:
        assert isinstance(result, BatchResult)
        self.result = result
        if self.authorisation is not None:  # weighed on the simulator: training only
            self.authorisation = after_run(self.authorisation, result)
            self.patient_banner.set_authorisation(self.authorisation)
        self._set_running(False)
        self.pause.hide()
        verdict = result.qc.verdict.upper().replace("_", " ")
        text = f"{result.status.upper()} — QC {verdict}"
        pending = result.status == "completed" and result.qc.verdict.startswith("pending")
        self.verdict.set_verdict(None if pending else result.releasable, text)
        self.state.setText(
            self.tr("{reason}. To print again, plan a new batch.").format(reason=result.reason)
        )
        self.qc_button.setEnabled(True)
        self.devices_changed.emit(self.tr("disconnected"), self.tr("disconnected"))
        self.finished.emit(result, self.batch)

    def _on_failed(self, error: object) -> None:
        self._set_running(False)
        self.pause.hide()
        self.verdict.set_verdict(False, self.tr("NOT STARTED"))
        self.alarm.show_reason(str(error))
        self.state.setText(self.tr("The run could not start."))
        self.devices_changed.emit(self.tr("not connected"), self.tr("not connected"))

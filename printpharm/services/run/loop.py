"""The mass-checked print run: preflight, heat, then per unit tare → print → M400 → weigh.

Use :func:`run_batch`. The printer starts every batch in a known state: the
flow factor is set (``M221 S100``, recorded) and the start code re-primes any
suck-back a previous batch left. For each unit the balance is tared, the
unit's G-code is streamed with its E words scaled by the material factor the
flow controller chose (:mod:`.flow_control`; in chunks, the cancel token
checked between them), ``M400`` waits for the moves to finish, a stable weight
is read and compared with the unit's target and the recipe's unit tolerance;
the raw reading, the factor and its reason are recorded. The controller
learns from every unit (failing ones too), corrects only offsets it can tell
from noise, within the recipe's validated range, flags a sudden drop (clog)
for an alarm and a trend as a drift warning (recorded, the run goes on). An
alarm (unit out of tolerance or a sudden drop, balance that does not settle,
temperature outside the validated window) stops the run, or with the
recipe's ``pause`` policy asks the operator callback (continue / abort). A
halted printer stops the run; a lost connection ends it as ``interrupted``.
At the end the QC tests the recipe names are run (:mod:`.qc`).

Everything is published as events (:mod:`.events`) and written through a
:class:`~printpharm.services.run.recording.BatchRecorder` as it happens.
"""

from __future__ import annotations

from printpharm.errors import DeviceError, PrinterHalted, RunAborted
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.alarm_policy import AlarmPolicy
from printpharm.services.run.correction import FlowCorrectionPart
from printpharm.services.run.events import RunFinished, RunStarted, UnitStarted, UnitWeighed
from printpharm.services.run.flow_control import ControlStep
from printpharm.services.run.opening import preflight
from printpharm.services.run.parts import Alarms, RunClock, RunLedger, StopRun
from printpharm.services.run.printing import PrinterPart
from printpharm.services.run.recording import BatchRecorder, NullRecorder
from printpharm.services.run.request import OperatorCallback, RunDevices, RunOptions, RunRequest
from printpharm.services.run.result import AlarmKind, BatchResult, RunStatus, UnitRecord
from printpharm.services.run.run_record import RunRecord
from printpharm.services.run.weighing import WeighingPart, inline_target
from printpharm.slicing.rescale import e_mode_after, scale_extrusion

__all__ = ["run_batch"]


class _BatchRun:
    """One run: holds its parts (:mod:`.parts`) and calls them in order."""

    def __init__(
        self,
        req: RunRequest,
        devices: RunDevices,
        hub: EventHub,
        recorder: BatchRecorder,
        cancel: CancelToken,
        operator: OperatorCallback | None,
        options: RunOptions,
    ) -> None:
        self.req, self.devices, self.hub, self.recorder = req, devices, hub, recorder
        self.cancel, self.options = cancel, options
        self.clock = RunClock(options)
        self.ledger = RunLedger.open(req, self.clock, devices.printer_port)
        self.alarms: Alarms = AlarmPolicy(
            req.recipe.alarm_policy, operator, recorder, hub, self.ledger, self.clock
        )
        self.printer = PrinterPart(
            req, devices.printer, self.alarms, hub, cancel, self.ledger, options
        )
        self.weighing = WeighingPart(
            req, devices.balance, self.printer, self.alarms, cancel, self.clock, options
        )
        self.flow = FlowCorrectionPart(req, options, recorder, hub, self.ledger, self.clock)
        self.record = RunRecord(
            req, devices, options, self.ledger, self.clock, self.flow.noise_prior
        )
        self.relative_e = False  # Marlin starts with absolute E; the start code sets it

    # -- units ---------------------------------------------------------------------
    def run_units(self) -> None:
        """Print, weigh and judge every unit of the plan."""
        self.relative_e = e_mode_after(self.req.program.preamble, self.relative_e)
        units_total = len(self.req.program.units)
        for unit in self.req.program.units:
            self.cancel.raise_if_cancelled()
            self.ledger.unit_in_progress = unit.n
            target_mg = inline_target(self.req, unit.target_mg)
            self.weighing.tare(unit.n)
            self.printer.begin_unit()
            self.hub.publish(UnitStarted(unit.n, unit.of, target_mg, self.flow.flow_pct))
            program = scale_extrusion(unit.lines, self.flow.e_scale, self.relative_e)
            self.relative_e = program.relative_e
            self.printer.stream_unit(program.lines, unit.n)
            self.printer.wait_for_moves()
            self.printer.check_pressure(unit.n)  # the unit's last beads, before it is weighed
            record = self.weighing.weigh(
                unit.n, target_mg, len(unit.lines), unit.target_mg,
                self.flow.setting(), self.printer.pressure,
            )  # fmt: skip
            self.ledger.units.append(record)
            self.recorder.unit_weighed(self.ledger.batch_id, record)
            self.hub.publish(UnitWeighed(record))
            step = self.flow.observe(record)
            self.judge(record, step)
            self.printer.check_temperatures(unit.n)
            if unit.n < units_total:
                self.flow.correct_flow(record, step)

    def judge(self, record: UnitRecord, step: ControlStep) -> None:
        """Alarm on a unit out of tolerance or a sudden drop; warn on a trend."""
        n = record.n
        drop = (
            f"; a sudden drop of {-step.innovation_sigmas:.1f} standard deviations below the "
            "process estimate: a clog or an air bubble?"
            if step.sudden_drop
            else ""
        )
        if record.verdict == "fail":
            self.alarms.alarm(
                AlarmKind.UNIT_OUT_OF_TOLERANCE,
                f"unit {n}: {record.measured_mg} mg is {record.deviation_pct} % off "
                f"its target {record.target_mg} mg (tolerance ±{record.tolerance_pct} %){drop}",
                n,
            )
        elif step.sudden_drop:
            self.alarms.alarm(
                AlarmKind.SUDDEN_DROP,
                f"unit {n}: {record.measured_mg} mg ({record.deviation_pct} %), within "
                f"tolerance{drop}",
                n,
            )
        if step.warning is not None:
            self.alarms.warn(AlarmKind.DRIFT_WARNING, f"after unit {n}: {step.warning.message}", n)

    # -- the whole run -------------------------------------------------------------
    def execute(self) -> BatchResult:
        """Preflight, heat, print every unit, QC; always returns the result (see run_batch)."""
        req, ledger, printer = self.req, self.ledger, self.printer
        preflight(req, self.devices, self.options, ledger, self.clock.today(), printer,
                  self.hub, self.flow.flow_pct)  # fmt: skip
        units_total = len(req.program.units)
        self.hub.publish(
            RunStarted(
                ledger.batch_id, req.recipe.id, req.dose_mg, units_total, self.flow.noise_prior.text
            )
        )
        self.recorder.batch_started(self.record.header())
        printer.listen_for_cancel()
        status: RunStatus = "stopped"
        reason = "the run ended unexpectedly"
        try:
            printer.heat()
            printer.start_monitoring()
            printer.stream_plain(req.program.preamble)
            self.run_units()
            ledger.unit_in_progress = None
            printer.stream_plain(req.program.postamble)
            status, reason = "completed", f"all {units_total} units printed and weighed"
        except StopRun as stop:
            status, reason = stop.status, stop.reason
        except RunAborted as exc:
            status, reason = self.ended_by(AlarmKind.CANCELLED, str(exc) or "cancelled")
        except PrinterHalted as exc:
            status, reason = self.ended_by(AlarmKind.PRINTER_HALTED, str(exc))
        except DeviceError as exc:  # a protocol violation the link could not recover from
            status, reason = self.ended_by(AlarmKind.DEVICE_ERROR, str(exc))
        finally:
            printer.forget_cancel()
            printer.make_safe_after(status)  # also after an unexpected error, before it propagates
        return self.finish(status, reason)

    def finish(self, status: RunStatus, reason: str) -> BatchResult:
        """Record and publish the result."""
        result = self.record.result(status, reason)
        if status == "interrupted":
            self.recorder.interrupted(result)
        else:
            self.recorder.finished(result)
        self.hub.publish(RunFinished(result))
        return result

    def ended_by(self, kind: AlarmKind, message: str) -> tuple[RunStatus, str]:
        """Turn a cancel, a firmware halt or a device failure into an alarm and a stopped
        status (these kinds are never paused)."""
        try:
            self.alarms.alarm(kind, message, self.ledger.unit_in_progress)
        except StopRun as stop:
            return stop.status, stop.reason
        return "stopped", message  # pragma: no cover - these kinds are never paused


def run_batch(
    request: RunRequest,
    devices: RunDevices,
    *,
    hub: EventHub | None = None,
    recorder: BatchRecorder | None = None,
    cancel: CancelToken | None = None,
    operator: OperatorCallback | None = None,
    options: RunOptions | None = None,
) -> BatchResult:
    """Run one mass-checked batch on connected devices.

    Parameters
    ----------
    request : RunRequest
        Recipe, ink, printer definition, plate program (per-unit targets in mg),
        dose per unit in mg, heater targets in °C.
    devices : RunDevices
        A :class:`~printpharm.devices.printer.PrinterLink` (not yet connected)
        and a balance; the caller opens and closes their transports.
    hub, recorder : optional
        Receive the run's events (:mod:`.events`) and records as they happen.
    cancel : CancelToken, optional
        Checked between chunks of lines and between units.
    operator : callable, optional
        Asked on ``pause``-policy alarms; without it such alarms stop the run.
    options : RunOptions, optional
        Flow correction, chunk size, clocks, lock policy.

    Returns
    -------
    BatchResult
        ``status`` completed / stopped / interrupted, units with raw readings,
        alarms, corrections and the QC report.

    Raises
    ------
    PreflightError
        A precondition failed; nothing was printed or recorded.
    DeviceError
        The printer could not be connected or identified (before the batch started).
    RecordError
        The recorder cannot write (the run is stopped and the devices made safe).
    """
    hub, recorder = hub or EventHub(), recorder or NullRecorder()
    cancel, options = cancel or CancelToken(), options or RunOptions()
    return _BatchRun(request, devices, hub, recorder, cancel, operator, options).execute()

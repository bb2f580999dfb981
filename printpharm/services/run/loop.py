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

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Literal, TypeVar

from printpharm.core.units import within_tolerance
from printpharm.errors import (
    BalanceError,
    BalanceUnstable,
    DeviceError,
    PrinterHalted,
    ProtocolError,
    RunAborted,
)
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.events import (
    Alarm,
    FlowCorrected,
    RunFinished,
    RunStarted,
    UnitProgress,
    UnitStarted,
    UnitWeighed,
)
from printpharm.services.run.flow_control import ControlStep
from printpharm.services.run.pressure import CHECK_EVERY_LINES
from printpharm.services.run.recording import BatchRecorder, NullRecorder
from printpharm.services.run.request import (
    OperatorCallback,
    RunDevices,
    RunOptions,
    RunRequest,
    Weighing,
    mass_in_mg,
)
from printpharm.services.run.result import (
    AlarmKind,
    AlarmRecord,
    BatchResult,
    FlowCorrection,
    OperatorDecision,
    RunStatus,
    UnitRecord,
)
from printpharm.services.run.steps import RunSteps, StopRun
from printpharm.slicing.rescale import e_mode_after, scale_extrusion

_T = TypeVar("_T")

__all__ = ["run_batch"]

#: Resolution of the material factor: 0.01 % (Marlin's M221 has 1 %).
_SCALE_STEP = Decimal("0.0001")


def _pct(fraction: float) -> Decimal:
    return (Decimal(repr(fraction)) * 100).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


_PAUSABLE = (
    AlarmKind.UNIT_OUT_OF_TOLERANCE,
    AlarmKind.SUDDEN_DROP,
    AlarmKind.BALANCE_UNSTABLE,
    AlarmKind.BALANCE_ERROR,
    AlarmKind.TEMPERATURE,
    AlarmKind.OVER_PRESSURE,
    AlarmKind.UNDER_PRESSURE,
)


class _BatchRun(RunSteps):
    """One run's state; the steps live in :class:`RunSteps`, the unit loop here."""

    def alarm(self, kind: AlarmKind, message: str, unit: int | None) -> OperatorDecision | None:
        """Record and publish an alarm; stop the run unless the operator says continue.

        Raises
        ------
        StopRun
            The alarm ends the run (stop policy, no operator, operator abort, or
            a kind that cannot be paused).
        """
        action: Literal["stop", "pause", "interrupt"] = "stop"
        if kind is AlarmKind.CONNECTION_LOST:
            action = "interrupt"
        elif kind in _PAUSABLE and self.req.recipe.alarm_policy == "pause":
            action = "pause"
        decision: OperatorDecision | None = None
        if action == "pause":
            if self.operator is None:
                action, message = "stop", message + " (pause policy, but no operator to ask)"
            else:  # on disk before the wait: a crash while paused still shows the alarm
                asking = AlarmRecord(kind, message, unit, "pause", None, self.now())
                self.recorder.alarm(self.batch_id, asking)
                decision = OperatorDecision(self.operator(asking))
                refusal = (
                    self.recorder.may_continue(self.batch_id, asking)
                    if decision is OperatorDecision.CONTINUE
                    else None
                )
                if refusal is not None:  # e.g. a recorded batch's alarm nobody acknowledged
                    action, message = "stop", f"{message}; continue refused: {refusal}"
        record = AlarmRecord(kind, message, unit, action, decision, self.now())
        self.alarms.append(record)
        self.recorder.alarm(self.batch_id, record)
        self.hub.publish(Alarm(record))
        if action == "interrupt":
            raise StopRun("interrupted", message)
        if action == "stop" or decision is OperatorDecision.ABORT:
            why = "alarm" if action == "stop" else "operator chose abort"
            raise StopRun("stopped", f"{why}: {message}")
        return decision

    def warn(self, kind: AlarmKind, message: str, unit: int | None) -> None:
        """Record and publish a warning (``action="warn"``): the run goes on."""
        record = AlarmRecord(kind, message, unit, "warn", None, self.now())
        self.alarms.append(record)
        self.recorder.alarm(self.batch_id, record)
        self.hub.publish(Alarm(record))

    # -- units ---------------------------------------------------------------------
    def run_units(self) -> None:
        """Print, weigh and judge every unit of the plan."""
        self.relative_e = e_mode_after(self.req.program.preamble, self.relative_e)
        for unit in self.req.program.units:
            self.cancel.raise_if_cancelled()
            self.unit_in_progress = unit.n
            target_mg = self.inline_target(unit.target_mg)
            self.balance_call(self.devices.balance.tare, unit.n, "tare")
            self.devices.printer.take_pressures()  # reports of the pause before it: no bead
            self.pressure.begin_unit()
            self.hub.publish(UnitStarted(unit.n, unit.of, target_mg, self.flow_pct))
            program = scale_extrusion(unit.lines, self.e_scale, self.relative_e)
            self.relative_e = program.relative_e
            self.stream(program.lines, unit.n)
            self.call_device(self.devices.printer.wait_for_moves)
            self.check_pressure(unit.n)  # the unit's last beads, before it is weighed
            record = self.weigh(unit.n, target_mg, len(unit.lines), unit.target_mg)
            self.units.append(record)
            self.recorder.unit_weighed(self.batch_id, record)
            self.hub.publish(UnitWeighed(record))
            assert record.measured_mg is not None
            step = self.controller.observe(
                unit.n, float(target_mg), float(record.measured_mg), float(self.e_scale)
            )
            self.judge(record, step)
            self.check_temperatures(unit.n)
            if unit.n < len(self.req.program.units):
                self.correct_flow(record, step)

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
            self.alarm(
                AlarmKind.UNIT_OUT_OF_TOLERANCE,
                f"unit {n}: {record.measured_mg} mg is {record.deviation_pct} % off "
                f"its target {record.target_mg} mg (tolerance ±{record.tolerance_pct} %){drop}",
                n,
            )
        elif step.sudden_drop:
            self.alarm(
                AlarmKind.SUDDEN_DROP,
                f"unit {n}: {record.measured_mg} mg ({record.deviation_pct} %), within "
                f"tolerance{drop}",
                n,
            )
        if step.warning is not None:
            self.warn(AlarmKind.DRIFT_WARNING, f"after unit {n}: {step.warning.message}", n)

    def stream(self, lines: tuple[str, ...], n: int) -> None:
        """Stream ``lines`` in chunks, publishing progress and checking the cancel token."""
        total = len(lines)
        step = max(1, self.options.lines_per_check)
        if self.pressure.active:  # judged between chunks: a clog is seen while it builds
            step = min(step, CHECK_EVERY_LINES)
        every = max(1, self.options.progress_every_lines)
        last = -every
        for start in range(0, total, step):
            self.cancel.raise_if_cancelled()
            if start:
                self.check_temperatures(n, poll=False)  # auto-reported while streaming
                self.check_pressure(n)
            chunk = lines[start : start + step]

            def progress(acked: int, _total: int, offset: int = start) -> None:
                nonlocal last
                done = offset + acked
                if done - last >= every or done == total:
                    last = done
                    self.hub.publish(UnitProgress(n, done, total))

            where = f"unit {n}, sending lines {start + 1}-{start + len(chunk)} of {total}"
            stream = partial(self.devices.printer.stream, chunk, progress)
            stats = self.call_device(stream, where=where)
            if stats.aborted:
                self.cancel.raise_if_cancelled()
                raise RunAborted("the stream was aborted")
        if total == 0 or last < total:
            self.hub.publish(UnitProgress(n, total, total))

    def balance_call(self, call: Callable[[], _T], n: int, what: str) -> _T:
        """Call the balance; an unstable or failed reading raises an alarm (retry on continue)."""
        while True:
            self.cancel.raise_if_cancelled()
            try:
                return self.call_device(call, "balance")
            except BalanceUnstable as exc:
                message = f"unit {n}: the balance did not settle for the {what} ({exc})"
                self.alarm(AlarmKind.BALANCE_UNSTABLE, message, n)
            except (BalanceError, ProtocolError) as exc:
                self.alarm(AlarmKind.BALANCE_ERROR, f"unit {n}: {what}: {exc}", n)

    def _reading(self) -> tuple[Weighing, Decimal]:
        weighing = self.devices.balance.weigh()
        if not weighing.stable:  # never judge a dose on a dynamic value
            raise BalanceUnstable(f"the balance answered an unstable value {weighing.raw!r}")
        return weighing, mass_in_mg(weighing)

    def weigh(self, n: int, target_mg: Decimal, lines: int, plan_target_mg: Decimal) -> UnitRecord:
        """Read a stable weight (asking the operator to retry per policy) and judge it.

        ``target_mg`` is the in-line (as printed) target; ``plan_target_mg`` the
        plan's weighed-state target, kept as ``dried_target_mg`` when they differ.
        """
        weighing, measured = self.balance_call(self._reading, n, "weighing")
        content = self.lot().content(measured, self.req.ink.drug_load.value)
        tolerance = self.req.recipe.tolerances.unit_mass.value
        # exact decimals, bounds inclusive; a reading <= 0 (an empty or robbed pan) fails too
        within = measured > 0 and within_tolerance(measured, target_mg, tolerance)
        deviation = ((measured - target_mg) * 100 / target_mg).quantize(
            Decimal("0.001"), rounding=ROUND_HALF_UP
        )
        return UnitRecord(
            n=n,
            target_mg=target_mg,
            measured_mg=measured,
            deviation_pct=deviation,
            verdict="pass" if within else "fail",
            tolerance_pct=tolerance,
            flow_pct=self.flow_pct,
            e_scale=self.e_scale,
            correction_reason=self.next_reason,
            raw_reading=weighing.raw,
            reading_unit=weighing.unit,
            stable=weighing.stable,
            weighed_at=self.now(),
            lines=lines,
            dried_target_mg=plan_target_mg if plan_target_mg != target_mg else None,
            content_mg=None if content is None else content.content_mg,
            content_uncertainty_mg=None if content is None else content.uncertainty_mg,
            pressure=None if (log := self.pressure.log()) is None else log.record(),
        )

    def correct_flow(self, record: UnitRecord, step: ControlStep) -> None:
        """Set the next unit's material factor from the controller's decision.

        Applied by scaling the E words of the next unit's G-code (0.01 % steps,
        inside the recipe's validated range); recorded with its reason.
        """
        if not self.options.flow_correction:
            self.next_reason = "flow correction is off: printed as planned"
            return
        new = Decimal(repr(step.scale)).quantize(_SCALE_STEP, rounding=ROUND_HALF_UP)
        self.next_reason = f"after unit {record.n}: {step.reason}"
        if new == self.e_scale:
            return
        assert record.measured_mg is not None
        bounds = self.req.recipe.tolerances.flow_correction
        requested = Decimal(repr(step.requested_scale)) * 100
        correction = FlowCorrection(
            after_unit=record.n,
            for_unit=record.n + 1,
            measured_mg=record.measured_mg,
            target_mg=record.target_mg,
            previous_pct=(self.e_scale * 100).quantize(Decimal("0.01")),
            requested_pct=requested.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            applied_pct=(new * 100).quantize(Decimal("0.01")),
            bounds_pct=(100 + bounds.min, 100 + bounds.max),
            clamped=step.clamped,
            command=f"E words of unit {record.n + 1} scaled by {new}",
            at=self.now(),
            e_scale=new,
            estimate_pct=_pct(step.estimate),
            estimate_se_pct=_pct(step.estimate_se),
            reason=step.reason,
        )
        self.e_scale = new
        self.corrections.append(correction)
        self.recorder.correction(self.batch_id, correction)
        self.hub.publish(FlowCorrected(correction))

    # -- the whole run -------------------------------------------------------------
    def execute(self) -> BatchResult:
        """Preflight, heat, print every unit, QC; always returns the result (see run_batch)."""
        self.preflight()
        units_total = len(self.req.program.units)
        self.hub.publish(
            RunStarted(self.batch_id, self.req.recipe.id, self.req.dose_mg, units_total)
        )
        self.started()
        status: RunStatus = "stopped"
        reason = "the run ended unexpectedly"
        try:
            self.heat()
            self.start_monitoring()
            self.stream_plain(self.req.program.preamble)
            self.run_units()
            self.unit_in_progress = None
            self.stream_plain(self.req.program.postamble)
            status, reason = "completed", f"all {units_total} units printed and weighed"
        except StopRun as stop:
            status, reason = stop.status, stop.reason
        except RunAborted as exc:
            status, reason = self.stopped_by(exc)
        except PrinterHalted as exc:
            status, reason = self.halted(exc, AlarmKind.PRINTER_HALTED)
        except DeviceError as exc:  # a protocol violation the link could not recover from
            status, reason = self.halted(exc, AlarmKind.DEVICE_ERROR)
        finally:
            self.forget_cancel()
            self.make_safe_after(status)  # also after an unexpected error, before it propagates
        result = self.result(status, reason)
        if status == "interrupted":
            self.recorder.interrupted(result)
        else:
            self.recorder.finished(result)
        self.hub.publish(RunFinished(result))
        return result

    def stopped_by(self, exc: RunAborted) -> tuple[RunStatus, str]:
        """Turn a cancel into a ``cancelled`` alarm and a stopped status."""
        message = str(exc) or "cancelled"
        try:
            self.alarm(AlarmKind.CANCELLED, message, self.current_unit())
        except StopRun as stop:
            return stop.status, stop.reason
        return "stopped", message  # pragma: no cover - CANCELLED is never paused

    def halted(self, exc: DeviceError, kind: AlarmKind) -> tuple[RunStatus, str]:
        """Turn a firmware halt or device failure into an alarm and a stopped status."""
        try:
            self.alarm(kind, str(exc), self.current_unit())
        except StopRun as stop:
            return stop.status, stop.reason
        return "stopped", str(exc)  # pragma: no cover - these kinds are never paused


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

"""State and housekeeping steps of one print run (private to :mod:`printpharm.services.run.loop`).

Preflight, heating, plain streaming, temperature and pressure checks, device-error
translation, making the printer safe and assembling the result. The unit loop
and the alarm policy live in :mod:`printpharm.services.run.loop`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, TypeVar

from printpharm.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.calibration import calibration_check
from printpharm.services.run.events import Heating, PreflightPassed, Pressure, Temperatures
from printpharm.services.run.flow_control import ControlParameters, FlowController
from printpharm.services.run.lot import BoundLot
from printpharm.services.run.preflight import (
    LockStatus,
    PreflightCheck,
    check_device,
    check_program_limits,
    check_static,
    check_temperatures,
    raise_failures,
)
from printpharm.services.run.pressure import REPORT_INTERVAL_S, PressureWatch
from printpharm.services.run.qc import QcInputs, evaluate_qc
from printpharm.services.run.recording import BatchRecorder
from printpharm.services.run.request import OperatorCallback, RunDevices, RunOptions, RunRequest
from printpharm.services.run.result import (
    AlarmKind,
    AlarmRecord,
    BatchHeader,
    BatchResult,
    FlowCorrection,
    OperatorDecision,
    QcReport,
    RunStatus,
    UnitRecord,
)

__all__ = ["RunSteps", "StopRun", "control_parameters"]

_T = TypeVar("_T")


def control_parameters(req: RunRequest) -> ControlParameters:
    """The flow controller's noise model and range from the ink and the recipe (% → fraction)."""
    var, tol = req.ink.variability, req.recipe.tolerances
    hundred = 100.0
    return ControlParameters(
        unit_rsd=float(var.unit_rsd.value) / hundred,
        balance_sd_mg=float(req.recipe.control.balance_sd.value),
        offset_sd=float(var.offset_sd.value) / hundred,
        drift_sd=float(var.drift_sd.value) / hundred,
        correction_min=float(tol.flow_correction.min) / hundred,
        correction_max=float(tol.flow_correction.max) / hundred,
        units_total=len(req.program.units),
    )


class StopRun(Exception):  # noqa: N818 - control flow inside the run, never escapes it
    """Unwinds the run to its end with a status and a reason."""

    def __init__(self, status: RunStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RunSteps:
    """The state of one run and the steps around the unit loop."""

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
        self.cancel, self.operator, self.options = cancel, operator, options
        self.started_at = self.now()
        stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
        self.batch_id = req.batch_id or f"{req.recipe.id}-{stamp}-{secrets.token_hex(3)}"
        self.flow_pct = Decimal(100)  # the firmware flow factor, set (M221) at the start
        self.e_scale = Decimal(1)  # the material factor of the next unit's E words
        self.next_reason = "the first unit is printed as planned"
        self.relative_e = False  # Marlin starts with absolute E; the start code sets it
        self.controller = FlowController(control_parameters(req))
        self.units: list[UnitRecord] = []
        self.alarms: list[AlarmRecord] = []
        self.corrections: list[FlowCorrection] = []
        self.checks: list[PreflightCheck] = []
        self.lock: LockStatus | None = None
        self.printer_record: dict[str, Any] = {"port": devices.printer_port}
        self.unit_in_progress: int | None = None
        self.monitoring = False
        self.pressure = PressureWatch(req.ink.pressure)
        self.lost_device: str | None = None
        self._run_thread = threading.current_thread()
        self._forget_cancel: Callable[[], None] | None = None

    # -- overridden by the run ------------------------------------------------------
    def alarm(self, kind: AlarmKind, message: str, unit: int | None) -> OperatorDecision | None:
        """Raise an alarm (see :class:`printpharm.services.run.loop._BatchRun`)."""
        raise NotImplementedError

    # -- targets --------------------------------------------------------------------
    def inline_target(self, plan_target_mg: Decimal) -> Decimal:
        """The mass to expect on the balance right after printing, in mg.

        The plan's target is the weighed (dried) printlet: dose / dried drug load
        (bsa_dosing.md §2.5). The in-line balance weighs the unit wet, as
        dispensed: dose / drug load, i.e. the plan's target × dried / wet load.
        """
        ink = self.req.ink
        if ink.dried_drug_load is None or ink.dried_drug_load.value == ink.drug_load.value:
            return plan_target_mg
        wet = plan_target_mg * ink.dried_drug_load.value / ink.drug_load.value
        return wet.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    # -- clocks and devices ---------------------------------------------------------
    def now(self) -> datetime:
        """The current time (UTC) from the options' clock."""
        return self.options.now() if self.options.now is not None else datetime.now(UTC)

    def today(self) -> date:
        """The date ink expiry is judged against."""
        return self.options.today or self.now().date()

    def call_device(
        self,
        call: Callable[[], _T],
        device: Literal["printer", "balance"] = "printer",
        where: str = "",
    ) -> _T:
        """Call a device; a lost connection becomes a ``connection_lost`` alarm (interrupted).

        ``where`` says what was going on, for the alarm message.
        """
        try:
            return call()
        except (DeviceDisconnected, DeviceTimeout) as exc:
            self.lost_device = device
            context = f" ({where})" if where else ""
            message = f"{device}{context}: {exc}"
            self.alarm(AlarmKind.CONNECTION_LOST, message, self.unit_in_progress)
            raise  # pragma: no cover - alarm() always raises for CONNECTION_LOST

    def lot(self) -> BoundLot:
        """The lot the run prints from: the recorded one, else the ink file's example lot."""
        return self.options.lot or BoundLot.from_ink_file(self.req.ink)

    def current_unit(self) -> int | None:
        """The unit being printed or weighed, if any."""
        return self.unit_in_progress

    # -- before printing ------------------------------------------------------------
    def preflight(self) -> None:
        """Static checks, connect and identify the printer, device checks, start flow factor.

        Raises
        ------
        PreflightError
            A check failed.
        DeviceError
            The printer could not be reached.
        """
        req = self.req
        self.lock = self.options.lock_policy(req.recipe, req.recipe_sha256)
        temps = (req.nozzle_c, req.bed_c)
        self.checks = check_static(
            req.recipe, req.ink, req.program, req.dose_mg, temps, self.lock, self.today(),
            self.options.lot, req.ink_need, self.options.ink_version,
            dose_record=req.dose_record, dose_override=self.options.dose_override,
            printer=req.printer_definition,
        )  # fmt: skip
        self.checks.append(check_program_limits(req.printer_definition, req.program, temps))
        self.checks.extend(self.options.recorded_checks)
        if self.options.balance_policy is not None:
            balance = self.devices
            self.checks.extend(
                self.options.balance_policy(balance.balance_identity, balance.balance_port)
            )
        raise_failures(self.checks)
        info = self.devices.printer.connect(timeout_s=self.options.connect_timeout_s)
        device_checks = check_device(req.printer_definition, info)
        self.checks.extend(device_checks)
        if self.options.printer_policy is not None:
            identity = {**info.fields, "firmware": info.firmware_name}
            self.checks.extend(self.options.printer_policy(identity, self.devices.printer_port))
        raise_failures(self.checks)
        # A known state before anything is printed: whatever flow factor a previous job left
        # (M221 survives between jobs), this batch prints at the factor it records.
        start_flow = f"M221 S{self.flow_pct}"
        self.devices.printer.send(start_flow)
        self.printer_record.update(
            firmware=info.firmware_name,
            machine_type=info.fields.get("MACHINE_TYPE", ""),
            uuid=info.fields.get("UUID", ""),
            capabilities=dict(info.capabilities),
            start_state={"flow_pct": self.flow_pct, "command": start_flow},
            pressure=self.pressure_record(),
        )
        self.hub.publish(PreflightPassed(tuple((c.name, c.detail) for c in self.checks)))

    def started(self) -> None:
        """Record the batch start; let a cancel from another thread abort the stream."""
        self.recorder.batch_started(
            BatchHeader(
                batch_id=self.batch_id,
                recipe=self.recipe_record(),
                dose=self.dose_record(),
                printer=dict(self.printer_record),
                balance=self.balance_record(),
                preflight=self.check_records(),
                units_planned=len(self.req.program.units),
                started_at=self.started_at,
            )
        )
        self._forget_cancel = self.cancel.on_cancel(self._abort_from_elsewhere)

    def _abort_from_elsewhere(self) -> None:
        # From the run's own thread (a subscriber cancelling) the next check point
        # stops the run; PrinterLink.abort() there would re-enter the running stream.
        if threading.current_thread() is self._run_thread:
            return
        try:
            self.devices.printer.abort()
        except DeviceError:
            pass  # the run thread sees the same failure and records it

    def heat(self) -> None:
        """Heat to the resolved targets, then check the measured temperatures."""
        nozzle, bed = self.req.nozzle_c, self.req.bed_c
        heated = self._heated()
        self.hub.publish(Heating(nozzle, bed, reached=False))
        printer = self.devices.printer
        self.call_device(lambda: printer.heat_and_wait(hotend_c=nozzle, bed_c=bed))
        readings = self.call_device(printer.temperatures)
        hot, bed_now = readings.get("T"), readings.get("B")
        self.hub.publish(
            Heating(
                nozzle,
                bed,
                reached=True,
                hotend_actual_c=hot.actual_c if hot else None,
                bed_actual_c=bed_now.actual_c if bed_now else None,
            )
        )
        self._judge_temperatures(check_temperatures(self.req.recipe, readings, heated), None)

    def _heated(self) -> tuple[bool, bool]:
        nozzle, bed = self.req.nozzle_c, self.req.bed_c
        return (nozzle is not None and nozzle > 0, bed is not None and bed > 0)

    def start_monitoring(self) -> None:
        """Ask for temperature auto-reports (M155 S1) when the firmware offers them, and for
        pressure reports (M1155) where the head has them and the ink sets limits."""
        printer = self.devices.printer
        info = printer.info
        if any(self._heated()) and info is not None and info.has("AUTOREPORT_TEMP"):
            self.call_device(lambda: printer.start_auto_report(1))
            self.monitoring = True
        if self.pressure.limits is not None and printer.reports_pressure:
            self.call_device(lambda: printer.start_pressure_report(REPORT_INTERVAL_S))
            self.pressure.active = True

    def pressure_record(self) -> dict[str, Any]:
        """Whether the extrusion pressure is watched, and against which limits (kPa)."""
        limits = self.req.ink.pressure
        reported = self.devices.printer.reports_pressure
        if limits is None:
            return {"watched": False, "why": "the ink sets no pressure limits"}
        if not reported:
            return {"watched": False, "why": "the printer reports no extrusion pressure"}
        low = None if limits.min is None else limits.min.value
        return {
            "watched": True,
            "limits_kpa": [low, limits.max.value],
            "interval_s": REPORT_INTERVAL_S,
            "command": f"M1155 S{REPORT_INTERVAL_S}",
        }

    def check_pressure(self, unit: int | None) -> None:
        """Log the pressure reports received since the last check; alarm outside the limits."""
        if not self.pressure.active:
            return
        readings = self.devices.printer.take_pressures()
        if not readings:
            return
        limits = self.pressure.limits
        assert limits is not None
        low = None if limits.min is None else limits.min.value
        self.hub.publish(
            Pressure(unit, tuple(r.kpa for r in readings),
                     tuple(r.flow_mm3_s or Decimal(0) for r in readings), (low, limits.max.value))
        )  # fmt: skip
        for excursion in self.pressure.add(readings):
            kind = AlarmKind.OVER_PRESSURE if excursion.kind == "high" else AlarmKind.UNDER_PRESSURE
            self.alarm(kind, excursion.describe(unit), unit)

    def check_temperatures(self, unit: int | None, poll: bool = True) -> None:
        """Alarm when a heater is outside its validated window.

        ``poll`` sends M105; otherwise the latest reading seen in any reply
        (auto-reports while streaming) is judged, without a round trip.
        """
        heated = self._heated()
        if not any(heated) or (not poll and not self.monitoring):
            return
        printer = self.devices.printer
        readings = self.call_device(printer.temperatures) if poll else printer.last_temperatures
        hot, bed = readings.get("T"), readings.get("B")
        self.hub.publish(
            Temperatures(unit, hot.actual_c if hot else None, bed.actual_c if bed else None)
        )
        self._judge_temperatures(check_temperatures(self.req.recipe, readings, heated), unit)

    def _judge_temperatures(self, checks: list[PreflightCheck], unit: int | None) -> None:
        failed = [c.detail for c in checks if not c.passed]
        if failed:
            where = f"unit {unit}: " if unit is not None else "after heating: "
            self.alarm(AlarmKind.TEMPERATURE, where + "; ".join(failed), unit)

    def stream_plain(self, lines: tuple[str, ...]) -> None:
        """Stream start or end code (no unit, no progress events)."""
        if any(line.split(";", 1)[0].strip() for line in lines):
            self.cancel.raise_if_cancelled()
            self.call_device(lambda: self.devices.printer.stream(lines))

    # -- after printing -------------------------------------------------------------
    def make_safe_after(self, status: RunStatus) -> None:
        """Make the printer safe unless the run completed or the printer itself is lost.

        With the printer's link gone there is nobody to tell (and a silent printer
        would only make the host wait out its timeouts); when the *balance* was
        lost the printer is still there, hot, and is made safe.
        """
        if status == "stopped" or (status == "interrupted" and self.lost_device == "balance"):
            self.make_safe()

    def make_safe(self) -> None:
        """Heaters and motors off after a stop (best effort: the link may be gone)."""
        try:
            self.devices.printer.abort()
        except DeviceError:
            pass  # a halted or unplugged printer is already as safe as the host can make it

    def recipe_record(self) -> dict[str, Any]:
        """The recipe, ink lot and limits as recorded with the batch."""
        r, ink = self.req.recipe, self.req.ink
        tol = r.tolerances
        lot = self.lot()
        need = self.req.ink_need
        return {
            "id": r.id,
            "name": r.name,
            "version": self.lock.version if self.lock else "",
            "sha256": self.req.recipe_sha256,
            "validation_status": r.validation_status,
            "alarm_policy": r.alarm_policy,
            "api": r.api,
            "form": self.dosage_form(),
            "ink": {
                "id": ink.id,
                "lot": lot.lot_number,
                "expiry": lot.beyond_use_date,
                "lot_record": lot.record(),
                "need": None if need is None else need.record(),
                "drug_load_mg_per_g": ink.drug_load.value,
                "dried_drug_load_mg_per_g": (
                    ink.dried_drug_load.value if ink.dried_drug_load is not None else None
                ),
                "density_g_per_cm3": ink.density.value,
            },
            "tolerances": {
                "unit_mass_pct": tol.unit_mass.value,
                "mean_mass_pct": tol.mean_mass.value,
                "flow_correction_pct": [tol.flow_correction.min, tol.flow_correction.max],
            },
            "qc_tests": list(r.qc.tests),
            "qc_units_count": r.qc.units_count,
            "calibration": None if self.req.prediction is None else self.req.prediction.record(),
        }

    def dose_record(self) -> dict[str, Any]:
        """Dose per unit (mg) and how it was reached."""
        return {"dose_mg": self.req.dose_mg, **dict(self.req.dose_record)}

    def balance_record(self) -> dict[str, Any]:
        """Balance port and identity."""
        return {"port": self.devices.balance_port, **dict(self.devices.balance_identity)}

    def check_records(self) -> tuple[Mapping[str, Any], ...]:
        """Preflight checks as plain mappings."""
        return tuple({"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks)

    def dosage_form(self) -> Literal["tablet", "capsule"]:
        """The form the pharmacopoeia tests judge: a capsule fill, or a tablet."""
        return "capsule" if self.req.recipe.form.template == "capsule_fill" else "tablet"

    def qc(self, status: RunStatus, reason: str) -> QcReport:
        """QC of a completed run, else ``not_evaluated``."""
        if status != "completed":
            return QcReport("not_evaluated", f"run {status}: {reason}")
        r, ink = self.req.recipe, self.req.ink
        lot = self.lot()
        label_claim = ink.drug_load.value  # in-line masses are as dispensed (wet)
        assay = lot.assay.pct_of_label_claim(label_claim) if lot.assay else ink.assay.value
        inputs = QcInputs(
            r.qc.tests,
            self.dosage_form(),
            self.req.dose_mg,
            label_claim,
            assay,
            r.tolerances.unit_mass.value,
            r.tolerances.mean_mass.value,
            self.options.mass_policy,
            assay_is_measured=lot.assay_is_measured,
            selection_seed=self.options.qc_seed,
            local_spec_release=self.options.local_spec_release,
            finished_load_mg_per_g=ink.weighed_drug_load().value,
        )
        report = evaluate_qc(inputs, self.units)
        notes = []
        if len(self.units) != r.qc.units_count:
            notes.append(f"QC plan: {r.qc.units_count} units; {len(self.units)} made")
        if ink.dried_drug_load is not None:
            notes.append("masses weighed wet in line; weigh the dried printlets for release")
        if notes:
            report = QcReport(report.verdict, f"{report.reason} ({'; '.join(notes)})", report.tests)
        return report

    def forget_cancel(self) -> None:
        """Stop listening to the cancel token (the run is over)."""
        if self._forget_cancel is not None:
            self._forget_cancel()
            self._forget_cancel = None

    def result(self, status: RunStatus, reason: str) -> BatchResult:
        """Assemble the batch result."""
        return BatchResult(
            batch_id=self.batch_id,
            status=status,
            reason=reason,
            recipe=self.recipe_record(),
            dose=self.dose_record(),
            printer=dict(self.printer_record),
            balance=self.balance_record(),
            preflight=self.check_records(),
            units=tuple(self.units),
            alarms=tuple(self.alarms),
            corrections=tuple(self.corrections),
            qc=self.qc(status, reason),
            units_planned=len(self.req.program.units),
            started_at=self.started_at,
            finished_at=self.now(),
            calibration_check=calibration_check(self.req.prediction, status, self.units),
        )

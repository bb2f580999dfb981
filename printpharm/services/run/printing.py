"""The printer part of a print run: heating, streaming, the temperature and pressure
watch, and making the printer safe.

Every device call of the run goes through :meth:`PrinterPart.call_device` (the
:class:`~printpharm.services.run.parts.DeviceCalls` interface), so that a lost
link — the printer's or the balance's — becomes a ``connection_lost`` alarm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from printpharm.devices.printer import PrinterLink
from printpharm.errors import DeviceDisconnected, DeviceError, DeviceTimeout, RunAborted
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.events import Heating, Pressure, Temperatures, UnitProgress
from printpharm.services.run.parts import Alarms, Device, RunLedger
from printpharm.services.run.preflight import PreflightCheck, check_temperatures
from printpharm.services.run.pressure import (
    CHECK_EVERY_LINES,
    REPORT_INTERVAL_S,
    Excursion,
    PressureWatch,
)
from printpharm.services.run.request import RunOptions, RunRequest
from printpharm.services.run.result import AlarmKind, RunStatus

__all__ = ["PrinterPart"]

_T = TypeVar("_T")


class PrinterPart:
    """The printer of one run, and the guard around every device call."""

    def __init__(
        self,
        req: RunRequest,
        printer: PrinterLink,
        alarms: Alarms,
        hub: EventHub,
        cancel: CancelToken,
        ledger: RunLedger,
        options: RunOptions,
    ) -> None:
        self.req, self.printer, self.alarms, self.hub = req, printer, alarms, hub
        self.cancel, self.ledger, self.options = cancel, ledger, options
        self.pressure = PressureWatch(req.ink.pressure)
        self.monitoring = False
        self.lost_device: Device | None = None
        self._run_thread = threading.current_thread()
        self._forget_cancel: Callable[[], None] | None = None

    def call_device(
        self, call: Callable[[], _T], device: Device = "printer", where: str = ""
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
            self.alarms.alarm(AlarmKind.CONNECTION_LOST, message, self.ledger.unit_in_progress)
            raise  # pragma: no cover - alarm() always raises for CONNECTION_LOST

    # -- a cancel from another thread -----------------------------------------------
    def listen_for_cancel(self) -> None:
        """Let a cancel from another thread abort the stream."""
        self._forget_cancel = self.cancel.on_cancel(self._abort_from_elsewhere)

    def _abort_from_elsewhere(self) -> None:
        # From the run's own thread (a subscriber cancelling) the next check point
        # stops the run; PrinterLink.abort() there would re-enter the running stream.
        if threading.current_thread() is self._run_thread:
            return
        try:
            self.printer.abort()
        except DeviceError:
            pass  # the run thread sees the same failure and records it

    def forget_cancel(self) -> None:
        """Stop listening to the cancel token (the run is over)."""
        if self._forget_cancel is not None:
            self._forget_cancel()
            self._forget_cancel = None

    # -- heaters and monitoring -----------------------------------------------------
    def heated(self) -> tuple[bool, bool]:
        """Whether the nozzle and the bed are heated at all."""
        nozzle, bed = self.req.nozzle_c, self.req.bed_c
        return (nozzle is not None and nozzle > 0, bed is not None and bed > 0)

    def heat(self) -> None:
        """Heat to the resolved targets, then check the measured temperatures."""
        nozzle, bed = self.req.nozzle_c, self.req.bed_c
        heated = self.heated()
        self.hub.publish(Heating(nozzle, bed, reached=False))
        printer = self.printer
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

    def start_monitoring(self) -> None:
        """Ask for temperature auto-reports (M155 S1) when the firmware offers them, and for
        pressure reports (M1155) where the head has them and the ink sets limits."""
        printer = self.printer
        info = printer.info
        if any(self.heated()) and info is not None and info.has("AUTOREPORT_TEMP"):
            self.call_device(lambda: printer.start_auto_report(1))
            self.monitoring = True
        if self.pressure.limits is not None and printer.reports_pressure:
            self.call_device(lambda: printer.start_pressure_report(REPORT_INTERVAL_S))
            self.pressure.active = True

    def pressure_record(self) -> dict[str, Any]:
        """Whether the extrusion pressure is watched, and against which limits (kPa)."""
        limits = self.req.ink.pressure
        reported = self.printer.reports_pressure
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

    def begin_unit(self) -> None:
        """Drop the pressure reports of the pause before a unit (no bead) and start its log."""
        self.printer.take_pressures()
        self.pressure.begin_unit()

    def check_pressure(self, unit: int | None) -> None:
        """Log the pressure reports received since the last check; alarm outside the limits."""
        if not self.pressure.active:
            return
        readings = self.printer.take_pressures()
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
            if (
                excursion.kind == "high"
                and not excursion.held
                and not self._over_pressure_confirmed(unit, excursion)
            ):
                continue
            kind = AlarmKind.OVER_PRESSURE if excursion.kind == "high" else AlarmKind.UNDER_PRESSURE
            self.alarms.alarm(kind, excursion.describe(unit), unit)

    def _over_pressure_confirmed(self, unit: int | None, excursion: Excursion) -> bool:
        """Poll ``M1105`` before an over-pressure report stops the run.

        A report line has no checksum: ``kPa:2.3`` with its "." garbled reads 263 kPa.
        A clog keeps the pressure up, so the fresh reading confirms it; one inside the
        limit makes the report a warning, and the unit is watched on: the next report
        above the limit right after another (:attr:`Excursion.held`) stops the run
        without a poll, since the poll reads one instant and a clogged head's pressure
        drops at every travel.
        """
        fresh = self.call_device(self.printer.pressure)
        if fresh is None or fresh.kpa > excursion.limit_kpa:
            return True
        self.pressure.rearm(excursion.kind)
        where = f"unit {unit}: " if unit is not None else ""
        self.alarms.warn(
            AlarmKind.OVER_PRESSURE,
            f"{where}a pressure report read {excursion.kpa} kPa, above the ink's limit of "
            f"{excursion.limit_kpa} kPa, but M1105 at once read {fresh.kpa} kPa: a garbled "
            "report line? the run goes on",
            unit,
        )
        return False

    def check_temperatures(self, unit: int | None, poll: bool = True) -> None:
        """Alarm when a heater is outside its validated window.

        ``poll`` sends M105; otherwise the latest reading seen in any reply
        (auto-reports while streaming) is judged, without a round trip.
        """
        heated = self.heated()
        if not any(heated) or (not poll and not self.monitoring):
            return
        printer = self.printer
        readings = self.call_device(printer.temperatures) if poll else printer.last_temperatures
        hot, bed = readings.get("T"), readings.get("B")
        self.hub.publish(
            Temperatures(unit, hot.actual_c if hot else None, bed.actual_c if bed else None)
        )
        checks = check_temperatures(self.req.recipe, readings, heated)
        if not all(c.passed for c in checks):
            # neither a report line nor M105's answer has a checksum (one garbled byte
            # reads 40 °C as 90 °C): a fresh M105 confirms the excursion before it stops
            # the run; a real excursion does not go away between two readings
            reported = "; ".join(c.detail for c in checks if not c.passed)
            checks = check_temperatures(
                self.req.recipe, self.call_device(printer.temperatures), heated
            )
            if all(c.passed for c in checks):
                where = f"unit {unit}: " if unit is not None else ""
                source = "M105" if poll else "an auto-report"
                again = "a second M105" if poll else "M105"
                self.alarms.warn(
                    AlarmKind.TEMPERATURE,
                    f"{where}{source} read {reported}, but {again} at once read the heaters "
                    "inside their window: a garbled line? the run goes on",
                    unit,
                )
                return
        self._judge_temperatures(checks, unit)

    def _judge_temperatures(self, checks: list[PreflightCheck], unit: int | None) -> None:
        failed = [c.detail for c in checks if not c.passed]
        if failed:
            where = f"unit {unit}: " if unit is not None else "after heating: "
            self.alarms.alarm(AlarmKind.TEMPERATURE, where + "; ".join(failed), unit)

    # -- streaming ------------------------------------------------------------------
    def stream_plain(self, lines: tuple[str, ...]) -> None:
        """Stream start or end code (no unit, no progress events)."""
        if any(line.split(";", 1)[0].strip() for line in lines):
            self.cancel.raise_if_cancelled()
            self.call_device(lambda: self.printer.stream(lines))

    def stream_unit(self, lines: tuple[str, ...], n: int) -> None:
        """Stream a unit's ``lines`` in chunks, publishing progress and checking the cancel
        token, the temperatures and the pressure between chunks."""
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
            stream = partial(self.printer.stream, chunk, progress)
            stats = self.call_device(stream, where=where)
            if stats.aborted:
                self.cancel.raise_if_cancelled()
                raise RunAborted("the stream was aborted")
        if total == 0 or last < total:
            self.hub.publish(UnitProgress(n, total, total))

    def wait_for_moves(self) -> None:
        """M400: wait until the unit's moves are done."""
        self.call_device(self.printer.wait_for_moves)

    # -- after printing -------------------------------------------------------------
    def make_safe_after(self, status: RunStatus) -> None:
        """Make the printer safe unless the run completed.

        When the *balance* was lost the printer is still there, hot, and is made
        safe. When the printer's own link failed, a printer that stopped answering
        may still listen: the safe-state commands are sent blind (waiting for
        answers would only wait out the timeouts again); an unplugged port is left.
        """
        if status == "stopped" or (status == "interrupted" and self.lost_device == "balance"):
            self.make_safe()
        elif status == "interrupted":
            try:
                self.printer.make_safe_blind()
            except DeviceError:
                pass  # unplugged: nothing can reach it

    def make_safe(self) -> None:
        """Heaters and motors off after a stop (best effort: the link may be gone)."""
        try:
            self.printer.abort()
        except DeviceError:
            pass  # a halted or unplugged printer is already as safe as the host can make it

"""A calibration series run the way a recorded batch is: gated equipment, then fitted.

:class:`CalibrationRun` is the one workflow the command line (``printpharm
calibrate``) and the desktop's calibration page drive:

1. plan the series (:func:`printpharm.services.run.calibration_series.plan_series`)
   and check, before anything is printed, that the user may calibrate and that the
   ink version, lot and printer it binds are usable
   (:meth:`CalibrationService.prepare`);
2. connect the devices — the given ports, or the built-in simulators — and pass
   the equipment gates of a recorded run (:class:`.run_gates.RunGates`): the
   balance registered, calibrated, qualified, in date, the one registered, with a
   passed routine check today whose minimum weight the lightest disc reaches;
   the printer registered (by M115 UUID or asset tag), the one registered,
   qualified, its print heads too, of the printer type, cleaned since another
   API. A device that is a simulator (:func:`.run_gates.is_simulated`) is exempt,
   and the calibration fitted from it is *training-only*. A refusal names every
   failed gate and is audited (``series-refused``) before anything is printed;
3. print and weigh every disc, fit ``mass = a·V + b``
   (:class:`SeriesMeasurement`), and store it as a draft
   (:meth:`CalibrationService.fit`, which judges the site's acceptance criteria).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from printpharm.catalog import Catalog
from printpharm.core.calibration import (
    DEFAULT_WEIGHTING,
    LinearCalibration,
    Weighting,
    fit_calibration,
)
from printpharm.core.calibration_checks import exact
from printpharm.errors import InputError, PreflightError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import RecordsService
from printpharm.services.control.calibration import CalibrationService, FitRequest
from printpharm.services.control.run_gates import RunGates, is_simulated
from printpharm.services.run.calibration_series import (
    DEFAULT_REPLICATES,
    SeriesPlan,
    SeriesPoint,
    plan_series,
    run_series,
)
from printpharm.services.run.devices import connected_devices, simulator_urls
from printpharm.services.run.preflight import PreflightCheck
from printpharm.services.run.request import RunDevices, RunRequest
from printpharm.storage.audit import AuditEntry
from printpharm.storage.calibrations import CalibrationRecord
from printpharm.storage.printer_uses import PrinterUse

__all__ = ["CalibrationRun", "SeriesMeasurement", "SeriesOrder"]


@dataclass(frozen=True)
class SeriesOrder:
    """What to calibrate, how, and on which devices (no ports: the built-in simulators)."""

    ink_id: str
    printer_id: str
    lot: str | None = None
    ink_version: int | None = None
    printer_asset: str | None = None
    volumes_mm3: tuple[float, ...] | None = None
    replicates: int = DEFAULT_REPLICATES
    printer_port: str | None = None
    balance_port: str | None = None
    sim_options: Mapping[str, str] = field(default_factory=dict)
    weighting: Weighting = DEFAULT_WEIGHTING

    def request(self, points: tuple[tuple[Decimal, Decimal], ...] = (), **kw: Any) -> FitRequest:
        """The fit request of this order (``points`` weighed, ``kw``: its context...)."""
        return FitRequest(self.ink_id, self.printer_id, points, self.ink_version,
                          self.printer_asset, self.lot, weighting=self.weighting,
                          **kw)  # fmt: skip

    def ports(self, plan: SeriesPlan) -> tuple[str, str]:
        """The printer and balance ports or URLs of this order.

        Raises
        ------
        InputError
            One port without the other, or simulator options with real ports.
        """
        ports = (self.printer_port, self.balance_port)
        if any(ports) and not all(ports):
            raise InputError("give both the printer port and the balance port (or neither to "
                             "use the built-in simulators)")  # fmt: skip
        if self.printer_port and self.balance_port:
            if self.sim_options:
                raise InputError("simulator options apply to the built-in simulators only")
            return self.printer_port, self.balance_port
        return simulator_urls(plan.printer, plan.ink, dict(self.sim_options))


@dataclass(frozen=True)
class SeriesMeasurement:
    """A printed and weighed series: its plan, points, fitted line and what gated it."""

    order: SeriesOrder
    plan: SeriesPlan
    ink_version: int
    points: tuple[SeriesPoint, ...]
    line: LinearCalibration
    training_only: bool
    checks: tuple[PreflightCheck, ...]
    context: Mapping[str, Any]

    @property
    def pairs(self) -> tuple[tuple[Decimal, Decimal], ...]:
        """``(volume_mm3, mass_mg)`` of every disc, exact."""
        return tuple((p.volume_mm3, p.mass_mg) for p in self.points)

    def request(self) -> FitRequest:
        """The fit request to store (:meth:`CalibrationService.fit`)."""
        return self.order.request(self.pairs, context=dict(self.context))


class CalibrationRun:
    """Plan, gate, print, weigh and fit a calibration series (see the module docstring)."""

    def __init__(self, auth: AuthService, records: RecordsService, catalog: Catalog) -> None:
        self._auth, self._catalog = auth, catalog
        self.service = CalibrationService(auth, records)

    def plan(self, order: SeriesOrder) -> SeriesPlan:
        """The series of ``order`` (raises as :func:`plan_series`)."""
        return plan_series(self._catalog, order.ink_id, order.printer_id,
                           volumes_mm3=order.volumes_mm3, replicates=order.replicates)  # fmt: skip

    def prepare(self, session: UserSession, order: SeriesOrder) -> tuple[SeriesPlan, int]:
        """The plan and the ink version, checked before anything is printed.

        Raises
        ------
        PermissionDenied, RecordError
            As :meth:`CalibrationService.prepare`; or as :func:`plan_series`.
        """
        plan = self.plan(order)
        return plan, self.service.prepare(session, order.request())

    def measure(
        self,
        session: UserSession,
        order: SeriesOrder,
        *,
        on_point: Callable[[SeriesPoint], None] | None = None,
        prepared: tuple[SeriesPlan, int] | None = None,
        connect_timeout_s: float = 10.0,
    ) -> SeriesMeasurement:
        """Gate the devices, print and weigh the series, fit it (not yet stored).

        Raises
        ------
        PreflightError
            An equipment gate refused the balance or the printer (audited), or the
            printer's firmware or temperature is wrong; nothing was printed.
        DeviceError
            A device failed; nothing is fitted from an incomplete series.
        PermissionDenied, RecordError, InputError
            As :meth:`prepare` and :meth:`SeriesOrder.ports`.
        """
        plan, ink_version = prepared or self.prepare(session, order)
        ports = order.ports(plan)
        subject = ("calibration", f"{order.ink_id}@{order.printer_id}")
        gates = RunGates(self._auth, session, self._gate_request(plan), order.printer_asset,
                         refusal_subject=subject)  # fmt: skip
        with connected_devices(*ports, baudrate=plan.printer.baud) as devices:
            checks = list(gates.balance_checks(devices.balance_identity, devices.balance_port))
            _refuse(checks)

            def printer_gate(identity: Mapping[str, str], port: str) -> list[PreflightCheck]:
                found = gates.printer_checks(identity, port)
                checks.extend(found)
                return found

            def started() -> None:
                if gates.printer_id is not None:  # a registered printer, not a simulator
                    self._record_use(session, gates.printer_id, plan, order)

            try:
                points = run_series(plan, devices, on_point=on_point, printer_gate=printer_gate,
                                    on_start=started,
                                    connect_timeout_s=connect_timeout_s)  # fmt: skip
            except PreflightError:
                _refuse(checks)  # the gates' own refusal, named as the series'
                raise
            simulated = _simulated(devices)
            context = self._context(order, plan, devices, points, simulated, checks, gates)
        line = fit_calibration([float(p.volume_mm3) for p in points],
                               [float(p.mass_mg) for p in points],
                               weighting=order.weighting)  # fmt: skip
        return SeriesMeasurement(order, plan, ink_version, points, line, simulated,
                                 tuple(checks), context)  # fmt: skip

    def store(self, session: UserSession, measured: SeriesMeasurement) -> CalibrationRecord:
        """Store the fit as a draft, or refuse it (as :meth:`CalibrationService.fit`)."""
        return self.service.fit(session, measured.request())

    def _record_use(
        self, session: UserSession, printer_id: int, plan: SeriesPlan, order: SeriesOrder
    ) -> None:
        """Record (audited) that the series prints the ink's API on the registered printer."""
        live = self._auth.require(session, Operation.RUN_CALIBRATION)
        lot = f", lot {order.lot}" if order.lot else ""
        reference = f"calibration series of {plan.ink.id}{lot}"
        with self._auth.uow() as uow:
            use = uow.printer_uses.add(
                PrinterUse(printer_id, uow.now(), live.user_id, "calibration", reference,
                           plan.ink.api, plan.ink.cytotoxic)
            )  # fmt: skip
            row = uow.devices.by_id(printer_id)
            tag = f"#{printer_id}" if row is None else str(row.asset_tag)
            uow.audit.append(AuditEntry("printer_use", "create", tag, live.user_id,
                                        live.full_name, reason=reference,
                                        new=use.__dict__))  # fmt: skip

    def _gate_request(self, plan: SeriesPlan) -> RunRequest:
        """The series as the run gates see a batch (its recipe, ink, discs' target masses).

        The calibration recipe names a placebo; the cleaning gate must judge the API
        the syringe actually holds, the ink's.
        """
        sha = self._catalog.file_sha256("recipe", plan.recipe.id)
        recipe = plan.recipe.model_copy(update={"api": plan.ink.api})
        return RunRequest(recipe, plan.ink, plan.printer, plan.program, Decimal(0), sha,
                          plan.nozzle_c, plan.bed_c)  # fmt: skip

    def _context(
        self, order: SeriesOrder, plan: SeriesPlan, devices: RunDevices,
        points: tuple[SeriesPoint, ...], simulated: bool, checks: list[PreflightCheck],
        gates: RunGates,
    ) -> dict[str, Any]:  # fmt: skip
        info = devices.printer.info
        balance = {k: str(v) for k, v in devices.balance_identity.items()}
        return {
            "recipe": plan.recipe.id,
            "recipe_sha256": self._catalog.file_sha256("recipe", plan.recipe.id),
            "gcode_sha256": plan.gcode_sha256, "replicates": order.replicates,
            "levels_mm3": [exact(v) for v in plan.levels_mm3],
            "printer": {"port": devices.printer_port,
                        "firmware": None if info is None else info.firmware_name,
                        "uuid": None if info is None else info.fields.get("UUID")},
            "balance": {"port": devices.balance_port, **balance},
            "simulated": simulated,
            "equipment": gates.details.get("equipment", {}),
            "preflight": [{"name": c.name, "passed": c.passed, "detail": c.detail}
                          for c in checks],
            "raw_readings": [p.raw for p in points],
            # replies set aside before a disc's mass was confirmed (a garbled line)
            "set_aside_readings": {str(p.n): list(p.set_aside) for p in points if p.set_aside},
            "fitted_on": datetime.now(UTC).date().isoformat(),
        }  # fmt: skip


def _refuse(checks: list[PreflightCheck]) -> None:
    failed = [c for c in checks if not c.passed]
    if failed:
        listing = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        raise PreflightError(f"the calibration series is refused: {listing}")


def _simulated(devices: RunDevices) -> bool:
    """Printed or weighed on a simulator (the run gates' one notion of it)."""
    info = devices.printer.info
    printer = {} if info is None else {**info.fields, "firmware": info.firmware_name}
    return is_simulated(devices.balance_identity, devices.balance_port) or is_simulated(
        printer, devices.printer_port
    )

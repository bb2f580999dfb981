"""The weighing part of a print run: tare, a stable reading, and the unit's verdict.

A reading is judged against the unit's in-line target with the recipe's unit
tolerance (:func:`printpharm.core.units.within_tolerance`, exact decimals,
bounds inclusive). A balance that does not settle or fails raises an alarm;
on the operator's continue the reading is retried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from printpharm.core.units import within_tolerance
from printpharm.errors import BalanceError, BalanceUnstable, ProtocolError
from printpharm.services.jobs import CancelToken
from printpharm.services.run.parts import Alarms, Clock, DeviceCalls, run_lot
from printpharm.services.run.pressure import PressureWatch
from printpharm.services.run.request import (
    BalancePort,
    RunOptions,
    RunRequest,
    Weighing,
    mass_in_mg,
)
from printpharm.services.run.result import AlarmKind, UnitRecord

__all__ = ["FlowSetting", "WeighingPart", "inline_target"]

_T = TypeVar("_T")


def inline_target(req: RunRequest, plan_target_mg: Decimal) -> Decimal:
    """The mass to expect on the balance right after printing, in mg.

    The plan's target is the weighed (dried) printlet: dose / dried drug load
    (bsa_dosing.md §2.5). The in-line balance weighs the unit wet, as
    dispensed: dose / drug load, i.e. the plan's target × dried / wet load.
    """
    ink = req.ink
    if ink.dried_drug_load is None or ink.dried_drug_load.value == ink.drug_load.value:
        return plan_target_mg
    wet = plan_target_mg * ink.dried_drug_load.value / ink.drug_load.value
    return wet.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class FlowSetting:
    """The flow a unit was printed at, recorded with its weight."""

    flow_pct: Decimal
    e_scale: Decimal
    reason: str


class WeighingPart:
    """The balance of one run."""

    def __init__(
        self,
        req: RunRequest,
        balance: BalancePort,
        devices: DeviceCalls,
        alarms: Alarms,
        cancel: CancelToken,
        clock: Clock,
        options: RunOptions,
    ) -> None:
        self.req, self.balance, self.devices, self.alarms = req, balance, devices, alarms
        self.cancel, self.clock, self.options = cancel, clock, options

    def tare(self, n: int) -> None:
        """Tare the balance before unit ``n``."""
        self.balance_call(self.balance.tare, n, "tare")

    def balance_call(self, call: Callable[[], _T], n: int, what: str) -> _T:
        """Call the balance; an unstable or failed reading raises an alarm (retry on continue)."""
        while True:
            self.cancel.raise_if_cancelled()
            try:
                return self.devices.call_device(call, "balance")
            except BalanceUnstable as exc:
                message = f"unit {n}: the balance did not settle for the {what} ({exc})"
                self.alarms.alarm(AlarmKind.BALANCE_UNSTABLE, message, n)
            except (BalanceError, ProtocolError) as exc:
                self.alarms.alarm(AlarmKind.BALANCE_ERROR, f"unit {n}: {what}: {exc}", n)

    def _reading(self) -> tuple[Weighing, Decimal]:
        weighing = self.balance.weigh()
        if not weighing.stable:  # never judge a dose on a dynamic value
            raise BalanceUnstable(f"the balance answered an unstable value {weighing.raw!r}")
        return weighing, mass_in_mg(weighing)

    def weigh(
        self,
        n: int,
        target_mg: Decimal,
        lines: int,
        plan_target_mg: Decimal,
        flow: FlowSetting,
        pressure: PressureWatch,
    ) -> UnitRecord:
        """Read a stable weight (asking the operator to retry per policy) and judge it.

        ``target_mg`` is the in-line (as printed) target; ``plan_target_mg`` the
        plan's weighed-state target, kept as ``dried_target_mg`` when they differ.
        """
        weighing, measured = self.balance_call(self._reading, n, "weighing")
        content = run_lot(self.req, self.options).content(measured, self.req.ink.drug_load.value)
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
            flow_pct=flow.flow_pct,
            e_scale=flow.e_scale,
            correction_reason=flow.reason,
            raw_reading=weighing.raw,
            reading_unit=weighing.unit,
            stable=weighing.stable,
            weighed_at=self.clock.now(),
            lines=lines,
            dried_target_mg=plan_target_mg if plan_target_mg != target_mg else None,
            content_mg=None if content is None else content.content_mg,
            content_uncertainty_mg=None if content is None else content.uncertainty_mg,
            pressure=None if (log := pressure.log()) is None else log.record(),
        )

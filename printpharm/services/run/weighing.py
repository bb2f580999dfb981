"""The weighing part of a print run: tare, a stable reading, and the unit's verdict.

A reading is judged against the unit's in-line target with the recipe's unit
tolerance (:func:`printpharm.core.units.within_tolerance`, exact decimals,
bounds inclusive). A balance that does not settle or fails raises an alarm;
on the operator's continue the reading is retried.

An MT-SICS reply carries no checksum: one garbled digit of ``S S     0.30000 g``
reads 0.80000 g, a mass that would decide the unit's verdict and the flow
correction. So a unit's mass is a stable reading *confirmed* by a second one
(:func:`read_confirmed`); a reply that does not parse is asked again.
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

__all__ = [
    "MAX_ASKS",
    "ConfirmedReading",
    "FlowSetting",
    "WeighingPart",
    "agreement_bound_mg",
    "inline_target",
    "read_confirmed",
]

_T = TypeVar("_T")

#: Asks (``S`` or ``SI``) at most for one unit's mass: a reading, its confirmation, and
#: up to three more when a reply was garbled or two readings disagreed.
MAX_ASKS = 5
#: The repeatability floor of balances.md (Ph. Eur. 2.1.7 / USP <41>): s >= 0.41 d.
_S_FLOOR_PER_D = Decimal("0.41")
#: Two readings of one load differ with a standard deviation of sqrt(2)·s; 6·s is
#: 4.24 of those standard deviations (4·sqrt(2) = 5.66, rounded up).
_K_S = 6


def agreement_bound_mg(reading: Weighing, balance_sd_mg: Decimal) -> Decimal:
    """How far two stable readings of one load may differ on this balance, in mg.

    ``6·s + d``, with ``d`` the scale interval (the last digit of the reading) and
    ``s`` the balance's repeatability (the recipe's ``control.balance_sd``, at least
    ``0.41·d``, the floor Ph. Eur. 2.1.7 / USP <41> put on s). Two readings of one
    load differ by a normal error of standard deviation ``sqrt(2)·s``; ``6·s`` is
    4.24 of those, exceeded by a good balance about once in 45 000 pairs, and each
    reading is rounded to ``d``. A 5-place balance (d = 0.01 mg, s = 0.02 mg) gives
    0.13 mg: a garbled digit in the 1 mg place or above never passes, and one below it
    changes the mass by less than the balance's own 4-sigma scatter (0.13 mg is 0.07 %
    of a 200 mg unit, and under 0.33 % above the minimum weight 2000·s = 40 mg).
    """
    exponent = reading.mass.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite reading (mass_in_mg refuses others)
    d = mass_in_mg(_Interval(Decimal(1).scaleb(exponent), reading.unit))
    s = max(balance_sd_mg, _S_FLOOR_PER_D * d)
    return _K_S * s + d


@dataclass(frozen=True)
class _Interval:
    """One scale interval as a reading in the balance's unit (converted to mg like one)."""

    mass: Decimal
    unit: str
    stable: bool = True
    raw: str = ""


@dataclass(frozen=True)
class ConfirmedReading:
    """A unit's mass: a stable reading another agreed with, and what was set aside.

    ``set_aside`` lists, in order, the replies that did not parse and the readings
    that agreed with no other (``'S S 0.70013 g' (700.13 mg)``); empty normally.
    """

    weighing: Weighing
    mass_mg: Decimal
    confirmed_by: Weighing
    bound_mg: Decimal
    set_aside: tuple[str, ...]


def read_confirmed(balance: BalancePort, balance_sd_mg: Decimal) -> ConfirmedReading:
    """Read a stable weight (``S``) and confirm it with ``SI`` (see :func:`agreement_bound_mg`).

    The first two stable readings that agree within the bound decide: the earlier
    of them is the mass. A reply that does not parse (a garbled status, a digit
    garbled into a letter, ``ET``, a unit garbled into one that is not a mass) is
    set aside and asked again, as is a reading no other agrees with; an ``SI`` that
    finds the load moving (``S D``) is followed by an ``S``, which waits for it to
    settle. At most :data:`MAX_ASKS` asks in all. The confirmation is an ``SI``: the
    load is stable already, so it costs one short command and reply per unit.

    Raises
    ------
    BalanceUnstable
        ``S`` found no stable value (the balance's own retries are spent).
    BalanceError
        No two readings agreed within :data:`MAX_ASKS` asks (or none parsed: the
        last reply's error, e.g. :class:`~printpharm.errors.BalanceOverload`).
    """
    readings: list[tuple[Weighing, Decimal]] = []
    set_aside: list[str] = []
    last_error: BalanceError | ProtocolError | None = None
    settle = True  # the first ask, and the one after a moving load, waits for stability
    for _ in range(MAX_ASKS):
        try:
            weighing = balance.weigh() if settle else balance.weigh_immediate()
            mass_mg = mass_in_mg(weighing)
        except BalanceUnstable:
            raise
        except (BalanceError, ProtocolError) as exc:  # BalanceOverload is a BalanceError
            set_aside.append(f"a reply that did not parse ({exc})")
            last_error, settle = exc, not readings
            continue
        settle = not weighing.stable
        if not weighing.stable:  # never judge a dose on a dynamic value
            set_aside.append(f"{_describe(weighing, mass_mg)}, not stable")
            continue
        for earlier, earlier_mg in readings:
            bound = agreement_bound_mg(earlier, balance_sd_mg)
            if abs(mass_mg - earlier_mg) <= bound:
                set_aside += [_describe(w, m) for w, m in readings if w is not earlier]
                return ConfirmedReading(earlier, earlier_mg, weighing, bound, tuple(set_aside))
        readings.append((weighing, mass_mg))
    if not readings and last_error is not None:
        raise last_error
    seen = "; ".join([*(_describe(w, m) for w, m in readings), *set_aside])
    limit = agreement_bound_mg(readings[0][0], balance_sd_mg) if readings else None
    raise BalanceError(
        f"no two stable readings of the unit agreed within {limit} mg in {MAX_ASKS} asks "
        f"({seen}): a garbling link, a moving load or a balance that does not repeat"
    )


def _describe(weighing: Weighing, mass_mg: Decimal) -> str:
    return f"{weighing.raw.strip()!r} ({mass_mg} mg)"


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
        self.balance_call(self._tare, n, "tare")

    def _tare(self) -> object:
        """Tare; a reply that does not parse is asked again (at most :data:`MAX_ASKS` times).

        The reply only reports the tare (the run reads nothing from it) and taring the
        same pan again is harmless, so a garbled line costs one more ``T``.
        """
        for ask in range(1, MAX_ASKS + 1):
            try:
                return self.balance.tare()
            except BalanceUnstable:
                raise
            except (BalanceError, ProtocolError):
                if ask == MAX_ASKS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

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

    def _reading(self) -> ConfirmedReading:
        return read_confirmed(self.balance, self.req.recipe.control.balance_sd.value)

    def _warn_set_aside(self, n: int, reading: ConfirmedReading) -> None:
        """Record in the batch's alarms that the unit's mass was confirmed only after
        setting replies aside (a garbled line, as the printer's confirmed reports)."""
        if not reading.set_aside:
            return
        self.alarms.warn(
            AlarmKind.BALANCE_ERROR,
            f"unit {n}: set aside {'; '.join(reading.set_aside)}; "
            f"{_describe(reading.weighing, reading.mass_mg)} was confirmed by "
            f"{reading.confirmed_by.raw.strip()!r} (within {reading.bound_mg} mg): "
            "a garbled reply line? the unit's mass is the confirmed reading, the run goes on",
            n,
        )

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
        reading = self.balance_call(self._reading, n, "weighing")
        self._warn_set_aside(n, reading)
        weighing, measured = reading.weighing, reading.mass_mg
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

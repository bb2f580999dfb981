"""Trend monitoring for the flow controller: a drift is named while units still pass.

Pure (no I/O). :class:`DriftMonitor` looks at the batch after every weighed unit
and returns at most one :class:`DriftWarning` of each kind per batch:

``leaves_range`` — the deposit is outside the recipe's validated correction
range, or drifts and will leave it before the batch ends. The decision is the
flow controller's own model of the batch (:mod:`.flow_control`), not a line
through the points alone. Outside already: the batch is more likely off its
calibration than on it and the hypotheses' offset is beyond the range by
``z_rate`` of their standard deviation. Leaving: the batch is more likely off
than on, a *drift* explains it better than a constant offset, the drift rate is
distinguishable from zero (``z_rate`` standard errors, the spread between the
hypotheses included), the points themselves slope that way (the least-squares
slope beyond ``z_line`` standard errors, so that a constant offset seen through
noise is not called a drift) and the drift's projected path leaves the range by
the last unit. At 2 % noise a −1 %/unit drift is named after about 6 units,
two earlier than by a significant least-squares slope alone, while most units
still pass (tests/benchmarks/bench_closed_loop.py).

``trend`` — a least-squares line through the batch's points has a slope
significant at ``z_trend``, in the same direction, after two consecutive units
(a slow trend inside the range: the correction follows it). One unit is not
enough: the test is repeated after every unit, with a σ estimated from the batch
(a 3-SE slope of pure 2 % noise has a chance of 0.5–0.8 % per unit from unit 6 on,
like Student's t, not the normal 0.27 %), so a single look warned 2.9 % of 12-unit
and 3.9 % of 20-unit batches of pure noise; a real trend's slope only grows more
significant with the next unit.

Both messages describe the data with the least-squares line (slope ± its
standard error over the units seen), so the operator reads the trend itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["DriftMonitor", "DriftWarning", "Projection", "TrendLimits"]


@dataclass(frozen=True)
class DriftWarning:
    """A trend in the deposit: slope (per unit, fraction) ± SE, and what it means."""

    kind: str  # "trend" or "leaves_range"
    slope: float
    slope_se: float
    message: str


@dataclass(frozen=True)
class Projection:
    """One off-calibration hypothesis of the controller: its weight and Kalman state.

    ``level`` and ``rate`` are the log offset of the last unit and its change
    per unit; ``var_level``, ``cov`` and ``var_rate`` their posterior
    (co)variances; ``drifts`` whether the hypothesis allows a drift at all.
    """

    weight: float
    level: float
    rate: float
    var_level: float
    cov: float
    var_rate: float
    drifts: bool


@dataclass(frozen=True)
class TrendLimits:
    """The validated correction range (fractions), the batch size and the test thresholds."""

    correction_min: float
    correction_max: float
    units_total: int
    z_trend: float = 3.0
    z_rate: float = 2.0
    z_line: float = 1.75
    min_trend_units: int = 4


def _pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


@dataclass(frozen=True)
class _Line:
    """Least-squares line through (unit, y) points."""

    n: int
    x_mean: float
    y_mean: float
    slope: float
    sxx: float

    def at(self, x: float) -> float:
        return self.y_mean + self.slope * (x - self.x_mean)


def _fit(points: Sequence[tuple[int, float]]) -> _Line | None:
    n = len(points)
    x_mean = sum(x for x, _ in points) / n
    y_mean = sum(y for _, y in points) / n
    sxx = sum((x - x_mean) ** 2 for x, _ in points)
    if sxx <= 0:
        return None
    sxy = sum((x - x_mean) * (y - y_mean) for x, y in points)
    return _Line(n, x_mean, y_mean, sxy / sxx, sxx)


@dataclass
class DriftMonitor:
    """Names a drift once per kind and batch (see the module docstring)."""

    limits: TrendLimits
    _warned: set[str] = field(default_factory=set)
    _sloped: int = 0  # the sign of the slope if the trend test held at the unit before, else 0

    def check(
        self,
        points: Sequence[tuple[int, float]],
        unit_sd: float,
        p_off: float,
        hypotheses: Sequence[Projection],
    ) -> DriftWarning | None:
        """The warning due after the last of ``points`` (unit, log offset), if any.

        ``unit_sd`` is the SD of one point (the deposit's unit-to-unit SD in use and
        the balance's read noise, relative), ``p_off`` the probability that
        the batch is off its calibration and ``hypotheses`` the controller's
        off-calibration hypotheses.
        """
        line = _fit(points) if len(points) >= 3 else None
        if line is None:
            return None
        last = points[-1][0]
        se = unit_sd / math.sqrt(line.sxx)
        trend = (
            f"the deposit is {_pct(math.expm1(line.at(last)))} off its calibration and trending "
            f"{line.slope * 100:+.2f} ± {se * 100:.2f} %/unit over units {points[0][0]}–{last}"
        )
        significant = (
            len(points) >= self.limits.min_trend_units
            and abs(line.slope) > self.limits.z_trend * se
        )
        sloped, self._sloped = self._sloped, int(math.copysign(1, line.slope)) * significant
        if "leaves_range" not in self._warned:
            crossing = self._crossing(last, p_off, hypotheses, line.slope, se)
            if crossing is not None:
                self._warned.update(("leaves_range", "trend"))
                return DriftWarning(
                    "leaves_range", line.slope, se, f"{trend}: {self._when(crossing, last)}"
                )
        if "trend" not in self._warned and sloped != 0 and sloped == self._sloped:
            self._warned.add("trend")
            return DriftWarning("trend", line.slope, se, f"{trend}; the correction follows it")
        return None

    def _when(self, crossing: int, last: int) -> str:
        lim = self.limits
        limits = f"{_pct(lim.correction_min)}..{_pct(lim.correction_max)}"
        if crossing <= last:
            return (
                f"it is outside the validated correction range {limits}: the correction "
                "cannot follow it any further"
            )
        return (
            f"it will leave the validated correction range {limits} at about unit "
            f"{crossing}, before the batch ends (unit {lim.units_total})"
        )

    def _crossing(
        self,
        last: int,
        p_off: float,
        hypotheses: Sequence[Projection],
        slope: float,
        slope_se: float,
    ) -> int | None:
        """Where the deposit leaves the validated correction range, if that is named now.

        ``last`` if the batch's offset is outside the range already (beyond
        ``z_rate`` standard deviations of the off-calibration hypotheses); else
        the unit where the drift's projected path leaves it (:meth:`_drift_crossing`).
        """
        total = sum(h.weight for h in hypotheses)
        if p_off <= 0.5 or total <= 0:
            return None
        level = sum(h.weight * h.level for h in hypotheses) / total
        second = sum(h.weight * (h.var_level + h.level**2) for h in hypotheses) / total
        margin = self.limits.z_rate * math.sqrt(max(second - level**2, 0.0))
        low = math.log1p(self.limits.correction_min)
        high = math.log1p(self.limits.correction_max)
        if level + margin < low or level - margin > high:
            return last
        if abs(slope) <= self.limits.z_line * slope_se:  # the points themselves must slope
            return None
        return self._drift_crossing(last, hypotheses, slope)

    def _drift_crossing(
        self, last: int, hypotheses: Sequence[Projection], slope: float
    ) -> int | None:
        """The unit where the drift's projected path leaves the range, if it is named now.

        ``None`` unless a drift explains the batch better than a constant offset,
        its rate is distinguishable from zero (the spread between the hypotheses
        included) and has the sign of the points' own slope, and the path leaves
        the range by the last unit of the batch.
        """
        total = sum(h.weight for h in hypotheses)
        drifting = [h for h in hypotheses if h.drifts and h.weight > 0]
        weight = sum(h.weight for h in drifting)
        if weight <= 0.5 * total:
            return None
        rate = sum(h.weight * h.rate for h in drifting) / weight
        second = sum(h.weight * (h.var_rate + h.rate**2) for h in drifting) / weight
        if abs(rate) <= self.limits.z_rate * math.sqrt(max(second - rate**2, 0.0)):
            return None
        if rate * slope <= 0:
            return None
        level = sum(h.weight * h.level for h in drifting) / weight
        low = math.log1p(self.limits.correction_min)
        high = math.log1p(self.limits.correction_max)
        for unit in range(last, max(last, self.limits.units_total) + 1):
            if not low <= level + rate * (unit - last) <= high:
                return unit
        return None

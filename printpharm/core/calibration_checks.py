"""The decisions taken on a calibration: accept a fit, accept a dose's interval, detect drift.

* :func:`acceptance_problems` — a fit from a weighed series against the site's
  acceptance criteria (:class:`AcceptanceCriteria`: minimum R², maximum residual
  SD relative to the mean mass — for a relative (1/m̂²-weighted) fit, its relative
  residual SD, the RSD of the discs about the line —, minimum points, volume span
  and points per decade).
* :func:`interval_problem` — the 95 % prediction interval of a unit's mass against
  the recipe's unit tolerance: a dose whose interval reaches outside the tolerance
  cannot be promised.
* :func:`drift_check` — a batch's weighed masses against the calibration's
  prediction: the mean departure is compared with the prediction interval of the
  *mean* of k new units, ``t(0.975, n−2) · s · √(1/k + 1/n + (V − V̄)²/Sxx)``
  (relative fit: ``t · σ̂_rel · √(ŷ²/k + 1/Σw + (V − V̄w)²/Sxx,w)``); a mean
  outside it is a systematic departure (the calibration no longer describes the
  process: recalibrate).

Every comparison with a limit is exact: the fit's floats are turned into the
Decimals of their shortest text and compared with the Decimal limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from printpharm.core.calibration import LinearCalibration, student_t_quantile
from printpharm.errors import CalibrationError

__all__ = [
    "DRIFT_MESSAGE",
    "AcceptanceCriteria",
    "DriftCheck",
    "acceptance_problems",
    "drift_check",
    "exact",
    "interval_problem",
]

#: What a batch record says when its masses left the calibration's prediction.
DRIFT_MESSAGE = "calibration drift: recalibrate"


def exact(value: float) -> Decimal:
    """The Decimal of a float's shortest text (``0.1`` → ``Decimal("0.1")``)."""
    return Decimal(repr(value))


@dataclass(frozen=True)
class AcceptanceCriteria:
    """What a site accepts of a calibration fit (site settings ``calibration.*``).

    ``max_residual_sd_pct`` is the residual SD in % of the mean weighed mass (for a
    relative fit, its relative residual SD in %);
    ``min_volume_ratio`` the largest volume over the smallest; ``min_points_per_decade``
    the points over ``log10`` of that ratio.
    """

    min_r2: Decimal = Decimal("0.995")
    max_residual_sd_pct: Decimal = Decimal("2")
    min_points: int = 6
    min_volume_ratio: Decimal = Decimal("3")
    min_points_per_decade: Decimal = Decimal("4")

    def to_record(self) -> dict[str, Decimal | int]:
        """The criteria as recorded with a fit."""
        return {
            "min_r2": self.min_r2,
            "max_residual_sd_pct": self.max_residual_sd_pct,
            "min_points": self.min_points,
            "min_volume_ratio": self.min_volume_ratio,
            "min_points_per_decade": self.min_points_per_decade,
        }


def _q(value: Decimal, places: str = "0.0001") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def acceptance_problems(
    fit: LinearCalibration, masses_mg: Sequence[Decimal], criteria: AcceptanceCriteria
) -> tuple[str, ...]:
    """Every acceptance criterion the fit fails, in words (empty: accepted).

    Raises
    ------
    CalibrationError
        The fit has no statistics (not fitted from points) or no masses are given.
    """
    if fit.n < 1 or fit.r2 is None or fit.residual_sd_mg is None or not masses_mg:
        raise CalibrationError("only a fit from weighed points can be judged")
    problems = []
    if fit.n < criteria.min_points:
        problems.append(f"{fit.n} points; the site needs at least {criteria.min_points}")
    r2 = exact(fit.r2)
    if r2 < criteria.min_r2:
        problems.append(f"R² {_q(r2, '0.000001')} is below the minimum {criteria.min_r2}")
    problems.extend(_scatter_problems(fit, masses_mg, criteria))
    ratio = exact(fit.v_max_mm3) / exact(fit.v_min_mm3) if fit.v_min_mm3 > 0 else None
    if ratio is None or ratio < criteria.min_volume_ratio:
        shown = "unbounded" if ratio is None else f"{_q(ratio, '0.01')}×"
        problems.append(
            f"the volumes span {shown} ({fit.v_min_mm3:.1f}–{fit.v_max_mm3:.1f} mm³); the site "
            f"needs the largest at least {criteria.min_volume_ratio}× the smallest"
        )
    elif ratio > 1:
        per_decade = exact(fit.n / math.log10(float(ratio)))
        if per_decade < criteria.min_points_per_decade:
            count = _q(per_decade, "0.1")
            if count >= criteria.min_points_per_decade:  # 3.98 shown as "4.0" reads as met
                count = per_decade.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            problems.append(
                f"{count} points per decade of volume; the site needs "
                f"{criteria.min_points_per_decade}"
            )
    return tuple(problems)


def _scatter_problems(
    fit: LinearCalibration, masses_mg: Sequence[Decimal], criteria: AcceptanceCriteria
) -> list[str]:
    """The residual SD against the limit: in % of the mean mass, or relative (weighted fit)."""
    assert fit.residual_sd_mg is not None
    limit = criteria.max_residual_sd_pct
    if fit.weighting == "relative":
        if fit.residual_sd_rel is None:
            raise CalibrationError("a relative fit without its relative residual SD")
        rel_pct = exact(fit.residual_sd_rel) * 100
        if rel_pct <= limit:
            return []
        return [
            f"relative residual SD {_q(rel_pct, '0.01')} % (the discs' RSD about the "
            f"1/m²-weighted line); the site allows {limit} %"
        ]
    mean = sum(masses_mg, Decimal(0)) / len(masses_mg)
    sd_pct = exact(fit.residual_sd_mg) * 100 / mean if mean > 0 else Decimal("Infinity")
    if sd_pct <= limit:
        return []
    return [
        f"residual SD {_q(exact(fit.residual_sd_mg))} mg is {_q(sd_pct, '0.01')} % of the "
        f"mean mass {_q(mean, '0.01')} mg; the site allows {limit} %"
    ]


def interval_problem(
    target_mg: Decimal, interval_mg: tuple[float, float], tolerance_pct: Decimal
) -> str | None:
    """Why a unit's 95 % prediction interval does not fit in ``target ± tolerance`` (or None)."""
    low, high = (exact(v) for v in interval_mg)
    lowest = target_mg * (100 - tolerance_pct) / 100
    highest = target_mg * (100 + tolerance_pct) / 100
    if lowest <= low and high <= highest:
        return None
    return (
        f"the calibration's 95 % prediction interval of a unit, {_q(low, '0.01')}–"
        f"{_q(high, '0.01')} mg, reaches outside the recipe's unit tolerance ±{tolerance_pct} % "
        f"({_q(lowest, '0.01')}–{_q(highest, '0.01')} mg) of the {_q(target_mg, '0.01')} mg target"
    )


@dataclass(frozen=True)
class DriftCheck:
    """A batch's masses against its calibration: mean departure (mg), its limit, the verdict."""

    units: int
    mean_departure_mg: Decimal
    limit_mg: Decimal
    drift: bool

    @property
    def text(self) -> str:
        """One sentence for the record and the screen."""
        verdict = DRIFT_MESSAGE if self.drift else "no calibration drift"
        return (
            f"{verdict} — the {self.units} unit(s) weighed {self.mean_departure_mg:+} mg on "
            f"average against the calibration's prediction (95 % limit for their mean "
            f"±{self.limit_mg} mg)"
        )


def drift_check(
    fit: LinearCalibration,
    volume_mm3: float,
    flows_pct: Sequence[Decimal],
    measured_mg: Sequence[Decimal],
    confidence: float = 0.95,
) -> DriftCheck:
    """Compare weighed units of a planned volume with the calibration's prediction.

    Unit ``i`` deposited ``volume_mm3 × flows_pct[i] / 100`` (the flow factor it was
    printed with) and is predicted to weigh ``a · V_i + b``.

    Raises
    ------
    CalibrationError
        The calibration has no fit statistics, no units, or unequal sequences.
    """
    if fit.n < 3 or fit.residual_sd_mg is None or fit.v_mean_mm3 is None or not fit.sxx_mm6:
        raise CalibrationError("a calibration without fit statistics cannot detect drift")
    if not measured_mg or len(flows_pct) != len(measured_mg):
        raise CalibrationError("drift needs each weighed unit with the flow it was printed with")
    k = len(measured_mg)
    departures = [
        m - exact(fit.mass_for_volume(volume_mm3 * float(f) / 100, allow_extrapolation=True))
        for f, m in zip(flows_pct, measured_mg, strict=True)
    ]
    mean = sum(departures, Decimal(0)) / k
    t = student_t_quantile(0.5 + confidence / 2, fit.n - 2)
    limit = exact(t * fit.prediction_sd_mg(volume_mm3, k, allow_extrapolation=True))
    return DriftCheck(k, _q(mean), _q(limit), abs(mean) > limit)

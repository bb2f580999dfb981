"""The relative (1/m̂²-weighted) calibration fit: estimate, interval, acceptance and drift.

Expected values are computed here independently of the module: numpy's
``polyfit`` (weights on the residuals, so ``w = 1/ŷ`` weighs the squares by
``1/ŷ²``) iterated the same number of times, and the interval from the matrix
form ``σ̂² (ŷ₀² + x₀ᵀ(XᵀWX)⁻¹x₀)``.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal

import numpy as np
import pytest

from printpharm.core.calibration import (
    DEFAULT_WEIGHTING,
    REWEIGHTINGS,
    fit_calibration,
    student_t_quantile,
)
from printpharm.core.calibration_checks import (
    AcceptanceCriteria,
    acceptance_problems,
    drift_check,
)
from printpharm.errors import CalibrationError

# A paste series over a decade of volume (mm³), two discs each, 2 % relative noise.
VOLUMES = [12.0, 12.0, 25.0, 25.0, 50.0, 50.0, 100.0, 100.0, 170.0, 170.0]
A_TRUE, B_TRUE = 1.19, -0.5


def _series(seed: int, rsd: float = 0.02) -> list[float]:
    rng = random.Random(seed)
    return [(A_TRUE * v + B_TRUE) * (1 + rng.gauss(0, rsd)) for v in VOLUMES]


def _weights(volumes: list[float], masses: list[float]) -> np.ndarray:
    """The weights of the last pass: 1/ŷ² from the second-to-last fit."""
    x, y = np.asarray(volumes), np.asarray(masses)
    coef = np.polyfit(x, y, 1, w=1 / y)
    weights = 1 / y**2
    for _ in range(REWEIGHTINGS):
        fitted = np.polyval(coef, x)
        weights = 1 / fitted**2
        coef = np.polyfit(x, y, 1, w=np.sqrt(weights))
    return weights


def test_the_default_for_a_new_fit_is_relative_and_the_function_default_stays_unweighted() -> None:
    masses = _series(1)
    assert DEFAULT_WEIGHTING == "relative"
    assert fit_calibration(VOLUMES, masses).weighting == "unweighted"
    assert fit_calibration(VOLUMES, masses, weighting="relative").weighting == "relative"


def test_a_noise_free_line_is_recovered_exactly_with_relative_weights() -> None:
    fit = fit_calibration(VOLUMES, [A_TRUE * v + B_TRUE for v in VOLUMES], weighting="relative")
    assert fit.a_mg_per_mm3 == pytest.approx(A_TRUE, rel=1e-12)
    assert fit.b_mg == pytest.approx(B_TRUE, abs=1e-9)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.residual_sd_rel == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coefficients_and_statistics_match_numpy_weighted_least_squares(seed: int) -> None:
    masses = _series(seed)
    fit = fit_calibration(VOLUMES, masses, weighting="relative")
    x, y = np.asarray(VOLUMES), np.asarray(masses)
    w = _weights(VOLUMES, masses)
    a, b = np.polyfit(x, y, 1, w=np.sqrt(w))
    assert fit.a_mg_per_mm3 == pytest.approx(a, rel=1e-10)
    assert fit.b_mg == pytest.approx(b, rel=1e-8, abs=1e-10)
    r = y - (a * x + b)
    n = len(VOLUMES)
    assert fit.residual_sd_rel == pytest.approx(math.sqrt(np.sum(w * r**2) / (n - 2)), rel=1e-9)
    assert fit.residual_sd_mg == pytest.approx(math.sqrt(np.sum(r**2) / (n - 2)), rel=1e-9)
    y_w = np.sum(w * y) / np.sum(w)
    assert fit.r2 == pytest.approx(1 - np.sum(w * r**2) / np.sum(w * (y - y_w) ** 2), rel=1e-12)


@pytest.mark.parametrize("volume", [10.0, 12.0, 60.0, 170.0])
def test_prediction_interval_is_the_matrix_formula(volume: float) -> None:
    masses = _series(4)
    fit = fit_calibration(VOLUMES, masses, weighting="relative")
    x = np.column_stack([VOLUMES, np.ones(len(VOLUMES))])
    w = _weights(VOLUMES, masses)
    xtwx_inv = np.linalg.inv(x.T @ np.diag(w) @ x)
    x0 = np.array([volume, 1.0])
    y0 = fit.a_mg_per_mm3 * volume + fit.b_mg
    assert fit.residual_sd_rel is not None
    sd = fit.residual_sd_rel * math.sqrt(y0**2 + x0 @ xtwx_inv @ x0)
    half = student_t_quantile(0.975, len(VOLUMES) - 2) * sd
    low, high = fit.prediction_interval(volume, allow_extrapolation=True)
    assert (low, high) == pytest.approx((y0 - half, y0 + half), rel=1e-9)
    # the mean of k units: the process term shrinks by k, the fit's term does not
    mean_sd = fit.residual_sd_rel * math.sqrt(y0**2 / 5 + x0 @ xtwx_inv @ x0)
    assert fit.prediction_sd_mg(volume, 5, allow_extrapolation=True) == pytest.approx(
        mean_sd, rel=1e-9
    )


def test_relative_interval_is_narrow_at_small_volumes_where_the_unweighted_one_is_not() -> None:
    masses = _series(5)
    weighted = fit_calibration(VOLUMES, masses, weighting="relative")
    plain = fit_calibration(VOLUMES, masses)

    def half_pct(fit: object, v: float) -> float:
        low, high = fit.prediction_interval(v)  # type: ignore[attr-defined]
        return (high - low) / 2 / fit.mass_for_volume(v) * 100  # type: ignore[attr-defined]

    # the disc of 12 mm³ (~14 mg): unweighted inherits the big discs' scatter in mg
    assert half_pct(plain, 12.0) > 2 * half_pct(weighted, 12.0)
    # relative noise: the weighted interval is about t · RSD in % everywhere
    assert 3.0 < half_pct(weighted, 12.0) < 8.0 and 3.0 < half_pct(weighted, 170.0) < 8.0


def test_relative_fit_refuses_masses_that_are_not_positive_and_unknown_weightings() -> None:
    with pytest.raises(CalibrationError, match="positive weighed masses"):
        fit_calibration([1.0, 2.0, 3.0], [0.0, 1.0, 2.0], weighting="relative")
    with pytest.raises(CalibrationError, match="weighting 'huber' is unknown"):
        fit_calibration([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], weighting="huber")  # type: ignore[arg-type]
    with pytest.raises(CalibrationError, match="all calibration volumes are equal"):
        fit_calibration([5.0, 5.0, 5.0], [1.0, 2.0, 3.0], weighting="relative")


def test_acceptance_judges_the_relative_residual_sd_of_a_weighted_fit() -> None:
    masses = [Decimal(repr(m)) for m in _series(6, rsd=0.03)]
    weighted = fit_calibration(VOLUMES, [float(m) for m in masses], weighting="relative")
    plain = fit_calibration(VOLUMES, [float(m) for m in masses])
    assert weighted.residual_sd_rel is not None and plain.residual_sd_mg is not None
    rel_pct = weighted.residual_sd_rel * 100
    mean = float(sum(masses)) / len(masses)
    mg_pct = plain.residual_sd_mg / mean * 100
    # between the two figures, the verdicts differ: each fit is judged on its own SD
    limit = Decimal(repr(round((rel_pct + mg_pct) / 2, 2)))
    criteria = AcceptanceCriteria(min_r2=Decimal("0.9"), max_residual_sd_pct=limit)
    if rel_pct < mg_pct:
        assert acceptance_problems(weighted, masses, criteria) == ()
        (problem,) = acceptance_problems(plain, masses, criteria)
        assert "% of the mean mass" in problem
    else:
        (problem,) = acceptance_problems(weighted, masses, criteria)
        assert problem.startswith(f"relative residual SD {rel_pct:.2f} %")
        assert acceptance_problems(plain, masses, criteria) == ()


def test_a_weighted_fit_fails_the_limit_on_its_relative_sd_with_the_reason() -> None:
    masses = [Decimal(repr(m)) for m in _series(7, rsd=0.03)]
    fit = fit_calibration(VOLUMES, [float(m) for m in masses], weighting="relative")
    assert fit.residual_sd_rel is not None
    criteria = AcceptanceCriteria(min_r2=Decimal("0.9"), max_residual_sd_pct=Decimal("0.5"))
    (problem,) = acceptance_problems(fit, masses, criteria)
    assert problem == (
        f"relative residual SD {fit.residual_sd_rel * 100:.2f} % (the discs' RSD about the "
        "1/m²-weighted line); the site allows 0.5 %"
    )


def test_drift_of_a_small_unit_is_judged_on_the_relative_scale() -> None:
    masses = _series(8)
    fit = fit_calibration(VOLUMES, masses, weighting="relative")
    predicted = fit.mass_for_volume(12.0)
    limit = student_t_quantile(0.975, len(VOLUMES) - 2) * fit.prediction_sd_mg(12.0, 10)
    steady = [Decimal(repr(round(predicted, 4)))] * 10
    off = [Decimal(repr(round(predicted + 1.5 * limit, 4)))] * 10
    flows = [Decimal(100)] * 10
    assert not drift_check(fit, 12.0, flows, steady).drift
    check = drift_check(fit, 12.0, flows, off)
    assert check.drift and float(check.limit_mg) == pytest.approx(limit, abs=1e-4)

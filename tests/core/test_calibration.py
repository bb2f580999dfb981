"""Ink calibration fit mass = a·V + b: recovery, R², prediction interval, refusals."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printpharm.core.calibration import LinearCalibration, fit_calibration, student_t_quantile
from printpharm.errors import CalibrationError

# Hand-computed set: V̄ = 2, m̄ = 2, Sxx = 2, Sxy = 1 → a = 0.5, b = 1;
# fitted 1.5, 2, 2.5 → residuals −0.5, 1, −0.5 → SSE = 1.5; Syy = 2 → R² = 0.25;
# s = √(1.5 / 1) = 1.224745.
HAND_V = [1.0, 2.0, 3.0]
HAND_M = [1.0, 3.0, 2.0]
T_975_DF1 = 12.706204736174703  # Student t, 97.5 % quantile, 1 degree of freedom (tables)


def test_noiseless_line_is_recovered_exactly() -> None:
    volumes = [100.0, 250.0, 400.0, 650.0, 900.0]
    fit = fit_calibration(volumes, [1.2 * v - 3.0 for v in volumes])
    assert fit.a_mg_per_mm3 == pytest.approx(1.2, rel=1e-12)
    assert fit.b_mg == pytest.approx(-3.0, abs=1e-9)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.residual_sd_mg == pytest.approx(0.0, abs=1e-9)
    assert (fit.n, fit.v_min_mm3, fit.v_max_mm3) == (5, 100.0, 900.0)
    assert fit.volume_for_mass(1.2 * 300 - 3.0) == pytest.approx(300.0)


def test_hand_computed_r2_and_residual_sd() -> None:
    fit = fit_calibration(HAND_V, HAND_M)
    assert fit.a_mg_per_mm3 == pytest.approx(0.5)
    assert fit.b_mg == pytest.approx(1.0)
    assert fit.r2 == pytest.approx(0.25)
    assert fit.residual_sd_mg == pytest.approx(math.sqrt(1.5))


def test_prediction_interval_at_the_mean_matches_the_formula() -> None:
    fit = fit_calibration(HAND_V, HAND_M)
    lo, hi = fit.prediction_interval(2.0, confidence=0.95)
    half = T_975_DF1 * math.sqrt(1.5) * math.sqrt(1 + 1 / 3)
    assert lo == pytest.approx(2.0 - half)
    assert hi == pytest.approx(2.0 + half)


def test_prediction_interval_widens_away_from_the_mean_and_with_confidence() -> None:
    volumes = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
    noise = [0.8, -1.1, 0.3, 0.9, -0.6, -0.3]
    fit = fit_calibration(volumes, [1.2 * v + e for v, e in zip(volumes, noise, strict=True)])

    def width(v: float, confidence: float = 0.95) -> float:
        lo, hi = fit.prediction_interval(v, confidence)
        return hi - lo

    assert width(350.0) < width(450.0) < width(600.0)
    assert width(350.0) < width(250.0) < width(100.0)
    assert width(350.0, 0.90) < width(350.0, 0.95) < width(350.0, 0.99)


def test_volume_outside_the_calibrated_range_is_refused() -> None:
    fit = fit_calibration([100.0, 200.0, 300.0], [120.0, 240.0, 360.0])
    with pytest.raises(CalibrationError) as info:
        fit.volume_for_mass(480.0)
    assert "outside the calibrated range 100–300 mm³ (120–360 mg)" in str(info.value)
    with pytest.raises(CalibrationError, match="calibrated range 100–300 mm³"):
        fit.mass_for_volume(50.0)
    with pytest.raises(CalibrationError, match="calibrated range"):
        fit.prediction_interval(400.0)
    # research mode may extrapolate
    assert fit.volume_for_mass(480.0, allow_extrapolation=True) == pytest.approx(400.0)
    assert fit.prediction_interval(400.0, allow_extrapolation=True)[0] == pytest.approx(480.0)


@pytest.mark.parametrize(
    ("volumes", "masses", "message"),
    [
        ([100.0, 200.0], [120.0, 240.0], "at least 3 prints, got 2"),
        ([200.0, 200.0, 200.0], [230.0, 240.0, 250.0], "all calibration volumes are equal"),
        ([100.0, 200.0, 300.0], [360.0, 240.0, 120.0], "slope a = -1.2 mg/mm³ is not positive"),
        ([100.0, 200.0, 300.0], [120.0, 240.0], "3 volumes but 2 masses"),
        ([100.0, 200.0, math.nan], [120.0, 240.0, 360.0], "finite"),
    ],
)
def test_degenerate_fits_are_refused(
    volumes: list[float], masses: list[float], message: str
) -> None:
    with pytest.raises(CalibrationError, match=message):
        fit_calibration(volumes, masses)


def test_default_coefficients_have_no_prediction_interval() -> None:
    default = LinearCalibration.from_coefficients(
        a_mg_per_mm3=1.2, b_mg=0.0, v_min_mm3=40.0, v_max_mm3=1200.0
    )
    assert default.n == 0 and default.r2 is None
    assert default.volume_for_mass(600.0) == pytest.approx(500.0)
    with pytest.raises(CalibrationError, match="no fit statistics"):
        default.prediction_interval(500.0)
    with pytest.raises(CalibrationError, match="not positive"):
        LinearCalibration.from_coefficients(
            a_mg_per_mm3=0.0, b_mg=0.0, v_min_mm3=1.0, v_max_mm3=2.0
        )
    with pytest.raises(CalibrationError, match="empty"):
        LinearCalibration.from_coefficients(
            a_mg_per_mm3=1.0, b_mg=0.0, v_min_mm3=2.0, v_max_mm3=2.0
        )


def test_confidence_must_be_a_probability() -> None:
    fit = fit_calibration(HAND_V, HAND_M)
    with pytest.raises(CalibrationError, match="confidence 1.5"):
        fit.prediction_interval(2.0, confidence=1.5)


def test_result_is_frozen() -> None:
    fit = fit_calibration(HAND_V, HAND_M)
    with pytest.raises(AttributeError):
        fit.a_mg_per_mm3 = 2.0  # type: ignore[misc]


@given(
    a=st.floats(0.5, 2.0),
    b=st.floats(-10.0, 10.0),
    fraction=st.floats(0.0, 1.0),
)
def test_volume_for_mass_inverts_mass_for_volume(a: float, b: float, fraction: float) -> None:
    calibration = LinearCalibration.from_coefficients(
        a_mg_per_mm3=a, b_mg=b, v_min_mm3=50.0, v_max_mm3=900.0
    )
    volume = 50.0 + fraction * 850.0
    mass = calibration.mass_for_volume(volume)
    back = calibration.volume_for_mass(mass, allow_extrapolation=True)
    assert back == pytest.approx(volume, rel=1e-9, abs=1e-9)


# -- Student t quantiles without SciPy ------------------------------------------------------
# Reference values that need no statistics library: the closed-form quantiles for 1, 2 and 4
# degrees of freedom, and for every other df the exact finite-series CDF of Abramowitz &
# Stegun 26.7.3/26.7.4 (integer df), evaluated in plain floating point.

LEVELS = (0.0005, 0.001, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 0.6, 0.75, 0.9, 0.95, 0.975, 0.99)
LEVELS += (0.995, 0.999, 0.9995)


def _closed_form(p: float, df: int) -> float:
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    alpha = 4 * p * (1 - p)  # df == 4
    q = math.cos(math.acos(math.sqrt(alpha)) / 3) / math.sqrt(alpha)
    return math.copysign(2 * math.sqrt(q - 1), p - 0.5)


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t), A&S 26.7.3 (odd df) and 26.7.4 (even df)."""
    theta = math.atan(abs(t) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    term = series = 1.0
    if df % 2:
        for k in range(1, (df - 3) // 2 + 1):
            term *= 2 * k / (2 * k + 1) * c2
            series += term
        inner = math.sin(theta) * math.cos(theta) * series if df > 1 else 0.0
        two_sided = 2 / math.pi * (theta + inner)
    else:
        for k in range(1, (df - 2) // 2 + 1):
            term *= (2 * k - 1) / (2 * k) * c2
            series += term
        two_sided = math.sin(theta) * series
    return 0.5 + math.copysign(two_sided, t) / 2


def _t_pdf(t: float, df: int) -> float:
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))


@pytest.mark.parametrize("df", [1, 2, 4])
def test_t_quantile_equals_the_closed_forms_within_1e_9(df: int) -> None:
    for p in LEVELS:
        expected = _closed_form(p, df)
        assert student_t_quantile(p, df) == pytest.approx(expected, rel=1e-9, abs=1e-9), p


@pytest.mark.parametrize("df", [3, 5, 6, 7, 10, 13, 30, 61, 200])
def test_t_quantile_inverts_the_exact_series_cdf_within_1e_9(df: int) -> None:
    for p in LEVELS:
        t = student_t_quantile(p, df)
        # one Newton step from t on the exact CDF: how far t is from the true quantile
        error = (_t_cdf(t, df) - p) / _t_pdf(t, df)
        assert abs(error) <= 1e-9 * max(1.0, abs(t)), (p, t, error)


def test_t_quantile_known_table_value_and_symmetry() -> None:
    assert student_t_quantile(0.975, 1) == pytest.approx(T_975_DF1, rel=1e-12)
    assert student_t_quantile(0.5, 9) == 0.0
    assert student_t_quantile(0.1, 12) == pytest.approx(-student_t_quantile(0.9, 12), rel=1e-12)


@pytest.mark.parametrize(("p", "df"), [(0.0, 3), (1.0, 3), (0.5, 0), (0.9, 2.5), (0.9, True)])
def test_t_quantile_refuses_levels_and_df_outside_its_domain(p: float, df: int) -> None:
    with pytest.raises(CalibrationError):
        student_t_quantile(p, df)

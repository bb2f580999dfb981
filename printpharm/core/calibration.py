"""Ink calibration: the straight line ``mass_mg = a · V_mm3 + b`` fitted to calibration prints.

A calibration series prints units of known deposited volume V (mm³, from the
G-code) and weighs them (mg). :func:`fit_calibration` fits the line by least
squares and keeps what is needed to use it honestly afterwards: R², the
residual standard deviation, the prediction interval's ingredients and the
calibrated volume range.

Two weightings (:data:`WEIGHTINGS`):

* ``"unweighted"`` — ordinary least squares: every disc's mass has the same
  variance σ² (mg²). Prediction interval of one new unit at V₀:
  ``ŷ₀ ± t(1−α/2, n−2) · s · √(1 + 1/n + (V₀ − V̄)² / Sxx)``.
* ``"relative"`` (:data:`DEFAULT_WEIGHTING` for new fits) — the unit-to-unit
  scatter of a printing process is relative (an RSD), so ``Var(mᵢ) = σ_rel² · μᵢ²``
  with ``μᵢ = a·Vᵢ + b``. Weighted least squares with ``wᵢ = 1/m̂ᵢ²``, iterated
  (weights from the weighed masses, then twice from the fitted ones:
  :data:`REWEIGHTINGS`). With ``W = diag(wᵢ)``, ``X = [Vᵢ 1]`` and
  ``x₀ = [V₀ 1]``: ``Cov(â, b̂) = σ_rel² (XᵀWX)⁻¹`` and a new unit's mass
  ``m₀ = ŷ₀ + ε₀`` with ``Var(ε₀) = σ_rel² · μ₀²``, independent of the fit, so
  ``Var(m₀ − ŷ₀) = σ_rel² · (μ₀² + x₀ᵀ(XᵀWX)⁻¹x₀)``; with μ₀ estimated by ŷ₀ and
  ``σ̂_rel² = Σ wᵢ rᵢ² / (n − 2)`` (the relative residual SD):
  ``ŷ₀ ± t(1−α/2, n−2) · σ̂_rel · √(ŷ₀² + 1/Σw + (V₀ − V̄w)² / Sxx,w)``, where
  ``x₀ᵀ(XᵀWX)⁻¹x₀ = 1/Σw + (V₀ − V̄w)²/Sxx,w`` (``V̄w = ΣwV/Σw``,
  ``Sxx,w = Σw(V − V̄w)²``). The unweighted interval is the same formula with
  ``wᵢ = 1``, scale 1 instead of ŷ₀ and σ̂ in mg. Weights estimated from the data
  make the t interval approximate (exact for known weights); at the 2–3 % RSD of
  a paste the effect is far below the interval's width. R² is the weighted
  ``1 − Σw r² / Σw (m − m̄w)²``. The inverse,
:meth:`LinearCalibration.volume_for_mass`, turns a target mass into the volume
to deposit and refuses to extrapolate outside the calibrated range unless asked
to (research mode).

Numbers are floats: this is a statistical fit, not a pharmacopoeial limit.
Units: V in mm³, mass in mg, ``a`` in mg/mm³, ``b`` in mg.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from printpharm.errors import CalibrationError

__all__ = [
    "DEFAULT_WEIGHTING",
    "MIN_POINTS",
    "REWEIGHTINGS",
    "WEIGHTINGS",
    "LinearCalibration",
    "Weighting",
    "fit_calibration",
    "student_t_quantile",
    "weighting_text",
]

#: Fewest calibration prints a fit accepts (two points always fit exactly).
MIN_POINTS = 3
#: How the points of a fit are weighted: equally, or by 1/m̂² (relative noise).
Weighting = Literal["unweighted", "relative"]
WEIGHTINGS: tuple[Weighting, ...] = get_args(Weighting)
#: The weighting of a new fit on site (relative: a process's scatter is an RSD).
DEFAULT_WEIGHTING: Weighting = "relative"
#: Refits with weights from the fitted masses, after the first from the weighed ones.
REWEIGHTINGS = 2


def weighting_text(weighting: str) -> str:
    """How a record names a weighting (``relative`` → ``weighted 1/m̂² (relative noise)``)."""
    if weighting == "relative":
        return "weighted least squares, weights 1/mass² (relative noise, variance ∝ mass²)"
    return "ordinary least squares (unweighted, constant noise in mg)"


@dataclass(frozen=True)
class LinearCalibration:
    """``mass_mg = a_mg_per_mm3 · V_mm3 + b_mg``, valid for ``v_min_mm3 ≤ V ≤ v_max_mm3``.

    Fit statistics (``r2``, ``residual_sd_mg``, ``v_mean_mm3``, ``sxx_mm6``) are
    ``None``/0 for a default calibration read from an ink file (``n == 0``),
    which therefore has no prediction interval. ``residual_sd_mg`` is the SD of
    the residuals in mg (n − 2 degrees of freedom) whatever the weighting. For a
    ``relative`` fit, ``v_mean_mm3`` and ``sxx_mm6`` are the weighted V̄w and
    Sxx,w (mm⁶/mg²), ``sum_weights`` is Σw (mg⁻²) and ``residual_sd_rel`` the
    relative residual SD σ̂_rel (a fraction); see the module docstring.
    """

    a_mg_per_mm3: float
    b_mg: float
    v_min_mm3: float
    v_max_mm3: float
    n: int = 0
    r2: float | None = None
    residual_sd_mg: float | None = None
    v_mean_mm3: float | None = None
    sxx_mm6: float | None = None
    weighting: Weighting = "unweighted"
    sum_weights: float | None = None
    residual_sd_rel: float | None = None

    @classmethod
    def from_coefficients(
        cls, *, a_mg_per_mm3: float, b_mg: float, v_min_mm3: float, v_max_mm3: float
    ) -> LinearCalibration:
        """A calibration given by its coefficients (e.g. an ink's default), without statistics.

        Raises
        ------
        CalibrationError
            If the slope is not positive or the volume range is empty or negative.
        """
        _check_slope(a_mg_per_mm3)
        if not 0 <= v_min_mm3 < v_max_mm3:
            raise CalibrationError(
                f"calibrated volume range {v_min_mm3}–{v_max_mm3} mm³ is empty or negative"
            )
        return cls(a_mg_per_mm3, b_mg, v_min_mm3, v_max_mm3)

    def _check_volume(self, volume_mm3: float, allow_extrapolation: bool) -> None:
        if not math.isfinite(volume_mm3):
            raise CalibrationError(f"volume {volume_mm3} mm³ is not a finite number")
        if allow_extrapolation:
            return
        if not self.v_min_mm3 <= volume_mm3 <= self.v_max_mm3:
            raise CalibrationError(
                f"volume {volume_mm3:.4g} mm³ is outside the calibrated range "
                f"{self.v_min_mm3:.4g}–{self.v_max_mm3:.4g} mm³; recalibrate over this "
                "range (extrapolation is allowed only in research mode)"
            )

    def mass_for_volume(self, volume_mm3: float, *, allow_extrapolation: bool = False) -> float:
        """Predicted mass (mg) of a deposit of ``volume_mm3``.

        Raises
        ------
        CalibrationError
            If the volume is outside the calibrated range and extrapolation is not allowed.
        """
        self._check_volume(volume_mm3, allow_extrapolation)
        return self.a_mg_per_mm3 * volume_mm3 + self.b_mg

    def volume_for_mass(self, mass_mg: float, *, allow_extrapolation: bool = False) -> float:
        """Volume (mm³) to deposit for a weighed mass of ``mass_mg``: ``(mass − b) / a``.

        Raises
        ------
        CalibrationError
            If the mass is not finite, or the volume it needs lies outside the
            calibrated range (the message gives the range in mm³ and in mg) and
            ``allow_extrapolation`` is false.
        """
        if not math.isfinite(mass_mg):
            raise CalibrationError(f"mass {mass_mg} mg is not a finite number")
        volume_mm3 = (mass_mg - self.b_mg) / self.a_mg_per_mm3
        if not allow_extrapolation and not self.v_min_mm3 <= volume_mm3 <= self.v_max_mm3:
            lo = self.a_mg_per_mm3 * self.v_min_mm3 + self.b_mg
            hi = self.a_mg_per_mm3 * self.v_max_mm3 + self.b_mg
            raise CalibrationError(
                f"mass {mass_mg:.4g} mg needs {volume_mm3:.4g} mm³, outside the calibrated range "
                f"{self.v_min_mm3:.4g}–{self.v_max_mm3:.4g} mm³ ({lo:.4g}–{hi:.4g} mg); "
                "recalibrate over this range (extrapolation is allowed only in research mode)"
            )
        return volume_mm3

    def prediction_interval(
        self, volume_mm3: float, confidence: float = 0.95, *, allow_extrapolation: bool = False
    ) -> tuple[float, float]:
        """Two-sided prediction interval (mg) for one new unit of ``volume_mm3``.

        Unweighted: ``ŷ ± t(1−α/2, n−2) · s · √(1 + 1/n + (V − V̄)² / Sxx)`` (Student t);
        relative: ``ŷ ± t · σ̂_rel · √(ŷ² + 1/Σw + (V − V̄w)² / Sxx,w)`` (module docstring).

        Raises
        ------
        CalibrationError
            Without fit statistics (a default calibration), for a confidence not in
            (0, 1), or outside the calibrated range without ``allow_extrapolation``.
        """
        if not 0 < confidence < 1:
            self.prediction_sd_mg(volume_mm3, allow_extrapolation=True)  # no statistics first
            raise CalibrationError(f"confidence {confidence} must lie strictly between 0 and 1")
        centre = self.mass_for_volume(volume_mm3, allow_extrapolation=allow_extrapolation)
        sd = self.prediction_sd_mg(volume_mm3, allow_extrapolation=True)
        half = student_t_quantile(0.5 + confidence / 2, self.n - 2) * sd
        return centre - half, centre + half

    def prediction_sd_mg(
        self, volume_mm3: float, units: int = 1, *, allow_extrapolation: bool = False
    ) -> float:
        """Standard error (mg) of the mean of ``units`` new units at ``volume_mm3`` about ŷ.

        ``σ̂ · √(scale²/k + 1/Σw + (V − V̄)² / Sxx)`` with scale 1 and Σw = n unweighted,
        scale ŷ and the weighted sums for a relative fit (k = ``units``).

        Raises
        ------
        CalibrationError
            Without fit statistics, for fewer than one unit, or outside the calibrated
            range without ``allow_extrapolation``.
        """
        relative = self.weighting == "relative"
        sigma = self.residual_sd_rel if relative else self.residual_sd_mg
        if (
            self.n < MIN_POINTS
            or sigma is None
            or self.v_mean_mm3 is None
            or not self.sxx_mm6
            or (relative and not self.sum_weights)
        ):
            raise CalibrationError(
                "this calibration has no fit statistics (default coefficients); "
                "fit it from calibration prints to get a prediction interval"
            )
        if units < 1:
            raise CalibrationError(f"{units} units: a prediction needs at least one")
        centre = self.mass_for_volume(volume_mm3, allow_extrapolation=allow_extrapolation)
        scale = centre if relative else 1.0
        sum_w = self.sum_weights if relative and self.sum_weights else self.n
        leverage = scale**2 / units + 1 / sum_w + (volume_mm3 - self.v_mean_mm3) ** 2 / self.sxx_mm6
        return sigma * math.sqrt(leverage)


def student_t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom.

    The two-sided tail ``2·min(p, 1 − p)`` equals the regularised incomplete beta
    function ``I_x(df/2, 1/2)`` at ``x = df / (df + t²)`` (Abramowitz & Stegun
    26.7.1 and 26.5.27); mpmath evaluates it to 40 significant digits and its
    bracketing root finder (Anderson–Björck) solves it for ``t``. The result agrees
    with SciPy's ``stats.t.ppf`` to about 1e-10 and costs ~10 ms, without SciPy's
    70 MB (mpmath is pure Python and imported only here).

    Raises
    ------
    CalibrationError
        If ``p`` is not strictly between 0 and 1 or ``df`` is not a positive integer.
    """
    if not 0.0 < p < 1.0:
        raise CalibrationError(f"quantile level {p} must lie strictly between 0 and 1")
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise CalibrationError(f"degrees of freedom {df!r} must be a positive integer")
    if p == 0.5:
        return 0.0
    from mpmath import mp  # pure Python, ~50 ms to import: only when an interval is asked for

    with mp.workdps(40):
        tail = 2 * mp.mpf(min(p, 1.0 - p))
        a = mp.mpf(df) / 2

        def excess(t: Any) -> Any:  # mpmath numbers; decreasing in t, zero at the quantile
            return mp.betainc(a, 0.5, 0, df / (df + t * t), regularized=True) - tail

        high = mp.mpf(1)
        while excess(high) > 0:
            high *= 4
        low = high / 4 if high > 1 else mp.mpf(0)
        t = float(mp.findroot(excess, (low, high), solver="anderson"))
    return t if p > 0.5 else -t


def _check_slope(a_mg_per_mm3: float) -> None:
    if not math.isfinite(a_mg_per_mm3) or a_mg_per_mm3 <= 0:
        raise CalibrationError(
            f"calibration slope a = {a_mg_per_mm3:.6g} mg/mm³ is not positive: more volume "
            "must weigh more (check that volumes and masses are paired correctly)"
        )


def fit_calibration(
    volumes_mm3: Sequence[float],
    masses_mg: Sequence[float],
    *,
    weighting: Weighting = "unweighted",
) -> LinearCalibration:
    """Fit ``mass_mg = a · V_mm3 + b`` by least squares to calibration prints.

    Parameters
    ----------
    volumes_mm3
        Deposited volume of each print (mm³).
    masses_mg
        Weighed mass of each print (mg), paired with ``volumes_mm3``.
    weighting
        ``"unweighted"`` (ordinary least squares; the default of this function, as
        fits stored before weighting existed) or ``"relative"`` (weights 1/m̂²,
        :data:`DEFAULT_WEIGHTING` of a new fit on site); see the module docstring.

    Returns
    -------
    LinearCalibration
        With R² (weighted for a relative fit), residual SD (mg, n − 2 degrees of
        freedom), the relative residual SD of a relative fit, and the calibrated
        range ``[min V, max V]``.

    Raises
    ------
    CalibrationError
        Fewer than 3 points, unequal lengths, non-finite values, all volumes equal
        (zero variance), a slope that is not positive, an unknown weighting, or a
        relative fit with a mass (weighed or fitted) that is not positive.
    """
    n = len(volumes_mm3)
    if n != len(masses_mg):
        raise CalibrationError(f"{n} volumes but {len(masses_mg)} masses: they must pair up")
    if n < MIN_POINTS:
        raise CalibrationError(f"a calibration needs at least {MIN_POINTS} prints, got {n}")
    if weighting not in WEIGHTINGS:
        raise CalibrationError(
            f"weighting {weighting!r} is unknown; accepted: {', '.join(WEIGHTINGS)}"
        )
    xs = [float(v) for v in volumes_mm3]
    ys = [float(m) for m in masses_mg]
    if not all(math.isfinite(v) for v in xs + ys):
        raise CalibrationError("calibration volumes and masses must be finite numbers")
    if weighting == "relative":
        return _relative_least_squares(xs, ys)
    return _least_squares(xs, ys)


def _check_spread(xs: list[float], x_mean: float, sxx: float) -> None:
    if sxx <= 1e-12 * max(1.0, x_mean**2):
        raise CalibrationError(
            f"all calibration volumes are equal ({xs[0]:.4g} mm³): print a series of "
            "different volumes"
        )


def _least_squares(xs: list[float], ys: list[float]) -> LinearCalibration:
    n = len(xs)
    x_mean = math.fsum(xs) / n
    y_mean = math.fsum(ys) / n
    sxx = math.fsum((x - x_mean) ** 2 for x in xs)
    _check_spread(xs, x_mean, sxx)
    sxy = math.fsum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True))
    a = sxy / sxx
    _check_slope(a)
    b = y_mean - a * x_mean
    sse = math.fsum((y - (a * x + b)) ** 2 for x, y in zip(xs, ys, strict=True))
    syy = math.fsum((y - y_mean) ** 2 for y in ys)
    r2 = 1.0 - sse / syy if syy > 0 else 1.0
    residual_sd = math.sqrt(sse / (n - 2))
    return LinearCalibration(
        a_mg_per_mm3=a,
        b_mg=b,
        v_min_mm3=min(xs),
        v_max_mm3=max(xs),
        n=n,
        r2=r2,
        residual_sd_mg=residual_sd,
        v_mean_mm3=x_mean,
        sxx_mm6=sxx,
    )


def _positive(masses: Any, what: str) -> Any:
    if not bool(np.all(masses > 0)):
        raise CalibrationError(
            f"a relative (1/m²-weighted) fit needs positive {what} masses, got "
            f"{float(np.min(masses)):.4g} mg: weigh again, or fit unweighted"
        )
    return 1.0 / masses**2


def _relative_least_squares(xs: list[float], ys: list[float]) -> LinearCalibration:
    """Weighted least squares with ``w = 1/m̂²``: weighed masses first, then fitted ones."""
    x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    _check_spread(xs, float(np.mean(x)), float(np.sum((x - np.mean(x)) ** 2)))
    w = _positive(y, "weighed")
    for step in range(REWEIGHTINGS + 1):
        sum_w = float(np.sum(w))
        x_mean = float(np.sum(w * x)) / sum_w
        y_mean = float(np.sum(w * y)) / sum_w
        sxx = float(np.sum(w * (x - x_mean) ** 2))
        a = float(np.sum(w * (x - x_mean) * (y - y_mean))) / sxx
        _check_slope(a)
        b = y_mean - a * x_mean
        fitted = a * x + b
        if step < REWEIGHTINGS:
            w = _positive(fitted, "fitted")
    residuals = y - fitted
    n = len(xs)
    wsse = float(np.sum(w * residuals**2))
    wsyy = float(np.sum(w * (y - y_mean) ** 2))
    return LinearCalibration(
        a_mg_per_mm3=a,
        b_mg=b,
        v_min_mm3=min(xs),
        v_max_mm3=max(xs),
        n=n,
        r2=1.0 - wsse / wsyy if wsyy > 0 else 1.0,
        residual_sd_mg=math.sqrt(float(np.sum(residuals**2)) / (n - 2)),
        v_mean_mm3=x_mean,
        sxx_mm6=sxx,
        weighting="relative",
        sum_weights=sum_w,
        residual_sd_rel=math.sqrt(wsse / (n - 2)),
    )

"""Ink calibration: the straight line ``mass_mg = a · V_mm3 + b`` fitted to calibration prints.

A calibration series prints units of known deposited volume V (mm³, from the
G-code) and weighs them (mg). :func:`fit_calibration` fits the line by ordinary
least squares and keeps what is needed to use it honestly afterwards: R², the
residual standard deviation, and the calibrated volume range. The inverse,
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
from typing import Any

from printpharm.errors import CalibrationError

__all__ = ["MIN_POINTS", "LinearCalibration", "fit_calibration", "student_t_quantile"]

#: Fewest calibration prints a fit accepts (two points always fit exactly).
MIN_POINTS = 3


@dataclass(frozen=True)
class LinearCalibration:
    """``mass_mg = a_mg_per_mm3 · V_mm3 + b_mg``, valid for ``v_min_mm3 ≤ V ≤ v_max_mm3``.

    Fit statistics (``r2``, ``residual_sd_mg``, ``v_mean_mm3``, ``sxx_mm6``) are
    ``None``/0 for a default calibration read from an ink file (``n == 0``),
    which therefore has no prediction interval.
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

        ``ŷ ± t(1−α/2, n−2) · s · √(1 + 1/n + (V − V̄)² / Sxx)`` (Student t).

        Raises
        ------
        CalibrationError
            Without fit statistics (a default calibration), for a confidence not in
            (0, 1), or outside the calibrated range without ``allow_extrapolation``.
        """
        if (
            self.n < MIN_POINTS
            or self.residual_sd_mg is None
            or self.v_mean_mm3 is None
            or not self.sxx_mm6
        ):
            raise CalibrationError(
                "this calibration has no fit statistics (default coefficients); "
                "fit it from calibration prints to get a prediction interval"
            )
        if not 0 < confidence < 1:
            raise CalibrationError(f"confidence {confidence} must lie strictly between 0 and 1")
        centre = self.mass_for_volume(volume_mm3, allow_extrapolation=allow_extrapolation)
        t = student_t_quantile(0.5 + confidence / 2, self.n - 2)
        leverage = 1 + 1 / self.n + (volume_mm3 - self.v_mean_mm3) ** 2 / self.sxx_mm6
        half = t * self.residual_sd_mg * math.sqrt(leverage)
        return centre - half, centre + half


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


def fit_calibration(volumes_mm3: Sequence[float], masses_mg: Sequence[float]) -> LinearCalibration:
    """Fit ``mass_mg = a · V_mm3 + b`` by least squares to calibration prints.

    Parameters
    ----------
    volumes_mm3
        Deposited volume of each print (mm³).
    masses_mg
        Weighed mass of each print (mg), paired with ``volumes_mm3``.

    Returns
    -------
    LinearCalibration
        With R², residual SD (mg, n − 2 degrees of freedom) and the calibrated
        range ``[min V, max V]``.

    Raises
    ------
    CalibrationError
        Fewer than 3 points, unequal lengths, non-finite values, all volumes equal
        (zero variance), or a slope that is not positive.
    """
    n = len(volumes_mm3)
    if n != len(masses_mg):
        raise CalibrationError(f"{n} volumes but {len(masses_mg)} masses: they must pair up")
    if n < MIN_POINTS:
        raise CalibrationError(f"a calibration needs at least {MIN_POINTS} prints, got {n}")
    xs = [float(v) for v in volumes_mm3]
    ys = [float(m) for m in masses_mg]
    if not all(math.isfinite(v) for v in xs + ys):
        raise CalibrationError("calibration volumes and masses must be finite numbers")
    return _least_squares(xs, ys)


def _least_squares(xs: list[float], ys: list[float]) -> LinearCalibration:
    n = len(xs)
    x_mean = math.fsum(xs) / n
    y_mean = math.fsum(ys) / n
    sxx = math.fsum((x - x_mean) ** 2 for x in xs)
    if sxx <= 1e-12 * max(1.0, x_mean**2):
        raise CalibrationError(
            f"all calibration volumes are equal ({xs[0]:.4g} mm³): print a series of "
            "different volumes"
        )
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

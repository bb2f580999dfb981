"""The flow controller's noise prior: the site's measured scatter when it has one, else the ink's.

The controller (:mod:`.flow_control`) starts its unit-to-unit SD σ from a prior
``unit_rsd`` worth ``prior_df`` pseudo-observations and updates it from the
batch's successive differences. A prior that is too small makes it read noise as
an offset and chase it (over-adjustment, process-control.md); one too large makes
it slow to correct a real drift.

* A calibration fitted on site from weighed discs (:class:`CalibrationInForce`
  with ``source == "site"``) has *measured* the scatter of this printer and ink:
  its relative residual SD σ̂_rel with ``n − 2`` degrees of freedom. That is the
  prior, weighted by those degrees of freedom (capped at
  :data:`MAX_CALIBRATION_DF`).
* Otherwise the ink file's ``variability.unit_rsd`` (a declared value, not a
  measurement) with the controller's default weight, as before.

σ̂_rel contains the balance's read noise as well as the deposit's. The controller
adds the balance separately (``r² = σ² + (balance_sd / T)²``), so the balance's
share is taken out of the prior (see :func:`site_unit_rsd`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from printpharm.core.calibration import LinearCalibration
from printpharm.core.calibration_checks import exact
from printpharm.services.run.calibration import CalibrationInForce

__all__ = [
    "INK_FILE_PRIOR_DF",
    "MAX_CALIBRATION_DF",
    "MIN_UNIT_RSD",
    "NoisePrior",
    "calibration_prior",
    "ink_file_prior",
    "site_unit_rsd",
]

#: The weight of the ink file's declared RSD (the controller's ``prior_df`` default).
INK_FILE_PRIOR_DF = 4.0
#: The most a calibration's degrees of freedom weigh. A 12-unit batch brings 11
#: successive differences (worth roughly two thirds as many degrees of freedom), so
#: its own scatter still moves σ about halfway by its end: a paste that scatters more
#: today than on calibration day (another syringe, air in the lot) is still seen in
#: the batch. Uncapped, a 200-disc calibration would freeze σ at calibration day's.
#: Not floored: a calibration of 4 discs (2 df) weighs 2, less than the ink file's
#: guess, so the batch's own differences soon outweigh a poorly measured σ̂_rel.
MAX_CALIBRATION_DF = 12.0
#: The floor of the prior after the balance's share is taken out (0.1 %, the ink
#: file's own lower bound, below any published printing RSD of 1–4 %): a calibration
#: whose scatter the balance explains almost entirely says the deposit scatters
#: little, not that it never does, and σ must stay positive.
MIN_UNIT_RSD = 0.001

PriorSource = Literal["calibration", "ink_file"]


def _pct(fraction: float, places: int = 2) -> str:
    return f"{fraction * 100:.{places}f} %"


@dataclass(frozen=True)
class NoisePrior:
    """The unit-to-unit RSD the controller starts from (a fraction), its weight and why.

    ``calibration_rsd`` and ``balance_rsd`` (fractions) are σ̂_rel as fitted and the
    balance's share of it; ``calibration_df`` the fit's ``n − 2`` (calibration only).
    """

    unit_rsd: float
    df: float
    source: PriorSource
    text: str
    calibration_rsd: float | None = None
    balance_rsd: float | None = None
    calibration_df: int | None = None

    def record(self) -> dict[str, Any]:
        """The prior as the batch record keeps it (exact decimals)."""

        def opt(x: float | None) -> Decimal | None:
            return None if x is None else exact(x)

        return {
            "source": self.source,
            "unit_rsd": exact(self.unit_rsd),
            "weight_df": exact(self.df),
            "calibration_rsd": opt(self.calibration_rsd),
            "balance_rsd": opt(self.balance_rsd),
            "calibration_df": self.calibration_df,
            "text": self.text,
        }


def ink_file_prior(ink_id: str, unit_rsd_pct: Decimal, why: str) -> NoisePrior:
    """The ink file's declared ``unit_rsd`` (in %) with the default weight."""
    rsd = float(unit_rsd_pct) / 100.0
    text = (
        f"noise prior {_pct(rsd)} from the ink file ({ink_id}, weight {INK_FILE_PRIOR_DF:g}): {why}"
    )
    return NoisePrior(rsd, INK_FILE_PRIOR_DF, "ink_file", text)


def site_unit_rsd(
    line: LinearCalibration, balance_sd_mg: float, unit_mass_mg: float
) -> tuple[float, float, float] | None:
    """``(σ̂_rel as fitted, the balance's share, the deposit's RSD)`` of a fit, or ``None``.

    For a ``relative`` fit (weights wᵢ = 1/m̂ᵢ²) the balance's read noise s adds
    ``s² · Σw / n`` to σ̂_rel² on average: its relative variance at the discs'
    own masses, which is what went into the fit (not at the unit's mass). For an
    ``unweighted`` fit (σ̂ in mg, constant noise) the balance's s² comes off σ̂²
    and the rest is read relative to ``unit_mass_mg``. The deposit's RSD is floored
    at :data:`MIN_UNIT_RSD`. ``None`` when the fit has no residual statistics.
    """
    if line.n < 3:
        return None
    if line.weighting == "relative" and line.residual_sd_rel and line.sum_weights:
        fitted = line.residual_sd_rel
        balance = balance_sd_mg * math.sqrt(line.sum_weights / line.n)
    elif line.residual_sd_mg and unit_mass_mg > 0:
        fitted = line.residual_sd_mg / unit_mass_mg
        balance = balance_sd_mg / unit_mass_mg
    else:
        return None
    deposit = math.sqrt(max(fitted**2 - balance**2, 0.0))
    return fitted, balance, max(deposit, MIN_UNIT_RSD)


def calibration_prior(
    calibration: CalibrationInForce | None,
    ink_id: str,
    ink_unit_rsd_pct: Decimal,
    balance_sd_mg: float,
    unit_mass_mg: float,
) -> NoisePrior:
    """The prior from ``calibration`` when fitted on site from weighed discs, else the ink's."""
    if calibration is None or not calibration.fitted:
        return ink_file_prior(ink_id, ink_unit_rsd_pct, "no calibration fitted on site in force")
    found = site_unit_rsd(calibration.line, balance_sd_mg, unit_mass_mg)
    if found is None:
        return ink_file_prior(
            ink_id, ink_unit_rsd_pct, f"calibration v{calibration.version} has no residual SD"
        )
    fitted, balance, rsd = found
    df = calibration.line.n - 2
    weight = float(min(df, MAX_CALIBRATION_DF))
    shown = _pct(fitted) != _pct(rsd)  # the balance's share only where it changes the figure
    less = f", {_pct(fitted)} less the balance's {_pct(balance, 3)}" if shown else ""
    text = (
        f"noise prior {_pct(rsd)} from calibration v{calibration.version} "
        f"(n={calibration.line.n}, {df} df, weight {weight:g}{less})"
    )
    return NoisePrior(rsd, weight, "calibration", text, fitted, balance, df)

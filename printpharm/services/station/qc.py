"""The QC page's verdicts on typed unit masses (private to services.workstation)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from printpharm.core.uniformity import (
    LocalMassCheckResult,
    MassUniformityResult,
    local_mass_check,
    masses_in_mg,
    uniformity_of_mass,
)
from printpharm.errors import PrintpharmError
from printpharm.services.station.batch_form import parse_masses

__all__ = ["QcPreview", "qc_preview"]


@dataclass(frozen=True)
class QcPreview:
    """Verdicts for a list of unit masses: 2.9.5 (20 units) and the local check."""

    masses_mg: tuple[Decimal, ...]
    mass_2_9_5: MassUniformityResult | None
    mass_2_9_5_error: str | None
    local: LocalMassCheckResult | None
    local_error: str | None


def qc_preview(masses_text: str, target_mg: str, unit_tol_pct: str, mean_tol_pct: str) -> QcPreview:
    """Judge typed masses (mg) by Ph. Eur. 2.9.5 and by the local mass check.

    Raises
    ------
    UniformityInputError
        A mass that is not a number, or masses that are all below 5 mg (grams, most likely).
    """
    masses = masses_in_mg(parse_masses(masses_text))  # grams are refused, with the reason
    m295: MassUniformityResult | None = None
    e295: str | None = None
    local: LocalMassCheckResult | None = None
    elocal: str | None = None
    try:
        m295 = uniformity_of_mass(masses)
    except PrintpharmError as exc:
        e295 = str(exc)
    try:
        local = local_mass_check(masses, target_mg.strip(), unit_tol_pct, mean_tol_pct)
    except PrintpharmError as exc:
        elocal = str(exc)
    return QcPreview(masses, m295, e295, local, elocal)

"""Local point-of-care mass check (private; use printpharm.core.uniformity).

Not a pharmacopoeial test: the pharmacy's own dose-accuracy specification
(reference §6) -- each unit against its own target mass, and the mean mass
against the mean target, with inclusive bounds decided on exact rationals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from printpharm.core._uniformity_input import (
    Number,
    as_fractions,
    fraction_to_decimal,
    half_up,
    parse_values,
)
from printpharm.core.units import within_tolerance
from printpharm.errors import UniformityInputError

__all__ = ["LOCAL_CHECK_LABEL", "LocalMassCheckResult", "UnitMassVerdict", "local_mass_check"]

#: Label carried by every local (non-pharmacopoeial) check.
LOCAL_CHECK_LABEL = "local point-of-care specification (not pharmacopoeial)"


@dataclass(frozen=True)
class UnitMassVerdict:
    """One unit of a local mass check: mass and target in mg, deviation in % of target."""

    index: int
    mass_mg: Decimal
    target_mg: Decimal
    deviation_pct: Decimal
    within: bool


@dataclass(frozen=True)
class LocalMassCheckResult:
    """Outcome of :func:`local_mass_check` -- a local specification, not pharmacopoeial.

    ``deviation_pct`` values are rounded half-up to 6 dp for display; every
    ``within`` is decided exactly with inclusive bounds.
    """

    units: tuple[UnitMassVerdict, ...]
    unit_tolerance_pct: Decimal
    mean_tolerance_pct: Decimal
    mean_mass_mg: Decimal
    mean_target_mg: Decimal
    mean_deviation_pct: Decimal
    mean_within: bool
    n_units_outside: int
    result: str
    reason: str
    label: str = LOCAL_CHECK_LABEL


def _deviation_pct(value: Fraction, target: Fraction) -> Decimal:
    return half_up((value - target) * 100 / target, 6)


def _targets(target_mg: Number | Sequence[Number], n: int) -> tuple[Decimal, ...]:
    if isinstance(target_mg, Decimal | str | int | float):
        return parse_values([target_mg], "target_mg") * n
    targets = parse_values(target_mg, "target_mg")
    if len(targets) != n:
        raise UniformityInputError(
            f"target_mg: give one target or one per unit ({n}), got {len(targets)}"
        )
    return targets


def local_mass_check(
    masses_mg: Sequence[Number],
    target_mg: Number | Sequence[Number],
    unit_tolerance_pct: Number,
    mean_tolerance_pct: Number,
) -> LocalMassCheckResult:
    """Check each unit against its own target mass, and the mean against the mean target.

    Not a pharmacopoeial test: the pharmacy's own dose-accuracy specification
    (reference §6). Bounds are inclusive: a unit exactly ``unit_tolerance_pct``
    off its target is within.

    Parameters
    ----------
    masses_mg
        Individual masses in mg (any number of units, at least one).
    target_mg
        Target mass in mg, one for all units or one per unit.
    unit_tolerance_pct, mean_tolerance_pct
        Allowed deviation in % of target for each unit and for the mean.

    Raises
    ------
    UniformityInputError
        No units, a mass or target that is not a positive number, a negative
        tolerance, or a target list of the wrong length.
    """
    masses = parse_values(masses_mg, "masses_mg")
    if not masses:
        raise UniformityInputError("masses_mg: at least one unit is required")
    targets = _targets(target_mg, len(masses))
    unit_tol = Fraction(parse_values([unit_tolerance_pct], "unit_tolerance_pct", positive=False)[0])
    mean_tol = Fraction(parse_values([mean_tolerance_pct], "mean_tolerance_pct", positive=False)[0])
    units = tuple(
        UnitMassVerdict(
            i, m, t, _deviation_pct(Fraction(m), Fraction(t)), within_tolerance(m, t, unit_tol)
        )
        for i, (m, t) in enumerate(zip(masses, targets, strict=True), start=1)
    )
    mean = sum(as_fractions(masses), Fraction(0)) / len(masses)
    mean_target = sum(as_fractions(targets), Fraction(0)) / len(targets)
    mean_within = within_tolerance(mean, mean_target, mean_tol)
    outside = sum(1 for u in units if not u.within)
    unit_tol_pct, mean_tol_pct = fraction_to_decimal(unit_tol), fraction_to_decimal(mean_tol)
    reason = (
        f"{outside} of {len(units)} unit(s) outside +/-{unit_tol_pct} % of target; "
        f"mean {'within' if mean_within else 'outside'} +/-{mean_tol_pct} % "
        f"of target ({LOCAL_CHECK_LABEL})"
    )
    return LocalMassCheckResult(
        units=units,
        unit_tolerance_pct=unit_tol_pct,
        mean_tolerance_pct=mean_tol_pct,
        mean_mass_mg=fraction_to_decimal(mean),
        mean_target_mg=fraction_to_decimal(mean_target),
        mean_deviation_pct=_deviation_pct(mean, mean_target),
        mean_within=mean_within,
        n_units_outside=outside,
        result="PASS" if outside == 0 and mean_within else "FAIL",
        reason=reason,
    )

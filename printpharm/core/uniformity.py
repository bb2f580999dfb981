"""Pharmacopoeial uniformity statistics on exact decimals.

* :func:`uniformity_of_mass` -- Ph. Eur. 2.9.5 uniformity of mass (20 tablets or
  capsules), policy ``"strict"`` (default) or ``"gn_rounding"``.
* :func:`acceptance_value` / :func:`acceptance_value_mass_variation` -- Ph. Eur.
  2.9.40 = USP <905> acceptance value, stage 1 (10 units) and stage 2 (30 units),
  content uniformity and mass variation (in :mod:`printpharm.core._av`).
* :func:`applicable_uniformity_test` -- whether 2.9.40 mass variation may replace
  content uniformity (>= 25 mg and >= 25 % drug per unit), and why.
* :func:`local_mass_check` -- the pharmacy's own per-unit and mean-mass window
  around the target mass. **Not pharmacopoeial**, and labelled so.

All verdicts are decided on exact rationals: a unit exactly 10.0 % off is not
"more than 10 %". Inputs may be ``Decimal``, ``str``, ``int`` or ``float``
(floats are converted through ``str``). Limits come from
:data:`printpharm.core.tolerances.PH_EUR`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

from printpharm.core._av import (
    FINAL_VERDICTS,
    AcceptanceValueResult,
    AvStage,
    TestApplicability,
    acceptance_value,
    acceptance_value_mass_variation,
    applicable_uniformity_test,
)
from printpharm.core._local_check import (
    LOCAL_CHECK_LABEL,
    LocalMassCheckResult,
    UnitMassVerdict,
    local_mass_check,
)
from printpharm.core._uniformity_input import (
    MIN_PLAUSIBLE_UNIT_MG,
    MassUnit,
    Number,
    as_fractions,
    fraction_to_decimal,
    half_up,
    masses_in_mg,
    parse_number,
    parse_values,
)
from printpharm.core.tolerances import PH_EUR
from printpharm.errors import UniformityInputError

__all__ = [
    "FINAL_VERDICTS",
    "LOCAL_CHECK_LABEL",
    "MIN_PLAUSIBLE_UNIT_MG",
    "POLICIES",
    "AcceptanceValueResult",
    "AvStage",
    "LocalMassCheckResult",
    "MassUniformityResult",
    "MassUnit",
    "Number",
    "TestApplicability",
    "UnitMassVerdict",
    "acceptance_value",
    "acceptance_value_mass_variation",
    "applicable_uniformity_test",
    "local_mass_check",
    "masses_in_mg",
    "uniformity_of_mass",
]

Form = Literal["tablet", "capsule"]
Policy = Literal["strict", "gn_rounding"]

#: The 2.9.5 counting policies: exact arithmetic, or the General-Notices rounding reading.
POLICIES: tuple[str, ...] = ("strict", "gn_rounding")


@dataclass(frozen=True)
class MassUniformityResult:
    """Outcome of Ph. Eur. 2.9.5 uniformity of mass.

    Masses in mg, deviations in % of the average. ``unit_masses_mg`` are content
    masses for capsules (gross - shell). ``average_mass_mg`` is the exact mean;
    ``band_average_mg`` the value the band was chosen from (whole mg under
    ``"gn_rounding"``). ``deviations_pct`` are signed and rounded half-up to
    6 dp for display; the counts are decided on exact values (or, under
    ``"gn_rounding"``, on |deviation| rounded to the decimals of the tabulated limit).
    ``units_outside_limit`` / ``units_outside_twice_limit`` are 1-based unit numbers.
    """

    form: str
    policy: str
    unit_masses_mg: tuple[Decimal, ...]
    average_mass_mg: Decimal
    band_average_mg: Decimal
    limit_pct: Decimal
    twice_limit_pct: Decimal
    deviations_pct: tuple[Decimal, ...]
    n_outside_limit: int
    n_outside_twice_limit: int
    max_abs_deviation_pct: Decimal
    result: str
    reason: str
    units_outside_limit: tuple[int, ...] = ()
    units_outside_twice_limit: tuple[int, ...] = ()
    test: str = "Ph. Eur. 2.9.5 uniformity of mass"

    def as_vector_dict(self) -> dict[str, object]:
        """The result with the keys and number formats of the shared vector files."""
        return {
            "test": self.test,
            "form": self.form,
            "policy": self.policy,
            "valid": True,
            "result": self.result,
            "average_mass_mg": str(_six_dp(self.average_mass_mg)),
            "band_average_mg": str(self.band_average_mg),
            "limit_pct": _one_dp(self.limit_pct),
            "twice_limit_pct": _one_dp(self.twice_limit_pct),
            "n_outside_limit": self.n_outside_limit,
            "n_outside_twice_limit": self.n_outside_twice_limit,
            "max_abs_deviation_pct": str(_six_dp(self.max_abs_deviation_pct)),
            "reason": self.reason,
            "units_outside_limit": list(self.units_outside_limit),
            "units_outside_twice_limit": list(self.units_outside_twice_limit),
            "unit_masses_mg": [str(m) for m in self.unit_masses_mg],
            "deviations_pct": [str(d) for d in self.deviations_pct],
        }


def _one_dp(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _six_dp(value: Decimal) -> Decimal:
    return half_up(Fraction(value), 6)


def _band_limit_pct(form: str, average_mg: Decimal) -> Decimal:
    """Table 2.9.5.-1 percentage for ``form`` at ``average_mg`` (boundary words exact)."""
    if form == "tablet":
        if average_mg <= PH_EUR.tablet_small_max_mg:  # "80 mg or less"
            return PH_EUR.tablet_small_limit_pct
        if average_mg < PH_EUR.tablet_large_min_mg:  # "more than 80 and less than 250"
            return PH_EUR.tablet_medium_limit_pct
        return PH_EUR.tablet_large_limit_pct  # "250 mg or more"
    if average_mg < PH_EUR.capsule_large_min_mg:  # "less than 300 mg"
        return PH_EUR.capsule_small_limit_pct
    return PH_EUR.capsule_large_limit_pct  # "300 mg or more"


def _content_masses(
    masses_mg: Sequence[Number], form: str, shell_mg: Number | Sequence[Number] | None
) -> tuple[Decimal, ...]:
    if form not in ("tablet", "capsule"):
        raise UniformityInputError(f"form: {form!r} is not supported (use 'tablet' or 'capsule')")
    masses = parse_values(masses_mg, "masses_mg")
    required = PH_EUR.mass_units_required
    if len(masses) != required:
        raise UniformityInputError(
            f"2.9.5 requires {required} units, got {len(masses)} "
            f"(weigh exactly {required} units taken at random)"
        )
    if shell_mg is None:
        return masses
    if form != "capsule":
        raise UniformityInputError("shell_mg: a shell mass applies to capsules only")
    if isinstance(shell_mg, Decimal | str | int | float):
        shells = (parse_number(shell_mg, "shell_mg"),) * len(masses)
    else:
        shells = parse_values(shell_mg, "shell_mg", positive=False)
        if len(shells) != len(masses):
            raise UniformityInputError(
                f"shell_mg: give one shell mass or one per unit ({len(masses)}), got {len(shells)}"
            )
    contents = tuple(g - s for g, s in zip(masses, shells, strict=True))
    for index, content in enumerate(contents, start=1):
        if content <= 0:
            raise UniformityInputError(
                f"capsule unit {index}: content mass {content} mg (gross - shell) must be > 0"
            )
    return contents


def _decimals_of(limit: Decimal) -> int:
    exponent = limit.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _reason_295(n1: int, n2: int, limit: Decimal, twice: Decimal) -> str:
    allowed = PH_EUR.mass_max_units_outside_limit
    count_text = f"{n1} units deviate by more than {_one_dp(limit)} % (max {allowed} allowed)"
    if n2 > PH_EUR.mass_max_units_outside_twice_limit:
        text = f"{n2} unit(s) deviate by more than twice the limit ({_one_dp(twice)} %)"
        return text + ("; " + count_text if n1 > allowed else "")
    if n1 > allowed:
        return count_text
    return (
        f"{n1} unit(s) deviate by more than {_one_dp(limit)} % (max {allowed} allowed); "
        f"none by more than {_one_dp(twice)} %"
    )


def _units_beyond(
    deviations: Sequence[Fraction], limit: Decimal, policy: str
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """1-based numbers of units beyond the limit and beyond twice the limit."""
    if policy == "strict":
        judged = [abs(d) for d in deviations]
    else:  # General Notices: |d| rounded half-up to the decimals of the tabulated limit
        dp = _decimals_of(limit)
        judged = [Fraction(half_up(abs(d), dp)) for d in deviations]
    once, twice = Fraction(limit), Fraction(limit * 2)
    return (
        tuple(i for i, d in enumerate(judged, start=1) if d > once),
        tuple(i for i, d in enumerate(judged, start=1) if d > twice),
    )


def uniformity_of_mass(
    masses_mg: Sequence[Number],
    form: Form = "tablet",
    shell_mg: Number | Sequence[Number] | None = None,
    policy: Policy = "strict",
) -> MassUniformityResult:
    """Ph. Eur. 2.9.5 uniformity of mass of 20 single-dose units.

    Parameters
    ----------
    masses_mg
        The 20 individual masses in mg: tablets, or capsules (gross masses when
        ``shell_mg`` is given, content masses otherwise).
    form
        ``"tablet"`` (uncoated and film-coated) or ``"capsule"``.
    shell_mg
        Capsules only: the emptied shell mass in mg, one value for all units or
        one per unit. Content mass = gross - shell.
    policy
        ``"strict"`` (default): exact arithmetic, band from the exact average,
        a unit counts only if |deviation| is strictly greater than the limit.
        ``"gn_rounding"``: the General-Notices reading -- average rounded
        half-up to whole mg for the band, each |deviation| rounded half-up to
        the decimals of the tabulated limit before comparing.

    Returns
    -------
    MassUniformityResult
        PASS iff not more than 2 units deviate by more than the limit and none
        by more than twice the limit.

    Raises
    ------
    UniformityInputError
        Not exactly 20 units, a mass that is not a positive number, a shell
        mass for tablets, a capsule with content <= 0, or an unknown form/policy.
    """
    if policy not in POLICIES:
        raise UniformityInputError(f"policy: {policy!r} is not one of {', '.join(POLICIES)}")
    masses = _content_masses(masses_mg, form, shell_mg)
    exact = as_fractions(masses)
    average = sum(exact, Fraction(0)) / len(exact)
    average_mg = fraction_to_decimal(average)  # exact: a mean of 20 decimals terminates
    band_average_mg = average_mg
    if policy == "gn_rounding":
        band_average_mg = half_up(average, PH_EUR.gn_average_band_dp)
    limit = _band_limit_pct(form, band_average_mg)
    twice = limit * 2
    deviations = [(m - average) * 100 / average for m in exact]
    outside, outside_twice = _units_beyond(deviations, limit, policy)
    n1, n2 = len(outside), len(outside_twice)
    passed = (
        n1 <= PH_EUR.mass_max_units_outside_limit
        and n2 <= PH_EUR.mass_max_units_outside_twice_limit
    )
    reason = _reason_295(n1, n2, limit, twice)
    if policy == "gn_rounding":
        reason += (
            f" [policy gn_rounding: band from the average rounded to {band_average_mg} mg, "
            f"|deviation| rounded to {_decimals_of(limit)} dp]"
        )
    return MassUniformityResult(
        form=form,
        policy=policy,
        unit_masses_mg=masses,
        average_mass_mg=average_mg,
        band_average_mg=band_average_mg,
        limit_pct=limit,
        twice_limit_pct=twice,
        deviations_pct=tuple(half_up(d, 6) for d in deviations),
        n_outside_limit=n1,
        n_outside_twice_limit=n2,
        max_abs_deviation_pct=fraction_to_decimal(max(abs(d) for d in deviations)),
        result="PASS" if passed else "FAIL",
        reason=reason,
        units_outside_limit=outside,
        units_outside_twice_limit=outside_twice,
    )

"""Balance performance checks (Ph. Eur. 2.1.7, USP <41>) and the minimum weight, exactly.

The rules (stated with their sources in ``docs/balances.md``):

* **Repeatability**: at least 10 replicate weighings of one test weight; ``s`` is
  their sample standard deviation, replaced by ``0.41 · d`` (d = scale interval)
  when it is smaller. The balance is fit for a net mass ``m`` when
  ``2 · s / m ≤ 0.10 %``. Hence the **minimum weight** ``m_min = 2000 · s``
  (``820 · d`` at the floor): below it, the balance's random error alone is more
  than 0.10 % of what is weighed.
* **Accuracy (sensitivity)**: the reading of a certified test weight (between 5 %
  and 100 % of the capacity) deviates from its conventional mass by at most
  0.05 % (Ph. Eur. 2.1.7) or 0.10 % (USP <41>); the weight's uncertainty is at
  most one third of that limit.

Every verdict is decided on exact rationals (readings are parsed as
:class:`~decimal.Decimal`, the variance is a :class:`~fractions.Fraction`, and
``2·s/m ≤ 0.10 %`` is compared as ``4·s² ≤ (0.001·m)²``): no square root, no
float, decides a verdict. Displayed values (s, deviation, m_min) are rounded for
display only; the stored minimum weight is rounded *up* (never lets a smaller
mass pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from printpharm.core.units import within_tolerance
from printpharm.errors import InputError

__all__ = [
    "MIN_REPLICATES",
    "RULES",
    "AccuracyResult",
    "BalanceRule",
    "RepeatabilityResult",
    "accuracy",
    "fit_for_mass",
    "repeatability",
    "scale_interval",
    "weight_suitability",
]

#: Fewest replicate weighings of the repeatability test (both chapters: "at least 10").
MIN_REPLICATES = 10
#: Repeatability limit: 2·s/m ≤ 0.10 % (both chapters).
REPEATABILITY_LIMIT_PCT = Decimal("0.10")
#: Floor of s as a multiple of the scale interval d (both chapters).
SD_FLOOR_FACTOR = Decimal("0.41")


@dataclass(frozen=True)
class BalanceRule:
    """Which chapter's accuracy limit applies: its name and limit in % of the test weight."""

    key: str
    chapter: str
    accuracy_limit_pct: Decimal


#: The accuracy limits by chapter (site setting ``balance.check_rule``).
RULES: dict[str, BalanceRule] = {
    "ph_eur": BalanceRule("ph_eur", "Ph. Eur. 2.1.7", Decimal("0.05")),
    "usp": BalanceRule("usp", "USP <41>", Decimal("0.10")),
}


@dataclass(frozen=True)
class RepeatabilityResult:
    """Repeatability of ``n`` readings (grams).

    ``s_g`` is the measured sample standard deviation (display, 10 significant
    digits), ``floored`` says whether ``0.41·d`` replaced it; ``minimum_weight_mg``
    is ``2000 · s_used`` rounded up to 0.0001 mg; ``passed`` is the exact verdict
    ``2·s_used/nominal ≤ 0.10 %`` for the test weight's nominal mass.
    """

    n: int
    mean_g: Decimal
    s_g: Decimal
    d_g: Decimal
    floored: bool
    s_used_g: Decimal
    minimum_weight_mg: Decimal
    passed: bool
    reason: str


@dataclass(frozen=True)
class AccuracyResult:
    """Deviation of the mean reading from the conventional mass, and the verdict."""

    mean_g: Decimal
    conventional_mass_g: Decimal
    deviation_pct: Decimal
    limit_pct: Decimal
    passed: bool
    reason: str


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def scale_interval(readings_g: Sequence[Decimal]) -> Decimal:
    """The scale interval d (g) the readings show: one unit of their last decimal place.

    Raises
    ------
    InputError
        No readings.
    """
    if not readings_g:
        raise InputError("no balance readings")
    return Decimal(1).scaleb(-max(_decimals(r) for r in readings_g))


def _variance(readings: Sequence[Decimal]) -> tuple[Fraction, Fraction]:
    values = [Fraction(r) for r in readings]
    mean = sum(values, Fraction(0)) / len(values)
    return mean, sum(((v - mean) ** 2 for v in values), Fraction(0)) / (len(values) - 1)


def _sqrt(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 28
        return (Decimal(value.numerator) / Decimal(value.denominator)).sqrt()


def repeatability(
    readings_g: Sequence[Decimal], nominal_g: Decimal, d_g: Decimal | None = None
) -> RepeatabilityResult:
    """Repeatability and minimum weight from replicate readings of one test weight.

    Parameters
    ----------
    readings_g
        The stable readings in grams, as the balance reported them (exact decimals).
    nominal_g
        Nominal mass of the test weight in grams (the ``m`` of the repeatability test).
    d_g
        Scale interval in grams (default: read from the readings' decimals).

    Raises
    ------
    InputError
        Fewer than :data:`MIN_REPLICATES` readings, or a non-positive nominal mass.
    """
    n = len(readings_g)
    if n < MIN_REPLICATES:
        raise InputError(
            f"repeatability needs at least {MIN_REPLICATES} replicate weighings, got {n}"
        )
    if nominal_g <= 0:
        raise InputError(f"test weight nominal mass {nominal_g} g must be positive")
    d = d_g if d_g is not None else scale_interval(readings_g)
    mean, variance = _variance(readings_g)
    floor = Fraction(SD_FLOOR_FACTOR * d)
    floored = variance < floor**2
    used = floor**2 if floored else variance
    # 2·s/m ≤ 0.10 %  ⇔  4·s² ≤ (m/1000)²
    limit = Fraction(nominal_g) * Fraction(REPEATABILITY_LIMIT_PCT) / 100
    passed = 4 * used <= limit**2
    s_used = _sqrt(used)
    m_min_mg = (2000 * s_used * 1000).quantize(Decimal("0.0001"), rounding=ROUND_CEILING)
    ratio_pct = _sig(2 * s_used / nominal_g * 100, 3)
    s_text = "0.41·d" if floored else "s"
    reason = (
        f"{n} readings, s = {_sig(_sqrt(variance)):f} g, d = {d:f} g; "
        f"2·{s_text}/m = {ratio_pct:f} % "
        f"{'≤' if passed else '>'} {REPEATABILITY_LIMIT_PCT} % for m = {nominal_g} g; "
        f"minimum weight 2000·{s_text} = {m_min_mg} mg"
    )
    return RepeatabilityResult(
        n, _decimal(mean), _sig(_sqrt(variance)), d, floored, s_used, m_min_mg, passed, reason
    )


def accuracy(
    readings_g: Sequence[Decimal], conventional_mass_g: Decimal, rule: BalanceRule
) -> AccuracyResult:
    """The mean reading's deviation from the weight's conventional mass, against the limit.

    The verdict is exact: ``|mean − m_c| · 100 ≤ limit · m_c``.

    Raises
    ------
    InputError
        No readings or a non-positive conventional mass.
    """
    if not readings_g:
        raise InputError("no balance readings")
    if conventional_mass_g <= 0:
        raise InputError(f"conventional mass {conventional_mass_g} g must be positive")
    mean = sum((Fraction(r) for r in readings_g), Fraction(0)) / len(readings_g)
    mc = Fraction(conventional_mass_g)
    passed = within_tolerance(mean, mc, Fraction(rule.accuracy_limit_pct))
    deviation = _decimal((mean - mc) * 100 / mc).quantize(Decimal("0.00001"), ROUND_HALF_UP)
    reason = (
        f"mean {_decimal(mean).quantize(Decimal('0.000001'), ROUND_HALF_UP)} g vs conventional "
        f"mass {conventional_mass_g} g: {deviation:+} % {'within' if passed else 'OUTSIDE'} "
        f"±{rule.accuracy_limit_pct} % ({rule.chapter})"
    )
    return AccuracyResult(
        _decimal(mean), conventional_mass_g, deviation, rule.accuracy_limit_pct, passed, reason
    )


def weight_suitability(
    nominal_g: Decimal,
    uncertainty_mg: Decimal,
    rule: BalanceRule,
    capacity_g: Decimal | None,
) -> str | None:
    """Why a test weight does not suit the accuracy test, or ``None`` when it does.

    The weight must lie between 5 % and 100 % of the capacity (when known) and its
    uncertainty must be at most one third of the accuracy limit applied to it.
    """
    if capacity_g is not None and not capacity_g * Decimal("0.05") <= nominal_g <= capacity_g:
        return (
            f"a {nominal_g} g test weight is outside 5–100 % of the balance's capacity "
            f"{capacity_g} g ({rule.chapter})"
        )
    allowed_mg = nominal_g * 1000 * rule.accuracy_limit_pct / 100 / 3
    if uncertainty_mg > allowed_mg:
        return (
            f"the weight's uncertainty {uncertainty_mg} mg is more than one third of the "
            f"±{rule.accuracy_limit_pct} % limit ({_sig(allowed_mg, 4):f} mg) — use a finer class"
        )
    return None


def fit_for_mass(minimum_weight_mg: Decimal, mass_mg: Decimal) -> bool:
    """Whether a net mass (mg) is at or above the balance's minimum weight (mg)."""
    return mass_mg >= minimum_weight_mg


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 28
        return Decimal(value.numerator) / Decimal(value.denominator)


def _sig(value: Decimal, digits: int = 10) -> Decimal:
    """``value`` rounded to ``digits`` significant digits (display only), without exponent."""
    if value == 0:
        return Decimal(0)
    exponent = value.adjusted() - digits + 1
    return value.quantize(Decimal(1).scaleb(exponent), ROUND_HALF_UP)

"""Ph. Eur. 2.9.40 / USP <905> acceptance value (private; use printpharm.core.uniformity).

AV = |M - X| + k s with X the mean, s the sample SD (n - 1), k = 2.4 (n = 10)
or 2.0 (n = 30), M the reference value (case 1 T <= 101.5, case 2 T > 101.5).
Means, M and the L2 range are exact rationals; s is a Decimal square root at
60 digits, and every decision on AV (rounded half-up to 1 dp, compared with
L1 = 15.0) is made exactly by comparing (k s)^2 with a rational, so a value
such as AV = 15.05 is never misjudged by a rounding error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Literal

from printpharm.core._uniformity_input import (
    PRECISION,
    Number,
    fraction_to_decimal,
    half_up,
    parse_number,
    parse_values,
)
from printpharm.core.tolerances import PH_EUR
from printpharm.errors import UniformityInputError

__all__ = [
    "FINAL_VERDICTS",
    "AcceptanceValueResult",
    "AvStage",
    "TestApplicability",
    "acceptance_value",
    "acceptance_value_mass_variation",
    "applicable_uniformity_test",
]

#: Possible ``final`` verdicts of :func:`acceptance_value`.
FINAL_VERDICTS: tuple[str, ...] = ("PASS_STAGE1", "STAGE2_REQUIRED", "PASS_STAGE2", "FAIL")

_CU_LABEL = "Ph. Eur. 2.9.40 / USP <905> content uniformity"
_MV_LABEL = "Ph. Eur. 2.9.40 / USP <905> mass variation"
_ESTIMATE = "estimate, not 2.9.40 compliance"


@dataclass(frozen=True)
class TestApplicability:
    """Which 2.9.40 test applies to a unit, and why (Table 2.9.40.-1)."""

    test: str  # "mass variation" or "content uniformity"
    mass_variation_allowed: bool
    reason: str


@dataclass(frozen=True)
class AvStage:
    """One stage of the acceptance value; contents and limits in % of label claim.

    ``av`` is unrounded (60 digits); ``av_2dp`` and ``av_reported_1dp`` are
    rounded half-up exactly. ``av_le_l1`` is the decision (reported AV <= L1);
    ``av_le_l1_unrounded`` is given for comparison. The L2 range is reported at
    both stages but only decides at stage 2; bounds are inclusive.
    """

    n: int
    k: Decimal
    contents_pct: tuple[Decimal, ...]
    mean: Decimal
    s: Decimal
    m: Decimal
    av: Decimal
    av_2dp: Decimal
    av_reported_1dp: Decimal
    av_le_l1: bool
    av_le_l1_unrounded: bool
    l2_low: Decimal
    l2_high: Decimal
    units_outside_l2: tuple[Decimal, ...]

    def as_vector_dict(self) -> dict[str, object]:
        """The stage with the keys and number formats of the shared vector files."""
        return {
            "valid": True,
            "n": self.n,
            "k": self.k,
            "mean": str(_six(self.mean)),
            "s": str(_six(self.s)),
            "m": str(_six(self.m)),
            "av_unrounded": str(half_up(Fraction(self.av), 10)),
            "av_2dp": str(self.av_2dp),
            "av_reported_1dp": str(self.av_reported_1dp),
            "av_le_l1_reported": self.av_le_l1,
            "av_le_l1_unrounded": self.av_le_l1_unrounded,
            "l2_low": str(_six(self.l2_low)),
            "l2_high": str(_six(self.l2_high)),
            "units_outside_l2": [str(x) for x in self.units_outside_l2],
        }


@dataclass(frozen=True)
class AcceptanceValueResult:
    """Outcome of 2.9.40 / <905>: stage 1, stage 2 when 30 units were given, and the verdict.

    ``final`` is one of :data:`FINAL_VERDICTS`. ``is_estimate`` is true for a
    mass-variation evaluation that may not claim 2.9.40 compliance (unit below
    25 mg / 25 % drug, or A not an assay); ``label`` says which.
    """

    method: str  # "CU" or "MV"
    target_pct: Decimal
    l1: Decimal
    l2: Decimal
    stage1: AvStage
    stage2: AvStage | None
    final: str
    reason: str
    label: str
    is_estimate: bool = False
    assay_pct: Decimal | None = None
    masses_mg: tuple[Decimal, ...] = ()
    stage1_mean_mass_mg: Decimal | None = None
    stage2_mean_mass_mg: Decimal | None = None
    applicability: TestApplicability | None = None

    def as_vector_dict(self) -> dict[str, object]:
        """The result with the keys and number formats of the shared vector files."""
        out: dict[str, object] = {
            "method": self.method,
            "label": self.label,
            "is_estimate": self.is_estimate,
            "t": self.target_pct,
            "l1": self.l1,
            "l2": self.l2,
        }
        if self.assay_pct is not None:
            out["assay_a_pct"] = self.assay_pct
            out["stage1_mean_mass_mg"] = str(_six(_required(self.stage1_mean_mass_mg)))
        if self.applicability is not None:
            out["applicability"] = self.applicability.reason
        out["stage1"] = self.stage1.as_vector_dict()
        if self.stage2 is not None:
            out["stage2"] = self.stage2.as_vector_dict()
        out["final"] = self.final
        out["reason"] = self.reason
        return out


def _required(value: Decimal | None) -> Decimal:
    assert value is not None
    return value


def _six(value: Decimal) -> Decimal:
    return half_up(Fraction(value), 6)


def _round_av(approx: Decimal, dp: int, cmp: Callable[[Fraction], int]) -> Decimal:
    """Half-up rounding of AV to ``dp`` decimals, checked exactly with ``cmp``."""
    step = Decimal(1).scaleb(-dp)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        q = approx.quantize(step, rounding=ROUND_HALF_UP)
        half = Fraction(5, 10 ** (dp + 1))
        if cmp(Fraction(q) - half) < 0:  # true AV below the lower edge of q's interval
            q -= step
        elif cmp(Fraction(q) + half) >= 0:  # true AV at or above the upper edge
            q += step
    return q


def _reference_value(mean: Fraction, target: Fraction) -> Fraction:
    low = Fraction(PH_EUR.av_m_low_pct)
    high = Fraction(PH_EUR.av_m_high_pct)
    upper = high if target <= high else target  # case 1 / case 2
    if mean < low:
        return low
    if mean > upper:
        return upper
    return mean


def _stage(display: Sequence[Decimal], xs: Sequence[Fraction], target: Fraction) -> AvStage:
    n = len(xs)
    k = PH_EUR.av_stage1_k if n == PH_EUR.av_stage1_n else PH_EUR.av_stage2_k
    mean = sum(xs, Fraction(0)) / n
    m = _reference_value(mean, target)
    variance = sum(((x - mean) ** 2 for x in xs), Fraction(0)) / (n - 1)
    diff = abs(m - mean)
    k_sq_var = Fraction(k) ** 2 * variance

    def cmp(t: Fraction) -> int:
        """Sign of AV - t, exactly: AV >= t iff (k s)^2 >= (t - |M - X|)^2 when t > |M - X|."""
        r = t - diff
        if r < 0:
            return 1
        return (k_sq_var > r * r) - (k_sq_var < r * r)

    with localcontext() as ctx:
        ctx.prec = PRECISION
        s = fraction_to_decimal(variance).sqrt()
        av = fraction_to_decimal(diff) + k * s
    l1 = PH_EUR.av_l1
    l2 = Fraction(PH_EUR.av_l2_pct) / 100
    low, high = m * (1 - l2), m * (1 + l2)
    reported = _round_av(av, PH_EUR.av_reported_dp, cmp)
    return AvStage(
        n=n,
        k=k,
        contents_pct=tuple(display),
        mean=fraction_to_decimal(mean),
        s=s,
        m=fraction_to_decimal(m),
        av=av,
        av_2dp=_round_av(av, 2, cmp),
        av_reported_1dp=reported,
        av_le_l1=reported <= l1,
        av_le_l1_unrounded=cmp(Fraction(l1)) <= 0,
        l2_low=fraction_to_decimal(low),
        l2_high=fraction_to_decimal(high),
        units_outside_l2=tuple(d for d, x in zip(display, xs, strict=True) if x < low or x > high),
    )


def _decide(stage1: AvStage, stage2: AvStage | None) -> tuple[str, str]:
    l1 = PH_EUR.av_l1
    n1 = PH_EUR.av_stage1_n
    if stage1.av_le_l1:
        reason = f"AV({n1}) = {stage1.av_reported_1dp} <= L1 {l1}"
        if stage2 is not None:
            reason += " (stage 2 not required; the 30-unit figures are for information)"
        return "PASS_STAGE1", reason
    if stage2 is None:
        return "STAGE2_REQUIRED", f"AV({n1}) = {stage1.av_reported_1dp} > {l1}; test 20 more units"
    text = f"AV({stage2.n}) = {stage2.av_reported_1dp} {'<=' if stage2.av_le_l1 else '>'} {l1}; "
    outside = stage2.units_outside_l2
    if outside:
        text += (
            f"{len(outside)} unit(s) outside [{_six(stage2.l2_low)}, {_six(stage2.l2_high)}] "
            f"(L2 range around M = {_six(stage2.m)})"
        )
    else:
        text += f"all {stage2.n} units within the L2 range"
    return ("PASS_STAGE2" if stage2.av_le_l1 and not outside else "FAIL"), text


def _check_n(n: int) -> None:
    allowed = (PH_EUR.av_stage1_n, PH_EUR.av_stage2_n)
    if n not in allowed:
        raise UniformityInputError(
            f"2.9.40 acceptance value: n must be {allowed[0]} or {allowed[1]}, got {n} "
            f"(stage 1 = {allowed[0]} units; stage 2 = those {allowed[0]} + 20 more)"
        )


def _target(target_pct: Number) -> Fraction:
    target = parse_number(target_pct, "target_pct")
    if target <= 0:
        raise UniformityInputError(f"target_pct: {target_pct!r} must be greater than 0")
    return Fraction(target)


def _result(
    method: str, target: Fraction, stage1: AvStage, stage2: AvStage | None, label: str
) -> AcceptanceValueResult:
    """The verdict on ``stage1`` (and ``stage2``) with the 2.9.40 limits, for either method."""
    final, reason = _decide(stage1, stage2)
    return AcceptanceValueResult(
        method=method,
        target_pct=fraction_to_decimal(target),
        l1=PH_EUR.av_l1,
        l2=PH_EUR.av_l2_pct,
        stage1=stage1,
        stage2=stage2,
        final=final,
        reason=reason,
        label=label,
    )


def acceptance_value(
    contents_pct: Sequence[Number], target_pct: Number = 100
) -> AcceptanceValueResult:
    """Ph. Eur. 2.9.40 / USP <905> content uniformity acceptance value.

    Parameters
    ----------
    contents_pct
        Assayed contents of individual units in % of label claim: 10 values
        (stage 1) or 30 (stage 2; the first 10 are the stage-1 units).
    target_pct
        T, the target content in % of label claim (Ph. Eur. default 100).

    Returns
    -------
    AcceptanceValueResult
        ``final`` PASS_STAGE1 (AV(10) <= 15.0), STAGE2_REQUIRED (10 values and
        AV(10) > 15.0), PASS_STAGE2 (AV(30) <= 15.0 and all 30 units within
        0.75 M .. 1.25 M) or FAIL.

    Raises
    ------
    UniformityInputError
        A count other than 10 or 30, a content that is not a number or is
        negative, or a target <= 0.
    """
    contents = parse_values(contents_pct, "contents_pct", positive=False)
    _check_n(len(contents))
    target = _target(target_pct)
    xs = tuple(Fraction(c) for c in contents)
    n1 = PH_EUR.av_stage1_n
    stage1 = _stage(contents[:n1], xs[:n1], target)
    stage2 = _stage(contents, xs, target) if len(xs) == PH_EUR.av_stage2_n else None
    return _result("CU", target, stage1, stage2, _CU_LABEL)


def applicable_uniformity_test(
    unit_content_mg: Number,
    drug_fraction: Number,
    form: Literal["tablet", "capsule", "other"] = "tablet",
) -> TestApplicability:
    """Whether 2.9.40 mass variation may replace content uniformity, and why.

    Parameters
    ----------
    unit_content_mg
        Drug substance per unit in mg.
    drug_fraction
        Drug substance as a mass fraction of the unit (hard capsule: of the
        contents), 0 < f <= 1 (0.25 = 25 % w/w).
    form
        ``"tablet"`` (uncoated or film-coated), ``"capsule"`` (hard), or
        ``"other"`` (other coatings and forms: content uniformity).

    Raises
    ------
    UniformityInputError
        A content <= 0, a fraction outside (0, 1], or an unknown form.
    """
    content = parse_number(unit_content_mg, "unit_content_mg")
    fraction = parse_number(drug_fraction, "drug_fraction")
    if content <= 0:
        raise UniformityInputError(f"unit_content_mg: {unit_content_mg!r} must be > 0")
    if not 0 < fraction <= 1:
        raise UniformityInputError(
            f"drug_fraction: {drug_fraction!r} must be a mass fraction in (0, 1] (0.25 = 25 %)"
        )
    if form not in ("tablet", "capsule", "other"):
        raise UniformityInputError(f"form: {form!r} is not 'tablet', 'capsule' or 'other'")
    min_mg, min_fraction = PH_EUR.mv_min_unit_content_mg, PH_EUR.mv_min_drug_fraction
    facts = f"{content} mg drug per unit, {fraction * 100} % w/w"
    if form == "other":
        return TestApplicability(
            "content uniformity", False, f"{facts}: this form needs content uniformity"
        )
    if content >= min_mg and fraction >= min_fraction:
        return TestApplicability(
            "mass variation", True, f"{facts}: >= {min_mg} mg and >= 25 %, mass variation allowed"
        )
    return TestApplicability(
        "content uniformity",
        False,
        f"{facts}: mass variation needs >= {min_mg} mg and >= 25 % drug; "
        "assay individual units (content uniformity)",
    )


def _mv_contents(
    masses: Sequence[Decimal], assay: Fraction
) -> tuple[tuple[Decimal, ...], tuple[Fraction, ...]]:
    """x_i = w_i * A / W with W the mean of exactly these masses; display at 12 dp."""
    ws = [Fraction(w) for w in masses]
    total = sum(ws, Fraction(0))
    xs = tuple(w * assay * len(ws) / total for w in ws)
    return tuple(half_up(x, 12) for x in xs), xs


def _mean_mg(masses: Sequence[Decimal]) -> Decimal:
    return fraction_to_decimal(sum(map(Fraction, masses), Fraction(0)) / len(masses))


def _mv_guard(
    unit_content_mg: Number | None, drug_fraction: Number | None
) -> TestApplicability | None:
    if (unit_content_mg is None) != (drug_fraction is None):
        raise UniformityInputError(
            "unit_content_mg and drug_fraction: give both (or neither) for the 25 mg / 25 % guard"
        )
    if unit_content_mg is None or drug_fraction is None:
        return None
    return applicable_uniformity_test(unit_content_mg, drug_fraction)


def _mv_label(assay_is_measured: bool, applicability: TestApplicability | None) -> tuple[str, bool]:
    if not assay_is_measured:
        return f"{_ESTIMATE}: A is not an assay result (nominal content)", True
    if applicability is None:
        return (
            f"{_MV_LABEL} (applicability not checked: give unit_content_mg and drug_fraction)",
            False,
        )
    if not applicability.mass_variation_allowed:
        return f"{_ESTIMATE}: {applicability.reason}", True
    return _MV_LABEL, False


def acceptance_value_mass_variation(
    masses_mg: Sequence[Number],
    assay_pct: Number,
    target_pct: Number = 100,
    *,
    unit_content_mg: Number | None = None,
    drug_fraction: Number | None = None,
    assay_is_measured: bool = True,
) -> AcceptanceValueResult:
    """Ph. Eur. 2.9.40 / USP <905> acceptance value by mass variation.

    Estimated contents x_i = w_i * A / W, with W the mean mass of the units
    tested: the first 10 at stage 1, all 30 (recomputed) at stage 2.

    Parameters
    ----------
    masses_mg
        10 or 30 individual masses in mg (hard capsules: contents).
    assay_pct
        A, the assay of a representative sample in % of label claim.
    target_pct
        T in % of label claim (default 100).
    unit_content_mg, drug_fraction
        Optional, together: drug per unit in mg and as a mass fraction. When
        given and below 25 mg / 25 %, the result is labelled "estimate, not
        2.9.40 compliance".
    assay_is_measured
        False when A is a nominal (theoretical) content rather than an assay:
        the result is then labelled an estimate.

    Raises
    ------
    UniformityInputError
        A count other than 10 or 30, a mass or assay that is not a positive
        number, a target <= 0, or only one of ``unit_content_mg``/``drug_fraction``.
    """
    masses = parse_values(masses_mg, "masses_mg")
    _check_n(len(masses))
    assay_dec = parse_number(assay_pct, "assay_pct")
    if assay_dec <= 0:
        raise UniformityInputError(f"assay_pct: {assay_pct!r} must be greater than 0")
    target = _target(target_pct)
    applicability = _mv_guard(unit_content_mg, drug_fraction)
    assay = Fraction(assay_dec)
    n1 = PH_EUR.av_stage1_n
    stage1 = _stage(*_mv_contents(masses[:n1], assay), target)
    stage2 = None
    if len(masses) == PH_EUR.av_stage2_n:
        stage2 = _stage(*_mv_contents(masses, assay), target)
    label, is_estimate = _mv_label(assay_is_measured, applicability)
    return replace(
        _result("MV", target, stage1, stage2, label),
        is_estimate=is_estimate,
        assay_pct=assay_dec,
        masses_mg=masses,
        stage1_mean_mass_mg=_mean_mg(masses[:n1]),
        stage2_mean_mass_mg=_mean_mg(masses) if stage2 is not None else None,
        applicability=applicability,
    )

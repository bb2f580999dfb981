"""Dose from a prescription rule, rounding to a dose step, daily splits, ink arithmetic.

All arithmetic is exact Decimal in a local context of 34 significant digits.
Policy (reference ``bsa_dosing.md`` §2, vectors ``dose_vectors.json``):

1. dose = amount × basis (1, weight in kg, or BSA in m² from the *named*
   formula, unrounded unless ``bsa_round_dp`` is given; BSA rounding is half-up);
   a weight-band rule looks the dose up instead (edges as given, "≤ 20 kg").
2. the cap is applied **before** rounding: capped = min(calculated, cap).
3. the capped dose is rounded half-up to a multiple of ``dose_step_mg``.
4. the rounding deviation (final − capped) / capped is within tolerance when
   its magnitude is ≤ ``tolerance_pct`` (exactly 10 % is within).
5. a daily dose may be split into administrations (equal, or explicit
   percentages). Each administration is rounded to the step on its own, from
   the capped daily dose, because each is a printed unit; the delivered daily
   total (their sum) is recorded and a difference from the rounded daily dose
   is flagged, never hidden.

The body-surface-area formulas live in :mod:`printpharm.core.bsa` (their names are
re-exported here, where the dose commands read them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from printpharm.core.bsa import (
    BSA_FORMULA_LABELS,
    BSA_FORMULAS,
    WEIGHT_ONLY_FORMULAS,
    body_surface_area,
    normalize_formula,
)
from printpharm.core.prescription import (
    DEFAULT_LIMITS,
    DoseFlag,
    DoseLimits,
    DoseRule,
    WeightBand,
    check_patient,
    select_band,
)
from printpharm.core.units import (
    DECIMAL_PRECISION,
    DecimalLike,
    check_limit,
    check_positive,
    deviation_pct,
    drug_load_fraction,
    format_decimal,
    ink_mass_mg,
    ink_volume_mm3,
    quantize_half_up,
    quantize_significant,
    round_to_step,
    within_tolerance,
)
from printpharm.errors import DoseInputError

__all__ = [
    "BSA_FORMULAS",
    "DEFAULT_LIMITS",
    "BSA_FORMULA_LABELS",
    "DEFAULT_TOLERANCE_PCT",
    "WEIGHT_ONLY_FORMULAS",
    "DailySplit",
    "DoseFlag",
    "DoseLimits",
    "DoseResult",
    "DoseRule",
    "WeightBand",
    "body_surface_area",
    "compute_dose",
    "drug_load_fraction",
    "ink_mass_mg",
    "ink_volume_mm3",
    "normalize_formula",
    "round_to_step",
]

#: HOPA position statement (Fahrenbruch et al. 2018): rounding within 10 % is acceptable.
DEFAULT_TOLERANCE_PCT = Decimal(10)

_D = Decimal


@dataclass(frozen=True)
class DailySplit:
    """How a daily dose was divided into administrations (each a printed unit).

    ``shares_pct`` are the fractions of the daily dose (sum 100);
    ``unrounded_doses_mg`` = capped daily dose × share; ``doses_mg`` are those
    rounded half-up to the dose step; ``delivered_daily_mg`` is their sum and
    ``mismatch_mg`` = delivered − rounded daily dose (0 when they agree).
    """

    shares_pct: tuple[Decimal, ...]
    unrounded_doses_mg: tuple[Decimal, ...]
    doses_mg: tuple[Decimal, ...]
    deviations_pct: tuple[Decimal, ...]
    delivered_daily_mg: Decimal
    delivered_deviation_pct: Decimal
    mismatch_mg: Decimal
    within_rounding_tolerance: bool

    @property
    def doses_per_day(self) -> int:
        """Number of administrations per day."""
        return len(self.doses_mg)

    @property
    def sum_equals_rounded_daily_dose(self) -> bool:
        """Whether the delivered daily total equals the rounded daily dose."""
        return self.mismatch_mg == 0


@dataclass(frozen=True)
class DoseResult:
    """Everything a batch record must show about how a dose was reached (mg, m², kg, cm).

    ``final_dose_mg`` is the dose per administration, or the rounded daily
    dose when ``split`` is set (then ``split.doses_mg`` are the administrations).
    """

    rule: DoseRule
    amount: Decimal
    amount_unit: str
    height_cm: Decimal | None
    weight_kg: Decimal | None
    formula: str | None
    bsa_m2: Decimal | None
    bsa_round_dp: int | None
    bsa_used_m2: Decimal | None
    band: WeightBand | None
    calculated_dose_mg: Decimal
    cap_mg: Decimal | None
    capped: bool
    capped_dose_mg: Decimal
    dose_step_mg: Decimal | None
    final_dose_mg: Decimal
    rounding_deviation_pct: Decimal
    tolerance_pct: Decimal
    within_rounding_tolerance: bool
    split: DailySplit | None
    flags: tuple[DoseFlag, ...]
    warnings: tuple[str, ...]

    @property
    def unit_doses_mg(self) -> tuple[Decimal, ...]:
        """The dose of each printed unit: the split administrations, or the final dose."""
        return self.split.doses_mg if self.split is not None else (self.final_dose_mg,)


@dataclass(frozen=True)
class _Basis:
    amount: Decimal
    calculated_mg: Decimal
    formula: str | None = None
    bsa_m2: Decimal | None = None
    bsa_used_m2: Decimal | None = None
    bsa_round_dp: int | None = None
    band: WeightBand | None = None


def _basis(
    rule: DoseRule,
    amount: DecimalLike | None,
    h: Decimal | None,
    w: Decimal | None,
    formula: str | None,
    bands: Sequence[WeightBand],
    bsa_round_dp: int | None,
    limits: DoseLimits,
) -> _Basis:
    if rule is not DoseRule.PER_M2 and (formula is not None or bsa_round_dp is not None):
        raise DoseInputError(
            f"formula and bsa_round_dp apply only to rule per_m2, not {rule}", field="formula"
        )
    if rule is not DoseRule.WEIGHT_BAND and bands:
        raise DoseInputError(f"bands apply only to rule weight_band, not {rule}", field="bands")
    if rule is DoseRule.WEIGHT_BAND:
        if amount is not None:
            raise DoseInputError(
                "amount is not used by rule weight_band (the band gives the dose)", field="amount"
            )
        if w is None:
            raise DoseInputError("weight_kg is required by rule weight_band", field="weight_kg")
        band = select_band(bands, w)
        return _Basis(amount=band.dose_mg, calculated_mg=band.dose_mg, band=band)
    if amount is None:
        raise DoseInputError(
            f"amount is required by rule {rule} ({rule.amount_unit})", field="amount"
        )
    value = check_positive(amount, "amount", rule.amount_unit)
    if rule is DoseRule.FIXED:
        return _Basis(amount=value, calculated_mg=value)
    if rule is DoseRule.PER_KG:
        if w is None:
            raise DoseInputError("weight_kg is required by rule per_kg", field="weight_kg")
        return _Basis(amount=value, calculated_mg=value * w)
    name = normalize_formula(formula or "mosteller")
    if w is None or (h is None and name not in WEIGHT_ONLY_FORMULAS):
        raise DoseInputError(
            f"rule per_m2 with the {name} formula needs height_cm and weight_kg", field="height_cm"
        )
    bsa = body_surface_area(h, w, name, limits=limits)
    used, places = bsa, None
    if bsa_round_dp is not None:
        dp = check_limit(
            bsa_round_dp, "bsa_round_dp", "decimals", _D(1), _D(limits.max_bsa_round_dp)
        )
        if dp != dp.to_integral_value():
            raise DoseInputError(
                f"bsa_round_dp = {bsa_round_dp} is not a whole number", field="bsa_round_dp"
            )
        places = int(dp)
        used = quantize_half_up(bsa, places)
    return _Basis(value, value * used, name, bsa, used, places)


def _split_shares(
    doses_per_day: int | None, split_pct: Sequence[DecimalLike] | None, limits: DoseLimits
) -> list[Decimal] | None:
    """Relative weights of the administrations, or ``None`` for no split."""
    if doses_per_day is not None and split_pct is not None:
        raise DoseInputError("give doses_per_day or split_pct, not both", field="doses_per_day")
    if doses_per_day is not None:
        n = check_limit(doses_per_day, "doses_per_day", "", _D(1), _D(limits.max_doses_per_day))
        if n != n.to_integral_value():
            raise DoseInputError(
                f"doses_per_day = {doses_per_day} is not a whole number", field="doses_per_day"
            )
        return [_D(1)] * int(n)
    if split_pct is None:
        return None
    shares = [check_positive(s, "split_pct", "%") for s in split_pct]
    total = sum(shares, _D(0))
    if not shares or total != 100:
        text = ", ".join(format_decimal(s) for s in shares)
        raise DoseInputError(
            f"split_pct = [{text}] sums to {format_decimal(total)}, not 100", field="split_pct"
        )
    return shares


def _split(
    shares: list[Decimal], capped: Decimal, final: Decimal, step: Decimal, tolerance: Decimal
) -> DailySplit:
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        total = sum(shares, _D(0))
        unrounded = tuple(capped * s / total for s in shares)
        doses = tuple(round_to_step(d, step) for d in unrounded)
        delivered = sum(doses, _D(0))
        return DailySplit(
            shares_pct=tuple(s * 100 / total for s in shares),
            unrounded_doses_mg=unrounded,
            doses_mg=doses,
            deviations_pct=tuple(
                deviation_pct(d, u) for d, u in zip(doses, unrounded, strict=True)
            ),
            delivered_daily_mg=delivered,
            delivered_deviation_pct=deviation_pct(delivered, capped),
            mismatch_mg=delivered - final,
            within_rounding_tolerance=within_tolerance(delivered, capped, tolerance)
            and all(
                within_tolerance(d, u, tolerance) for d, u in zip(doses, unrounded, strict=True)
            ),
        )


def _split_flags(
    split: DailySplit, final: Decimal, flags: list[DoseFlag], notes: list[str]
) -> None:
    if split.mismatch_mg != 0:
        flags.append(DoseFlag.SPLIT_TOTAL_MISMATCH)
        notes.append(
            "administrations "
            + " + ".join(format_decimal(d) for d in split.doses_mg)
            + f" = {format_decimal(split.delivered_daily_mg)} mg/day differ from the rounded "
            f"daily dose {format_decimal(final)} mg by {format_decimal(split.mismatch_mg)} mg"
        )
    if not split.within_rounding_tolerance:
        flags.append(DoseFlag.SPLIT_ROUNDING_OUTSIDE_TOLERANCE)
        notes.append(
            "rounding an administration or the delivered daily total exceeds the tolerance"
        )


def _outcome_flags(
    rule: DoseRule,
    basis: _Basis,
    weight_kg: Decimal | None,
    capped: bool,
    final: Decimal,
    capped_mg: Decimal,
    within: bool,
    split: DailySplit | None,
) -> tuple[list[DoseFlag], list[str]]:
    flags: list[DoseFlag] = []
    notes: list[str] = []
    if basis.bsa_used_m2 is not None and basis.bsa_used_m2 != basis.bsa_m2:
        flags.append(DoseFlag.BSA_ROUNDED_BEFORE_DOSE)
        notes.append(f"BSA rounded to {format_decimal(basis.bsa_used_m2)} m² before dosing")
    if capped:
        flags.append(DoseFlag.CAPPED)
        notes.append(
            f"calculated dose {quantize_significant(basis.calculated_mg, 4)} mg "
            f"capped at {format_decimal(capped_mg)} mg"
        )
    flags.extend([DoseFlag.ROUNDED] if final != capped_mg else [])
    if final == 0:
        flags.append(DoseFlag.FINAL_DOSE_ZERO)
        notes.append("the dose rounds to 0 mg at this dose step; use a finer step")
    if not within:
        flags.append(DoseFlag.ROUNDING_OUTSIDE_TOLERANCE)
        notes.append(
            f"rounding {quantize_significant(capped_mg, 4)} mg to {format_decimal(final)} mg "
            "moves the dose by "
            f"{quantize_half_up(deviation_pct(final, capped_mg), 2)} %, outside the tolerance"
        )
    if split is not None:
        _split_flags(split, final, flags, notes)
    if rule is DoseRule.PER_M2 and weight_kg is not None and weight_kg < 10:
        flags.append(DoseFlag.BSA_DOSING_UNDER_10_KG)
        notes.append(
            f"BSA-based dosing at {format_decimal(weight_kg)} kg (< 10 kg) can overdose; "
            "check whether the protocol gives an mg/kg dose for infants"
        )
    return flags, notes


def compute_dose(
    rule: DoseRule | str,
    amount: DecimalLike | None = None,
    *,
    height_cm: DecimalLike | None = None,
    weight_kg: DecimalLike | None = None,
    formula: str | None = None,
    bands: Sequence[WeightBand] = (),
    bsa_round_dp: int | None = None,
    cap_mg: DecimalLike | None = None,
    dose_step_mg: DecimalLike | None = None,
    tolerance_pct: DecimalLike = DEFAULT_TOLERANCE_PCT,
    doses_per_day: int | None = None,
    split_pct: Sequence[DecimalLike] | None = None,
    limits: DoseLimits = DEFAULT_LIMITS,
) -> DoseResult:
    """Compute a dose from a prescription rule, cap it, round it, and split it.

    Parameters
    ----------
    rule
        ``fixed`` (amount in mg), ``per_kg`` (mg/kg), ``per_m2`` (mg/m²) or
        ``weight_band`` (dose from ``bands``; no amount).
    amount
        The prescribed amount in the rule's unit; ``None`` for a band rule.
    height_cm, weight_kg
        Patient height (cm) and weight (kg); checked whenever given.
    formula
        BSA formula for ``per_m2`` (default Mosteller); refused for other rules.
    bands
        Weight bands for ``weight_band``.
    bsa_round_dp
        Round the BSA half-up to this many decimals (1–6) before multiplying.
    cap_mg
        Maximum dose in mg (the daily dose when split), applied before rounding.
    dose_step_mg
        Round half-up to a multiple of this step (mg); ``None`` keeps the capped dose.
    tolerance_pct
        Largest acceptable |rounding deviation| in % (inclusive), default 10.
    doses_per_day, split_pct
        Treat the dose as a daily dose divided into equal administrations, or
        into the given percentages (sum 100); needs ``dose_step_mg``.
    limits
        Hard and soft input limits.

    Returns
    -------
    DoseResult

    Raises
    ------
    DoseInputError
        A missing or superfluous input for the rule, a value that is not a
        number, a value outside a limit, or an inconsistent band table or split.
    """
    rule = DoseRule.parse(rule)
    h, w, flags, notes = check_patient(height_cm, weight_kg, limits)
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        basis = _basis(rule, amount, h, w, formula, bands, bsa_round_dp, limits)
        cap = None if cap_mg is None else check_positive(cap_mg, "cap_mg", "mg")
        step = None if dose_step_mg is None else check_positive(dose_step_mg, "dose_step_mg", "mg")
        tol = check_limit(tolerance_pct, "tolerance_pct", "%", _D(0), limits.max_tolerance_pct)
        shares = _split_shares(doses_per_day, split_pct, limits)
        if shares is not None and step is None:
            raise DoseInputError(
                "a daily split needs dose_step_mg: each administration is a unit",
                field="dose_step_mg",
            )
        capped = cap is not None and basis.calculated_mg > cap
        capped_mg = cap if capped and cap is not None else basis.calculated_mg
        final = capped_mg if step is None else round_to_step(capped_mg, step)
        within = within_tolerance(final, capped_mg, tol)
        split = (
            None if shares is None or step is None else _split(shares, capped_mg, final, step, tol)
        )
    more_flags, more_notes = _outcome_flags(rule, basis, w, capped, final, capped_mg, within, split)
    return DoseResult(
        rule=rule, amount=basis.amount, amount_unit=rule.amount_unit, height_cm=h, weight_kg=w,
        formula=basis.formula, bsa_m2=basis.bsa_m2, bsa_round_dp=basis.bsa_round_dp,
        bsa_used_m2=basis.bsa_used_m2, band=basis.band, calculated_dose_mg=basis.calculated_mg,
        cap_mg=cap, capped=capped, capped_dose_mg=capped_mg, dose_step_mg=step,
        final_dose_mg=final, rounding_deviation_pct=deviation_pct(final, capped_mg),
        tolerance_pct=tol, within_rounding_tolerance=within, split=split,
        flags=(*flags, *more_flags), warnings=(*notes, *more_notes),
    )  # fmt: skip

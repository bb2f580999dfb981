"""What a prescription says about a dose, and the limits its inputs must respect.

:class:`DoseRule` names the basis (fixed mg, mg/kg, mg/m², weight band);
:class:`WeightBand` is one row of a band table; :class:`DoseLimits` holds the
hard input limits and the soft plausibility bounds (reference
``bsa_dosing.md`` §1.2); :func:`check_patient` applies them, raising for a
hard limit and returning named flags and sentences for a soft one.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from printpharm.core.units import (
    DECIMAL_PRECISION,
    check_limit,
    check_positive,
    format_decimal,
    quantize_half_up,
    to_decimal,
)
from printpharm.errors import DoseInputError

__all__ = [
    "DEFAULT_LIMITS",
    "DoseFlag",
    "DoseLimits",
    "DoseRule",
    "WeightBand",
    "check_patient",
    "select_band",
]


class DoseRule(enum.StrEnum):
    """The basis on which the prescribed amount becomes a dose."""

    FIXED = "fixed"
    PER_KG = "per_kg"
    PER_M2 = "per_m2"
    WEIGHT_BAND = "weight_band"

    @classmethod
    def parse(cls, text: str | DoseRule) -> DoseRule:
        """Accept ``fixed``, ``per_kg``/``per-kg``, ``per_m2``/``per-m2``, ``band``.

        Raises
        ------
        DoseInputError
            If ``text`` names no rule.
        """
        if isinstance(text, DoseRule):
            return text
        key = str(text).strip().lower().replace("-", "_")
        key = {"band": "weight_band", "mg": "fixed", "mg_kg": "per_kg", "mg_m2": "per_m2"}.get(
            key, key
        )
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise DoseInputError(f"rule = {text!r} is not one of: {names}", field="rule") from None

    @property
    def amount_unit(self) -> str:
        """Unit of the prescribed amount under this rule (``mg``, ``mg/kg``, ``mg/m2``)."""
        return {"fixed": "mg", "per_kg": "mg/kg", "per_m2": "mg/m2", "weight_band": "mg"}[
            self.value
        ]


class DoseFlag(enum.StrEnum):
    """Named facts about a dose calculation that a batch record must show."""

    CAPPED = "capped"
    BSA_ROUNDED_BEFORE_DOSE = "bsa_rounded_before_dose"
    ROUNDED = "rounded"
    ROUNDING_OUTSIDE_TOLERANCE = "rounding_outside_tolerance"
    FINAL_DOSE_ZERO = "final_dose_zero"
    SPLIT_TOTAL_MISMATCH = "split_total_mismatch"
    SPLIT_ROUNDING_OUTSIDE_TOLERANCE = "split_rounding_outside_tolerance"
    HEIGHT_UNUSUAL = "height_unusual"
    WEIGHT_UNUSUAL = "weight_unusual"
    BMI_UNUSUAL = "bmi_unusual"
    HEIGHT_UNIT_SLIP = "height_unit_slip"
    WEIGHT_UNIT_SLIP = "weight_unit_slip"
    BSA_DOSING_UNDER_10_KG = "bsa_dosing_under_10_kg"


@dataclass(frozen=True)
class DoseLimits:
    """Hard limits (refuse) and soft bounds (warn) for dose inputs; all inclusive.

    A value equal to a hard limit is accepted; a value strictly outside a soft
    bound is flagged. Defaults follow reference ``bsa_dosing.md`` §1.2, with
    the weight limit at 300 kg.
    """

    min_height_cm: Decimal = Decimal(30)
    max_height_cm: Decimal = Decimal(250)
    min_weight_kg: Decimal = Decimal("0.3")
    max_weight_kg: Decimal = Decimal(300)
    warn_min_height_cm: Decimal = Decimal(45)
    warn_max_height_cm: Decimal = Decimal(210)
    warn_min_weight_kg: Decimal = Decimal("2.5")
    warn_max_weight_kg: Decimal = Decimal(150)
    warn_min_bmi: Decimal = Decimal(10)
    warn_max_bmi: Decimal = Decimal(60)
    max_tolerance_pct: Decimal = Decimal(100)
    max_doses_per_day: int = 24
    max_bsa_round_dp: int = 6


DEFAULT_LIMITS = DoseLimits()


@dataclass(frozen=True)
class WeightBand:
    """One row of a weight-band table: weights up to ``upper_kg`` get ``dose_mg``.

    ``upper_kg=None`` means no upper edge (the last band). ``inclusive=True``
    reads "≤ upper_kg" (SmPC wording "≤ 20 kg"); ``False`` reads "< upper_kg".
    A last band written from below ("> 20 kg", "≥ 20 kg") keeps that edge in
    ``lower_kg`` (``lower_inclusive`` for "≥"), so it says what was written and
    holds no weight below it. Tables are read by
    :func:`printpharm.core.dose_rules.parse_band_table`.
    """

    upper_kg: Decimal | None
    dose_mg: Decimal
    inclusive: bool = True
    lower_kg: Decimal | None = None
    lower_inclusive: bool = False

    def contains_upper(self, weight_kg: Decimal) -> bool:
        """Whether ``weight_kg`` is at or below (or below) this band's upper edge."""
        if self.upper_kg is None:
            return True
        return weight_kg <= self.upper_kg if self.inclusive else weight_kg < self.upper_kg

    def contains(self, weight_kg: Decimal) -> bool:
        """Whether ``weight_kg`` lies inside this band's edges (lower and upper)."""
        if self.lower_kg is not None:
            edge = self.lower_kg
            if weight_kg < edge or (weight_kg == edge and not self.lower_inclusive):
                return False
        return self.contains_upper(weight_kg)

    def describe(self) -> str:
        """Human text such as ``"≤ 20 kg → 10 mg"`` or ``"> 20 kg → 20 mg"``."""
        if self.lower_kg is not None and self.upper_kg is None:
            edge = f"{'≥' if self.lower_inclusive else '>'} {format_decimal(self.lower_kg)} kg"
        elif self.upper_kg is None:
            edge = "any weight"
        else:
            edge = f"{'≤' if self.inclusive else '<'} {format_decimal(self.upper_kg)} kg"
        return f"{edge} → {format_decimal(self.dose_mg)} mg"


def _unit_slip_hints(height: Decimal | None, weight: Decimal | None) -> tuple[str, str]:
    height_hint = weight_hint = ""
    if height is not None and 0 < height < 3:
        height_hint = (
            f"height {format_decimal(height)} cm — did you enter metres? "
            f"{format_decimal(height)} m = {format_decimal(height * 100)} cm"
        )
    if weight is not None and weight > 1000:
        weight_hint = (
            f"weight {format_decimal(weight)} kg — did you enter grams? "
            f"{format_decimal(weight)} g = {format_decimal(weight / 1000)} kg"
        )
    return height_hint, weight_hint


def _soft_bounds(
    h: Decimal | None, w: Decimal | None, limits: DoseLimits
) -> tuple[list[DoseFlag], list[str]]:
    flags: list[DoseFlag] = []
    warnings: list[str] = []
    if h is not None and not limits.warn_min_height_cm <= h <= limits.warn_max_height_cm:
        flags.append(DoseFlag.HEIGHT_UNUSUAL)
        warnings.append(
            f"height {format_decimal(h)} cm is outside the usual range "
            f"{format_decimal(limits.warn_min_height_cm)}–"
            f"{format_decimal(limits.warn_max_height_cm)} cm; check the entry"
        )
    if w is not None and not limits.warn_min_weight_kg <= w <= limits.warn_max_weight_kg:
        flags.append(DoseFlag.WEIGHT_UNUSUAL)
        warnings.append(
            f"weight {format_decimal(w)} kg is outside the usual range "
            f"{format_decimal(limits.warn_min_weight_kg)}–"
            f"{format_decimal(limits.warn_max_weight_kg)} kg; check the entry"
        )
    if h is not None and w is not None:
        with localcontext() as ctx:
            ctx.prec = DECIMAL_PRECISION
            bmi = w / (h / 100) ** 2
        if not limits.warn_min_bmi <= bmi <= limits.warn_max_bmi:
            flags.append(DoseFlag.BMI_UNUSUAL)
            warnings.append(
                f"BMI {quantize_half_up(bmi, 1)} kg/m² "
                f"({format_decimal(h)} cm, {format_decimal(w)} kg) is "
                f"outside {format_decimal(limits.warn_min_bmi)}–"
                f"{format_decimal(limits.warn_max_bmi)}; check height and weight"
            )
    return flags, warnings


def check_patient(
    height_cm: object | None, weight_kg: object | None, limits: DoseLimits = DEFAULT_LIMITS
) -> tuple[Decimal | None, Decimal | None, tuple[DoseFlag, ...], tuple[str, ...]]:
    """Check height and weight against hard limits and soft bounds.

    Parameters
    ----------
    height_cm, weight_kg
        Height in cm and weight in kg, or ``None`` when not given.
    limits
        The limits to apply.

    Returns
    -------
    tuple
        ``(height_cm, weight_kg, flags, warnings)``: the exact values (``None``
        where not given), soft-bound flags and one sentence per flag.

    Raises
    ------
    DoseInputError
        If a value is not a number or lies outside a hard limit; the message
        names the field, the value, the limit, and a unit-slip hint if likely.
    """
    h = None if height_cm is None else to_decimal(height_cm, "height_cm")
    w = None if weight_kg is None else to_decimal(weight_kg, "weight_kg")
    h_hint, w_hint = _unit_slip_hints(h, w)
    if h is not None:
        h = check_limit(h, "height_cm", "cm", limits.min_height_cm, limits.max_height_cm, h_hint)
    if w is not None:
        w = check_limit(w, "weight_kg", "kg", limits.min_weight_kg, limits.max_weight_kg, w_hint)
    flags, warnings = _soft_bounds(h, w, limits)
    hints = [(DoseFlag.HEIGHT_UNIT_SLIP, h_hint), (DoseFlag.WEIGHT_UNIT_SLIP, w_hint)]
    for flag, hint in reversed(hints):
        if hint:
            flags.insert(0, flag)
            warnings.insert(0, hint)
    return h, w, tuple(flags), tuple(warnings)


def select_band(bands: Sequence[WeightBand], weight_kg: Decimal) -> WeightBand:
    """Pick the first band (ordered by upper edge) whose upper edge holds ``weight_kg``.

    Raises
    ------
    DoseInputError
        If ``bands`` is empty, has two identical edges, a dose ≤ 0, or no band
        holds the weight.
    """
    if not bands:
        raise DoseInputError(
            "bands = [] is empty; a weight-band rule needs at least one band", field="bands"
        )
    ordered = sorted(
        bands,
        key=lambda b: (b.upper_kg is None, b.upper_kg or Decimal(0), b.inclusive),
    )
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if (earlier.upper_kg, earlier.inclusive) == (later.upper_kg, later.inclusive):
            raise DoseInputError(
                f"bands: two bands share the edge '{earlier.describe()}'", field="bands"
            )
    for band in ordered:
        check_positive(band.dose_mg, "band dose_mg", "mg")
        if band.upper_kg is not None:
            check_positive(band.upper_kg, "band upper_kg", "kg")
    for band in ordered:
        if band.contains_upper(weight_kg):
            if not band.contains(weight_kg):
                raise DoseInputError(
                    f"weight_kg = {format_decimal(weight_kg)} is below the band "
                    f"'{band.describe()}' and no other band holds it",
                    field="weight_kg",
                )
            return band
    last = ordered[-1]
    raise DoseInputError(
        f"weight_kg = {format_decimal(weight_kg)} is above the last band "
        f"({last.describe()}); no band holds it",
        field="weight_kg",
    )

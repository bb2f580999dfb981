"""How a dose was reached, for people and for the record: one text and one record for all.

:func:`explain_dose` gives the lines every front end shows (the command line's
``dose``, ``plan`` and ``run``, the desktop's new-batch and plan pages):
the rule, the basis (weight, BSA and its formula), the raw dose, the cap, the
rounding step and the rounded dose with its deviation against the tolerance,
and every flag with its sentence. :func:`dose_record` is the same result as a
record (numbers as exact Decimals: mg and BSA to 4 dp, deviations to 2 dp),
which the JSON output and the batch record carry; its ``rounding_refusal`` says
why the rounded dose may not be printed without a pharmacist's signed override.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from printpharm.core.bsa import BSA_FORMULA_LABELS
from printpharm.core.dose_rules import format_deviation, rounding_refusal
from printpharm.core.dosing import DoseResult
from printpharm.core.prescription import DoseRule
from printpharm.core.units import format_decimal, quantize_half_up, quantize_significant

__all__ = ["RULE_LABELS", "dose_record", "explain_dose", "flag_lines"]

#: What each rule means, as the human output names it.
RULE_LABELS: dict[DoseRule, str] = {
    DoseRule.FIXED: "fixed mg per unit",
    DoseRule.PER_KG: "mg/kg × body weight",
    DoseRule.PER_M2: "mg/m² × body surface area",
    DoseRule.WEIGHT_BAND: "weight band table",
}


def _q(value: Decimal | None, places: int) -> Decimal | None:
    return None if value is None else quantize_half_up(value, places)


def _dose(value: Decimal | None) -> Decimal | None:
    """A dose in mg for the record: 4 decimals, more for a microgram dose (4 significant)."""
    return None if value is None else quantize_significant(value, 4)


def _mg(value: Decimal) -> str:
    return f"{format_decimal(quantize_significant(value, 4))} mg"


def _basis(result: DoseResult) -> str:
    f = format_decimal
    if result.rule is DoseRule.WEIGHT_BAND and result.band is not None:
        return f"band '{result.band.describe()}' at {f(result.weight_kg or Decimal(0))} kg"
    if result.rule is DoseRule.PER_M2 and result.formula is not None:
        bsa = result.bsa_used_m2 if result.bsa_used_m2 is not None else result.bsa_m2
        patient = ", ".join(
            f"{f(v)} {u}" for v, u in ((result.height_cm, "cm"), (result.weight_kg, "kg")) if v
        )
        rounded = "" if result.bsa_round_dp is None else f", rounded to {result.bsa_round_dp} dp"
        return (
            f"{f(result.amount)} mg/m² × BSA {quantize_half_up(bsa or Decimal(0), 4)} m² "
            f"({BSA_FORMULA_LABELS[result.formula]}{rounded}; {patient})"
        )
    if result.rule is DoseRule.PER_KG:
        return f"{f(result.amount)} mg/kg × {f(result.weight_kg or Decimal(0))} kg"
    return f"{f(result.amount)} mg prescribed"


def explain_dose(result: DoseResult, *, flags: bool = True) -> tuple[str, ...]:
    """The steps from prescription to unit dose and (``flags``) every flag, one line each.

    A screen that shows the flags and warnings in a place of their own passes
    ``flags=False`` and uses :func:`flag_lines`.
    """
    f = format_decimal
    verdict = "within" if result.within_rounding_tolerance else "OUTSIDE"
    deviation = format_deviation(
        result.rounding_deviation_pct, result.tolerance_pct, result.within_rounding_tolerance
    )
    lines = [
        f"rule: {RULE_LABELS[result.rule]}",
        f"basis: {_basis(result)}",
        f"calculated dose: {_mg(result.calculated_dose_mg)}",
    ]
    if result.cap_mg is not None:
        lines.append(
            f"capped at {f(result.cap_mg)} mg (the cap)"
            if result.capped
            else f"cap {f(result.cap_mg)} mg: not reached"
        )
    if result.dose_step_mg is None:
        lines.append(f"not rounded (no dose step): {_mg(result.final_dose_mg)}")
    else:
        lines.append(
            f"rounded to {_mg(result.final_dose_mg)} (step {f(result.dose_step_mg)} mg, "
            f"half-up): deviation {deviation} %, {verdict} the ±{f(result.tolerance_pct)} % "
            "tolerance"
        )
    if result.split is not None:
        doses = " + ".join(f(d) for d in result.split.doses_mg)
        lines.append(f"per administration: {doses} = {f(result.split.delivered_daily_mg)} mg/day")
    return (*lines, *flag_lines(result)) if flags else tuple(lines)


def flag_lines(result: DoseResult) -> tuple[str, ...]:
    """Every flag of the dose (``flags: ...``) and one ``warning:`` sentence per warning."""
    names = ", ".join(str(x) for x in result.flags) or "none"
    return (f"flags: {names}", *(f"warning: {w}" for w in result.warnings))


def dose_record(result: DoseResult) -> dict[str, Any]:
    """The dose result as a record: mg to 4 dp (4 significant digits for a microgram
    dose), BSA to 4 and 12 dp, deviations to 2 dp."""
    record: dict[str, Any] = {
        "rule": result.rule.value,
        "amount": result.amount,
        "amount_unit": result.amount_unit,
        "height_cm": result.height_cm,
        "weight_kg": result.weight_kg,
        "formula": result.formula,
        "bsa_m2": _q(result.bsa_m2, 4),
        "bsa_m2_2dp": _q(result.bsa_m2, 2),
        "bsa_m2_unrounded": _q(result.bsa_m2, 12),
        "bsa_round_dp": result.bsa_round_dp,
        "bsa_used_m2": _q(result.bsa_used_m2, 12),
        "band": None if result.band is None else result.band.describe(),
        "calculated_dose_mg": _dose(result.calculated_dose_mg),
        "cap_mg": result.cap_mg,
        "capped": result.capped,
        "capped_dose_mg": _dose(result.capped_dose_mg),
        "dose_step_mg": result.dose_step_mg,
        "final_dose_mg": _dose(result.final_dose_mg),
        "rounding_deviation_pct": _q(result.rounding_deviation_pct, 2),
        "rounding_tolerance_pct": result.tolerance_pct,
        "within_rounding_tolerance": result.within_rounding_tolerance,
        "rounding_refusal": rounding_refusal(result),
        "split": None,
        "flags": [str(f) for f in result.flags],
        "warnings": list(result.warnings),
        "explanation": list(explain_dose(result)),
    }
    if result.split is not None:
        s = result.split
        record["split"] = {
            "doses_per_day": s.doses_per_day,
            "daily_split_pct": [_q(p, 4) for p in s.shares_pct],
            "unit_doses_mg": list(s.doses_mg),
            "unrounded_unit_doses_mg": [_dose(d) for d in s.unrounded_doses_mg],
            "sum_of_unit_doses_mg": s.delivered_daily_mg,
            "sum_equals_rounded_daily_dose": s.sum_equals_rounded_daily_dose,
            "mismatch_mg": s.mismatch_mg,
            "delivered_deviation_pct": _q(s.delivered_deviation_pct, 2),
            "within_rounding_tolerance": s.within_rounding_tolerance,
        }
    return record

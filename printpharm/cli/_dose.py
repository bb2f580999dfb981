"""``printpharm bsa`` and ``printpharm dose``: body surface area and dose arithmetic.

The dose options are reusable: ``printpharm plan`` and ``printpharm run`` call
:func:`add_dose_arguments` on their parser and :func:`dose_from_args` on the
parsed namespace, and may show a result with :func:`dose_payload` /
:func:`describe_dose`.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from printpharm.cli._common import add_json_flag, emit
from printpharm.core.dosing import (
    BSA_FORMULA_LABELS,
    BSA_FORMULAS,
    DoseResult,
    WeightBand,
    body_surface_area,
    compute_dose,
    normalize_formula,
)
from printpharm.core.prescription import check_patient
from printpharm.core.units import format_decimal, parse_integer, quantize_half_up, to_decimal
from printpharm.errors import DoseInputError, InputError

__all__ = [
    "add_dose_arguments",
    "describe_dose",
    "dose_from_args",
    "dose_payload",
    "parse_band",
    "register",
]

_FORMULA_HELP = "BSA formula: " + ", ".join(BSA_FORMULAS) + " (default mosteller)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``bsa`` and ``dose`` sub-commands."""
    bsa = subparsers.add_parser(
        "bsa",
        help="body surface area (m²) from height and weight",
        description="Body surface area in m² (unrounded, shown to 4 dp) by a named formula.",
    )
    bsa.add_argument("--height-cm", metavar="H", help="height in cm (not needed for costeff)")
    bsa.add_argument("--weight-kg", metavar="W", required=True, help="weight in kg")
    bsa.add_argument("--formula", default="mosteller", metavar="F", help=_FORMULA_HELP)
    add_json_flag(bsa)
    bsa.set_defaults(func=_run_bsa)

    dose = subparsers.add_parser(
        "dose",
        help="dose from a prescription rule: cap, round to a step, split",
        description=(
            "Dose = amount × basis (1, kg, or m²); the cap applies before rounding; "
            "rounding is half-up to --step-mg; a rounding deviation above "
            "--tolerance-pct is flagged."
        ),
    )
    add_dose_arguments(dose)
    add_json_flag(dose)
    dose.set_defaults(func=_run_dose)


def add_dose_arguments(parser: argparse.ArgumentParser, *, dose_mg_option: bool = False) -> None:
    """Add the dose options (``--rule``, ``--amount``, ... ``--band``) to ``parser``.

    With ``dose_mg_option`` the parser also takes ``--dose-mg`` (a unit dose given
    directly) and ``--rule`` becomes optional: exactly one of the two is then
    required, which :func:`unit_dose_from_args` checks.
    """
    group = parser.add_argument_group("dose")
    if dose_mg_option:
        group.add_argument("--dose-mg", metavar="D", help="dose per unit in mg (or use --rule)")
    group.add_argument(
        "--rule",
        required=not dose_mg_option,
        choices=("fixed", "per-kg", "per-m2", "band"),
        help="fixed mg, mg/kg × weight, mg/m² × BSA, or a weight-band table",
    )
    group.add_argument("--amount", metavar="X", help="prescribed mg, mg/kg or mg/m²")
    group.add_argument("--height-cm", metavar="H", help="height in cm")
    group.add_argument("--weight-kg", metavar="W", help="weight in kg")
    group.add_argument("--formula", metavar="F", help=_FORMULA_HELP + "; per-m2 only")
    group.add_argument(
        "--bsa-round-dp", metavar="N", help="round BSA half-up to N dp before dosing"
    )
    group.add_argument(
        "--cap-mg", metavar="MG", help="maximum dose (daily if split), applied before rounding"
    )
    group.add_argument("--step-mg", metavar="MG", help="round half-up to a multiple of this step")
    group.add_argument(
        "--tolerance-pct", default="10", metavar="P", help="rounding tolerance in %% (default 10)"
    )
    split = group.add_mutually_exclusive_group()
    split.add_argument(
        "--doses-per-day", metavar="N", help="divide the daily dose into N equal doses"
    )
    split.add_argument(
        "--split", metavar="P,P,...", help="divide the daily dose by percentages, e.g. 50,25,25"
    )
    group.add_argument(
        "--band",
        action="append",
        default=[],
        metavar="UPPER:MG",
        help="weight band 'UPPER_KG:DOSE_MG' (≤ upper; '<20:10' for < upper; 'inf:20' last)",
    )


def parse_band(text: str) -> WeightBand:
    """Parse ``"20:10"`` (≤ 20 kg → 10 mg), ``"<20:10"`` or ``"inf:20"`` into a band.

    Raises
    ------
    DoseInputError
        If the text is not ``UPPER_KG:DOSE_MG`` with numbers.
    """
    upper_text, sep, dose_text = text.partition(":")
    if not sep or not upper_text.strip() or not dose_text.strip():
        raise DoseInputError(f"band = {text!r} is not UPPER_KG:DOSE_MG (e.g. 20:10, inf:20)")
    upper_text = upper_text.strip()
    inclusive = not upper_text.startswith("<")
    upper_text = upper_text.lstrip("<=").strip()
    upper = None if upper_text.lower() in ("inf", "infinity") else to_decimal(upper_text, "band")
    return WeightBand(upper, to_decimal(dose_text.strip(), "band dose_mg"), inclusive)


def _whole(text: str | None, field: str) -> int | None:
    return None if text is None else parse_integer(text, field, DoseInputError)


def units_from_args(args: argparse.Namespace) -> int:
    """``--units`` as a whole number of at least 1 (read by the one parser of typed numbers).

    Raises
    ------
    InputError
        Not a plain whole number (``1_8``, ``2.5``) or below 1.
    """
    units = parse_integer(str(args.units), "--units")
    if units < 1:
        raise InputError(f"--units {units} must be at least 1 (at least 1 unit is printed)")
    return units


def dose_from_args(args: argparse.Namespace) -> DoseResult:
    """Compute the dose described by options added with :func:`add_dose_arguments`.

    Raises
    ------
    DoseInputError
        Any input the dose engine refuses (the message names the field).
    """
    split = None if args.split is None else [p.strip() for p in args.split.split(",")]
    return compute_dose(
        args.rule,
        args.amount,
        height_cm=args.height_cm,
        weight_kg=args.weight_kg,
        formula=args.formula,
        bands=[parse_band(b) for b in args.band],
        bsa_round_dp=_whole(args.bsa_round_dp, "bsa_round_dp"),
        cap_mg=args.cap_mg,
        dose_step_mg=args.step_mg,
        tolerance_pct=args.tolerance_pct,
        doses_per_day=_whole(args.doses_per_day, "doses_per_day"),
        split_pct=split,
    )


def unit_dose_from_args(
    args: argparse.Namespace, *, default_step_mg: Decimal | None = None
) -> tuple[Decimal, dict[str, Any] | None]:
    """The one unit dose of a batch: ``--dose-mg`` or the ``--rule`` options.

    ``default_step_mg`` rounds a rule's dose when ``--step-mg`` is not given (a
    batch is made on its recipe's dose step). Returns the dose and, for a rule,
    its JSON record (``None`` for ``--dose-mg``).

    Raises
    ------
    InputError
        Both or neither of ``--dose-mg`` and ``--rule``; a split into unequal doses.
    DoseInputError
        Any input the dose engine refuses.
    """
    if (args.dose_mg is None) == (args.rule is None):
        raise InputError("give the dose either with --dose-mg or with the --rule options")
    if args.dose_mg is not None:
        return to_decimal(args.dose_mg, "dose_mg"), None
    if args.step_mg is None and default_step_mg is not None:
        args.step_mg = str(default_step_mg)
    result = dose_from_args(args)
    doses = set(result.unit_doses_mg)
    if len(doses) != 1:
        listed = ", ".join(str(d) for d in result.unit_doses_mg)
        raise InputError(
            f"the split gives different unit doses ({listed} mg); a batch prints one dose — "
            "make one batch per dose"
        )
    return doses.pop(), dose_payload(result)


def _q(value: Decimal | None, places: int) -> Decimal | None:
    return None if value is None else quantize_half_up(value, places)


def dose_payload(result: DoseResult) -> dict[str, Any]:
    """The JSON object of a dose result (mg to 4 dp, BSA to 4 dp, deviations to 2 dp)."""
    payload: dict[str, Any] = {
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
        "calculated_dose_mg": _q(result.calculated_dose_mg, 4),
        "cap_mg": result.cap_mg,
        "capped": result.capped,
        "capped_dose_mg": _q(result.capped_dose_mg, 4),
        "dose_step_mg": result.dose_step_mg,
        "final_dose_mg": _q(result.final_dose_mg, 4),
        "rounding_deviation_pct": _q(result.rounding_deviation_pct, 2),
        "rounding_tolerance_pct": result.tolerance_pct,
        "within_rounding_tolerance": result.within_rounding_tolerance,
        "split": None,
        "flags": [str(f) for f in result.flags],
        "warnings": list(result.warnings),
    }
    if result.split is not None:
        s = result.split
        payload["split"] = {
            "doses_per_day": s.doses_per_day,
            "daily_split_pct": [_q(p, 4) for p in s.shares_pct],
            "unit_doses_mg": list(s.doses_mg),
            "unrounded_unit_doses_mg": [_q(d, 4) for d in s.unrounded_doses_mg],
            "sum_of_unit_doses_mg": s.delivered_daily_mg,
            "sum_equals_rounded_daily_dose": s.sum_equals_rounded_daily_dose,
            "mismatch_mg": s.mismatch_mg,
            "delivered_deviation_pct": _q(s.delivered_deviation_pct, 2),
            "within_rounding_tolerance": s.within_rounding_tolerance,
        }
    return payload


def describe_dose(result: DoseResult) -> str:
    """Human lines explaining how the dose was reached."""
    f = format_decimal
    if result.band is not None:
        basis = f"band {result.band.describe()} at {f(result.weight_kg or Decimal(0))} kg"
    elif result.bsa_m2 is not None and result.formula is not None:
        bsa = quantize_half_up(result.bsa_used_m2 or result.bsa_m2, 4)
        basis = f"{f(result.amount)} mg/m² × BSA {bsa} m² ({BSA_FORMULA_LABELS[result.formula]})"
    elif result.weight_kg is not None and result.amount_unit == "mg/kg":
        basis = f"{f(result.amount)} mg/kg × {f(result.weight_kg)} kg"
    else:
        basis = f"fixed {f(result.amount)} mg"
    lines = [
        f"Dose {f(quantize_half_up(result.final_dose_mg, 4))} mg ({basis})",
        f"calculated {quantize_half_up(result.calculated_dose_mg, 4)} mg"
        + (f", capped at {f(result.capped_dose_mg)} mg" if result.capped else "")
        + ("" if result.dose_step_mg is None else f", step {f(result.dose_step_mg)} mg")
        + f", deviation {quantize_half_up(result.rounding_deviation_pct, 2)} % "
        + ("within" if result.within_rounding_tolerance else "OUTSIDE")
        + f" the {f(result.tolerance_pct)} % tolerance",
    ]
    if result.split is not None:
        doses = " + ".join(f(d) for d in result.split.doses_mg)
        lines.append(f"per administration: {doses} = {f(result.split.delivered_daily_mg)} mg/day")
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def _run_bsa(args: argparse.Namespace) -> int:
    formula = normalize_formula(args.formula)
    bsa = body_surface_area(args.height_cm, args.weight_kg, formula)
    h, w, flags, warnings = check_patient(args.height_cm, args.weight_kg)
    payload = {
        "bsa_m2": quantize_half_up(bsa, 4),
        "bsa_m2_2dp": quantize_half_up(bsa, 2),
        "bsa_m2_unrounded": quantize_half_up(bsa, 12),
        "formula": formula,
        "height_cm": h,
        "weight_kg": w,
        "flags": [str(x) for x in flags],
        "warnings": list(warnings),
    }
    inputs = [f"{format_decimal(v)} {u}" for v, u in ((h, "cm"), (w, "kg")) if v is not None]
    text = f"BSA {quantize_half_up(bsa, 4)} m² ({BSA_FORMULA_LABELS[formula]}; {', '.join(inputs)})"
    emit(args, payload, "\n".join([text, *(f"warning: {x}" for x in warnings)]))
    return 0


def _run_dose(args: argparse.Namespace) -> int:
    result = dose_from_args(args)
    emit(args, dose_payload(result), describe_dose(result))
    return 0

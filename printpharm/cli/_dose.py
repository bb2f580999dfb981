"""``printpharm bsa`` and ``printpharm dose``: body surface area and dose arithmetic.

The dose options are reusable: ``printpharm plan`` and ``printpharm run`` call
:func:`add_dose_arguments` on their parser and :func:`unit_dose_from_args` on the
parsed namespace. Every rule (bands, range and step, rounding tolerance) comes
from :mod:`printpharm.core.dose_rules`; the text and record of how the dose was
reached from :mod:`printpharm.core.dose_report`, as in the desktop application.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from printpharm.cli._common import add_json_flag, emit
from printpharm.core.bsa import (
    BSA_FORMULA_LABELS,
    BSA_FORMULAS,
    body_surface_area,
    normalize_formula,
)
from printpharm.core.dose_rules import BAND_FORMS, parse_band_table
from printpharm.core.units import (
    format_decimal,
    parse_integer,
    quantize_half_up,
    quantize_significant,
    to_decimal,
)
from printpharm.errors import DoseInputError, InputError

if TYPE_CHECKING:  # the catalog (pydantic) is imported only by commands that read recipes
    from printpharm.catalog.schema import Recipe
    from printpharm.core.dosing import DoseResult

# The dose engine (printpharm.core.dosing, .prescription, .dose_report) is imported by the
# functions that compute or explain a dose: ``plan --dose-mg`` starts without it.

__all__ = [
    "UnitDose",
    "add_dose_arguments",
    "dose_from_args",
    "register",
    "unit_dose_from_args",
    "units_from_args",
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
        "--tolerance-pct",
        default="10",
        metavar="P",
        help="rounding tolerance in %% (default 10; a wider one still refuses to print a dose "
        "rounded by more than 10 %% without a pharmacist's override)",
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
        metavar="BAND",
        help="one weight band per --band, EDGE_KG:DOSE_MG with the edge's sign: " + BAND_FORMS,
    )


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
    from printpharm.core.dosing import DoseRule, compute_dose

    rule = DoseRule.parse(args.rule)
    if args.band and rule is not DoseRule.WEIGHT_BAND:
        raise DoseInputError(f"--band applies only to --rule band, not {args.rule}")
    bands = parse_band_table(args.band) if rule is DoseRule.WEIGHT_BAND else ()
    split = None if args.split is None else [p.strip() for p in args.split.split(",")]
    return compute_dose(
        rule,
        args.amount,
        height_cm=args.height_cm,
        weight_kg=args.weight_kg,
        formula=args.formula,
        bands=bands,
        bsa_round_dp=_whole(args.bsa_round_dp, "bsa_round_dp"),
        cap_mg=args.cap_mg,
        dose_step_mg=args.step_mg,
        tolerance_pct=args.tolerance_pct,
        doses_per_day=_whole(args.doses_per_day, "doses_per_day"),
        split_pct=split,
    )


@dataclass(frozen=True)
class UnitDose:
    """The one dose per unit of a batch and how it was reached.

    ``result`` is ``None`` (and ``record`` empty) when ``--dose-mg`` gave the dose directly.
    """

    dose_mg: Decimal
    result: DoseResult | None
    record: dict[str, Any]

    @property
    def refusal(self) -> str | None:
        """Why the rounded dose may not be printed without an override, or ``None``."""
        refusal = self.record.get("rounding_refusal")
        return None if refusal is None else str(refusal)

    def lines(self) -> tuple[str, ...]:
        """How the dose was reached, for the human output."""
        if self.result is None:
            return (f"dose per unit: {format_decimal(self.dose_mg)} mg (given with --dose-mg)",)
        from printpharm.core.dose_report import explain_dose

        return (f"dose per unit: {format_decimal(self.dose_mg)} mg", *explain_dose(self.result))


def unit_dose_from_args(args: argparse.Namespace, recipe: Recipe | None = None) -> UnitDose:
    """The one unit dose of a batch: ``--dose-mg`` or the ``--rule`` options.

    A rule's dose is rounded to ``recipe``'s dose step when ``--step-mg`` is not
    given (a batch is made on its recipe's dose step), and its amount is checked
    against the recipe's plausible maximum mg/kg or mg/m².

    Raises
    ------
    InputError
        Both or neither of ``--dose-mg`` and ``--rule``; a split into unequal doses.
    DoseInputError
        Any input the dose engine refuses; an amount above the recipe's maximum.
    """
    if (args.dose_mg is None) == (args.rule is None):
        raise InputError("give the dose either with --dose-mg or with the --rule options")
    if args.dose_mg is not None:
        _refuse_rule_options(args)
        return UnitDose(to_decimal(args.dose_mg, "dose_mg"), None, {})
    from printpharm.core.dose_report import dose_record

    if args.step_mg is None and recipe is not None and recipe.dose is not None:
        args.step_mg = recipe.dose.step.value
    result = dose_from_args(args)
    if recipe is not None:
        recipe.check_amount(result)
    doses = set(result.unit_doses_mg)
    if len(doses) != 1:
        listed = ", ".join(str(d) for d in result.unit_doses_mg)
        raise InputError(
            f"the split gives different unit doses ({listed} mg); a batch prints one dose — "
            "make one batch per dose"
        )
    return UnitDose(doses.pop(), result, dose_record(result))


#: The options only a --rule reads, as (option, attribute, value when not given).
_RULE_OPTIONS: tuple[tuple[str, str, str | list[str] | None], ...] = (
    ("--amount", "amount", None), ("--height-cm", "height_cm", None),
    ("--weight-kg", "weight_kg", None), ("--formula", "formula", None),
    ("--bsa-round-dp", "bsa_round_dp", None), ("--cap-mg", "cap_mg", None),
    ("--step-mg", "step_mg", None), ("--tolerance-pct", "tolerance_pct", "10"),
    ("--doses-per-day", "doses_per_day", None), ("--split", "split", None),
    ("--band", "band", []),
)  # fmt: skip


def _refuse_rule_options(args: argparse.Namespace) -> None:
    """``--dose-mg`` is the unit dose as given: a cap, step, weight... beside it would be ignored.

    Raises
    ------
    InputError
        A rule option was given with ``--dose-mg`` (``--dose-mg 15 --cap-mg 10`` printed 15 mg).
    """
    given = [name for name, attr, unset in _RULE_OPTIONS if getattr(args, attr) != unset]
    if given:
        raise InputError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to --rule: "
            f"--dose-mg {args.dose_mg} is the dose per unit as given, so "
            f"{'it' if len(given) == 1 else 'they'} would be ignored; give the dose with --rule "
            "and its options, or --dose-mg alone"
        )


def _run_bsa(args: argparse.Namespace) -> int:
    from printpharm.core.prescription import check_patient

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


def _headline(result: DoseResult) -> str:
    """``Dose 18.5 mg``; a split dose says per day and what each administration (unit) holds."""
    dose = f"Dose {format_decimal(quantize_significant(result.final_dose_mg, 4))} mg"
    if result.split is None:
        return dose
    parts = " + ".join(format_decimal(d) for d in result.split.doses_mg)
    delivered = format_decimal(result.split.delivered_daily_mg)
    return f"{dose}/day (rounded daily dose), given as {parts} mg = {delivered} mg/day delivered"


def _run_dose(args: argparse.Namespace) -> int:
    from printpharm.core.dose_report import dose_record, explain_dose

    result = dose_from_args(args)
    record = dose_record(result)
    lines = [_headline(result)]
    lines += explain_dose(result)
    refusal = record["rounding_refusal"]
    if refusal is not None:
        lines.append(
            f"REFUSED for printing: {refusal}; plan and run print it only with a pharmacist's "
            "signed override (--override-by)"
        )
    emit(args, record, "\n".join(lines))
    return 0

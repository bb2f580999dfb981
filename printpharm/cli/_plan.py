"""``printpharm plan``: dose → sized unit → plate G-code, with the figures to check it.

Example::

    printpharm plan --recipe cpm-chewable-disc --dose-mg 12.5 --units 10 \\
        --out batch.gcode --stl unit.stl --json

The dose is either ``--dose-mg`` or the dose options of ``printpharm dose``
(``--rule fixed --amount 12.5 --step-mg 0.5`` ...). The output says what the E
axis means (``extrusion.e_units``, ``extrusion.diameter_mm``) so that any
independent tool can recompute the deposited volume from the G-code.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from printpharm.catalog import load_catalog
from printpharm.cli._auth_args import add_db_flag, add_secret_flags, logged_in
from printpharm.cli._common import add_json_flag, emit
from printpharm.cli._dose import UnitDose, add_dose_arguments, unit_dose_from_args, units_from_args
from printpharm.cli._override import (
    add_override_arguments,
    refuse_without_override,
    sign_if_refused,
)
from printpharm.errors import InputError
from printpharm.services.run.planning import PlanResult, plan_batch, save_unit_stl

if TYPE_CHECKING:
    from printpharm.catalog.schema import Ink
    from printpharm.services.control.dose_override import DoseOverride
    from printpharm.services.run.calibration import CalibrationInForce

__all__ = ["register", "weighed_text"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``plan`` sub-command."""
    plan = subparsers.add_parser(
        "plan",
        help="size the unit for a dose and write the plate's G-code",
        description=(
            "Dose → ink mass → deposited volume → dosage form sized so that its sliced "
            "toolpaths deposit that volume → G-code for the plate, read back to check every "
            "unit. Give --dose-mg, or the dose options of `printpharm dose` (--rule ...)."
        ),
    )
    plan.add_argument("--recipe", required=True, metavar="ID", help="validated recipe id")
    plan.add_argument("--units", default="1", metavar="N", help="units on the plate")
    plan.add_argument("--printer", metavar="PROFILE", help="printer id (must be the recipe's)")
    plan.add_argument("--out", required=True, metavar="FILE", help="G-code file to write")
    plan.add_argument("--stl", metavar="FILE", help="also write one unit as STL")
    add_dose_arguments(plan, dose_mg_option=True)
    records = plan.add_argument_group(
        "dose override",
        "a rule dose that rounding moved outside its tolerance is refused; a pharmacist may "
        "sign an override, recorded in the database (your --user first, then theirs)",
    )
    add_db_flag(
        records,
        "database URL or SQLite file: the calibration locked in force there sizes the unit "
        "(without it, the ink file's calibration, not fitted on site)",
    )
    records.add_argument("--user", metavar="U", help="your user ID (with --override-by)")
    add_override_arguments(records)
    add_secret_flags(records, user=False)
    records.add_argument(
        "--printer-asset", metavar="TAG", help="the printer, where calibrations are bound to one"
    )
    records.add_argument(
        "--lot", metavar="L", help="the ink lot, where a calibration is bound to it"
    )
    add_json_flag(plan)
    plan.set_defaults(func=_run_plan)


def _write(path: Path, text: str, what: str) -> None:
    try:
        path.write_text(text, encoding="ascii", newline="\n")
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot write: {exc}") from exc


def _payload(plan: PlanResult, out: Path, stl: Path | None) -> dict[str, Any]:
    return {
        "recipe": plan.recipe_id,
        "ink": plan.ink_id,
        "printer": plan.printer_id,
        "dose_mg": plan.dose_mg,
        "units": plan.units,
        "ink_mass_mg": round(plan.ink_mass_mg, 4),
        "target_mass_mg": round(plan.target_mass_mg, 4),
        "target_volume_mm3": round(plan.target_volume_mm3, 4),
        "template": plan.template,
        "dimensions_mm": {k: round(v, 4) for k, v in plan.dimensions_mm.items()},
        "layers": plan.layers,
        "fill_fraction": None if plan.fill_fraction is None else round(plan.fill_fraction, 4),
        "unit_volumes_mm3": [round(v, 4) for v in plan.unit_volumes_mm3],
        "worst_volume_error_pct": round(plan.worst_volume_error_fraction * 100, 4),
        "estimated_time_s": round(plan.estimated_time_s, 1),
        "line_count": plan.line_count,
        "line_width_mm": plan.line_width_mm,
        "first_layer_line_width_mm": plan.first_layer_line_width_mm,
        "layer_height_mm": plan.layer_height_mm,
        "first_layer_height_mm": plan.first_layer_height_mm,
        "extrusion": {
            "e_units": plan.extrusion["e_units"],
            "diameter_mm": plan.extrusion["diameter_mm"],
            "relative": plan.extrusion["relative"],
        },
        "plate_capacity": plan.plate_capacity,
        "calibration": None if plan.prediction is None else plan.prediction.record(),
        "ink_required_ml": plan.ink.to_record(),
        "warnings": list(plan.warnings),
        "gcode": str(out),
        "stl": None if stl is None else str(stl),
    }


def weighed_text(plan: PlanResult) -> str:
    """The ink mass dispensed (weighed wet, in line) and, for an ink that dries, dried."""
    if plan.ink_mass_mg == plan.target_mass_mg:
        return f"{plan.ink_mass_mg:.3f} mg dispensed and weighed"
    return (
        f"{plan.ink_mass_mg:.3f} mg dispensed and weighed wet in line, "
        f"{plan.target_mass_mg:.3f} mg once dried"
    )


def _text(plan: PlanResult, out: Path) -> str:
    dims = ", ".join(f"{k} {v:.3f}" for k, v in plan.dimensions_mm.items())
    minutes = plan.estimated_time_s / 60
    lines = [
        f"recipe {plan.recipe_id}: {plan.units} × {plan.dose_mg} mg ({plan.template})",
        f"ink per unit: {weighed_text(plan)}, deposit {plan.target_volume_mm3:.3f} mm³",
        f"unit: {dims}; {plan.layers} layers of {plan.layer_height_mm} mm, "
        f"lines {plan.line_width_mm} mm",
        f"G-code: {out} ({plan.line_count} lines, about {minutes:.1f} min); "
        f"worst unit {plan.worst_volume_error_fraction * 100:.4f} % from target",
        f"E axis: {plan.extrusion['e_units']}, diameter {plan.extrusion['diameter_mm']} mm",
        plan.ink.describe(),
    ]
    if plan.prediction is not None:
        p = plan.prediction
        lines += [p.text, f"sized with {p.calibration.label}; {p.calibration.equation()}"]
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def _override(args: argparse.Namespace, recipe_id: str, dose: UnitDose) -> DoseOverride | None:
    """Refuse a dose outside its tolerance, or have a pharmacist sign its override."""
    refuse_without_override(args, dose)
    if not args.override_by:
        if args.user is not None or args.password_stdin:
            raise InputError(
                "plan records nothing in the database but a dose override: --user and "
                "--password-stdin go with --override-by"
            )
        return None
    with logged_in(args) as (services, session, secrets):
        return sign_if_refused(args, services, session, secrets, recipe_id, dose)


def _calibration(args: argparse.Namespace, ink: Ink, printer: str) -> CalibrationInForce | None:
    """The calibration locked in force in ``--db`` for this ink and printer (reading needs no
    login), or ``None`` without ``--db`` (the ink file's calibration)."""
    if args.db is None:
        if args.printer_asset or args.lot:
            raise InputError("--printer-asset and --lot choose a calibration in --db: give --db")
        return None
    from printpharm.services.control.calibration import CalibrationService
    from printpharm.services.station.records_app import open_records

    services = open_records(args.db)
    try:
        service = CalibrationService(services.auth, services.records)
        return service.for_plan(ink, printer, args.printer_asset, args.lot)
    finally:
        services.close()


def _run_plan(args: argparse.Namespace) -> int:
    # only its files, validated in this process: nothing validated earlier is trusted
    catalog = load_catalog(recipe=args.recipe)
    recipe = catalog.recipe(args.recipe)
    dose = unit_dose_from_args(args, recipe)
    units = units_from_args(args)
    override = _override(args, recipe.id, dose)
    calibration = _calibration(args, catalog.ink(recipe.ink), recipe.printer)
    plan = plan_batch(catalog, args.recipe, dose.dose_mg, units, printer_id=args.printer,
                      calibration=calibration)  # fmt: skip
    out = Path(args.out)
    _write(out, plan.gcode, "--out")
    stl = None
    if args.stl:
        stl = save_unit_stl(plan, Path(args.stl))
    payload = _payload(plan, out, stl)
    if dose.result is not None:
        payload["dose_calculation"] = dose.record
    payload["dose_override"] = None if override is None else override.to_record()
    lines = [*dose.lines(), *([override.describe()] if override is not None else [])]
    emit(args, payload, "\n".join([*lines, _text(plan, out)]))
    return 0

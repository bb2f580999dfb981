"""``printpharm inks|recipes|printers``: browse the validated catalog.

::

    printpharm inks list [--json]
    printpharm inks show ID [--json]
    printpharm recipes list [--json]
    printpharm recipes show ID [--json]      resolved process with the source of each value
    printpharm printers list [--json]

The data root is the repository (or ``$PRINTPHARM_DATA_DIR``). An unknown id is a
CatalogError naming the known ids (exit 2).
"""

from __future__ import annotations

import argparse
from typing import Any

from printpharm.catalog import Catalog, load_catalog
from printpharm.catalog.schema import TEMPLATE_DIMENSIONS, Ink, PrinterDefinition, Recipe
from printpharm.catalog.stack import ResolvedSettings
from printpharm.cli._common import add_json_flag, emit

__all__ = ["register"]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, tuple("-" * w for w in widths), *rows]
    ]
    return "\n".join(lines)


def _ink_row(ink: Ink) -> dict[str, Any]:
    return {
        "id": ink.id,
        "name": ink.name,
        "api": ink.api,
        "kind": ink.kind,
        "drug_load_mg_per_g": ink.drug_load.value,
        "density_g_per_cm3": ink.density.value,
        "lot": ink.lot,
        "expiry": ink.expiry,
        "example": ink.example,
    }


def _recipe_row(recipe: Recipe) -> dict[str, Any]:
    dose = recipe.dose
    return {
        "id": recipe.id,
        "name": recipe.name,
        "api": recipe.api,
        "ink": recipe.ink,
        "printer": recipe.printer,
        "form": recipe.form.template,
        "strategy": recipe.strategy,
        "dose_min_mg": dose.range.min if dose else None,
        "dose_max_mg": dose.range.max if dose else None,
        "dose_step_mg": dose.step.value if dose else None,
        "example": recipe.example,
    }


def _printer_row(printer: PrinterDefinition) -> dict[str, Any]:
    return {
        "id": printer.id,
        "name": printer.name,
        "flavour": printer.flavour,
        "ink_kind": printer.ink_kind,
        "bed_x_mm": printer.bed_x.value,
        "bed_y_mm": printer.bed_y.value,
        "max_z_mm": printer.max_z.value,
        "e_axis": printer.e_axis,
        "relative_e": printer.relative_e,
        "volumetric_extrusion": printer.volumetric_extrusion,
        "start_template": printer.start_template,
        "end_template": printer.end_template,
        "baud": printer.baud,
        "example": printer.example,
    }


def _files(catalog: Catalog, kind: Any, id_: str) -> list[dict[str, str]]:
    return [{"path": s.relpath, "sha256": s.sha256} for s in catalog.sources(kind, id_)]


def _inks_list(args: argparse.Namespace) -> int:
    rows = [_ink_row(i) for i in load_catalog().inks()]
    text = _table(
        ("ID", "API", "KIND", "LOAD mg/g", "DENSITY g/cm3", "LOT", "EXPIRY"),
        [
            (
                r["id"],
                r["api"],
                r["kind"],
                str(r["drug_load_mg_per_g"]),
                str(r["density_g_per_cm3"]),
                r["lot"],
                str(r["expiry"]),
            )
            for r in rows
        ],
    )
    emit(args, rows, text)
    return 0


def _inks_show(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    ink = catalog.ink(args.id)
    origin = catalog.origin("ink", ink.id)
    cal = ink.calibration
    lines = [
        f"{ink.id} — {ink.name}" + ("  [example: validate on site]" if ink.example else ""),
        f"  api {ink.api}, {ink.kind}; drug load {ink.drug_load}"
        + (f" (dried {ink.dried_drug_load})" if ink.dried_drug_load else "")
        + f"; density {ink.density}; assay {ink.assay}",
        f"  temperature window {ink.temperature_window}",
        f"  calibration: mass_mg = {cal.a.value} · V_mm3 + ({cal.b.value}) over {cal.volume_range}",
        f"  lot {ink.lot}, expiry {ink.expiry.isoformat()}",
        f"  storage: {ink.storage}" if ink.storage else "",
        "  process settings (value  source):",
    ]
    for name, value in ink.process:
        if value is not None:
            lines.append(f"    {name:<22} {str(value):<14} {origin[f'process.{name}']}")
    lines += ["  files:"] + [
        f"    {f['path']}  sha256 {f['sha256']}" for f in _files(catalog, "ink", ink.id)
    ]
    payload = {
        "ink": ink.model_dump(),
        "origin": dict(origin),
        "files": _files(catalog, "ink", ink.id),
    }
    emit(args, payload, "\n".join(line for line in lines if line))
    return 0


def _resolved_lines(resolved: ResolvedSettings) -> list[str]:
    lines = ["  resolved process (value  layer  source):"]
    for name, s in resolved.settings.items():
        shown = f"{s.value} {s.unit}" if s.unit else str(s.value)
        lines.append(f"    {name:<22} {shown:<14} {s.layer:<19} {s.source}")
    return lines


def _recipes_list(args: argparse.Namespace) -> int:
    rows = [_recipe_row(r) for r in load_catalog().recipes()]
    text = _table(
        ("ID", "API", "FORM", "DOSE mg", "INK", "PRINTER"),
        [
            (
                r["id"],
                r["api"],
                r["form"],
                f"{r['dose_min_mg']}–{r['dose_max_mg']}" if r["dose_min_mg"] is not None else "-",
                r["ink"],
                r["printer"],
            )
            for r in rows
        ],
    )
    emit(args, rows, text)
    return 0


def _recipes_show(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    recipe = catalog.recipe(args.id)
    resolved = catalog.resolve(recipe.id)
    form = recipe.form
    dims = ", ".join(f"{n} {form.describe(n)}" for n in TEMPLATE_DIMENSIONS[form.template])
    if recipe.dose is not None:
        amounts = f"dose {recipe.dose.range}, step {recipe.dose.step}"
    elif recipe.calibration_series is not None:
        volumes = ", ".join(str(v) for v in recipe.calibration_series.values)
        amounts = f"calibration series {volumes} mm3"
    lines = [
        f"{recipe.id} — {recipe.name}" + ("  [example]" if recipe.example else ""),
        f"  status: {recipe.validation_status}",
        f"  api {recipe.api}; ink {recipe.ink}; printer {recipe.printer}",
        f"  form {form.template} ({dims}); strategy {recipe.strategy}",
        f"  {amounts}",
        f"  tolerances: unit mass ±{recipe.tolerances.unit_mass}, mean mass "
        f"±{recipe.tolerances.mean_mass}, flow correction {recipe.tolerances.flow_correction}",
        f"  alarm policy {recipe.alarm_policy}; QC {', '.join(recipe.qc.tests)} on "
        f"{recipe.qc.units_count} units",
        *_resolved_lines(resolved),
        "  files:",
        *(f"    {p}  sha256 {h}" for p, h in resolved.files.items()),
    ]
    payload = {"recipe": recipe.model_dump(), "resolved": resolved.to_record()}
    emit(args, payload, "\n".join(lines))
    return 0


def _printers_list(args: argparse.Namespace) -> int:
    rows = [_printer_row(p) for p in load_catalog().printers()]
    text = _table(
        ("ID", "FLAVOUR", "INK", "BED mm", "E AXIS", "START TEMPLATE"),
        [
            (
                r["id"],
                r["flavour"],
                r["ink_kind"],
                f"{r['bed_x_mm']}×{r['bed_y_mm']}×{r['max_z_mm']}",
                r["e_axis"],
                r["start_template"],
            )
            for r in rows
        ],
    )
    emit(args, rows, text)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``inks``, ``recipes`` and ``printers``."""
    groups = (
        ("inks", "pharma-inks and filaments", _inks_list, _inks_show),
        ("recipes", "validated recipes", _recipes_list, _recipes_show),
        ("printers", "printer definitions", _printers_list, None),
    )
    for name, what, list_func, show_func in groups:
        group = subparsers.add_parser(name, help=f"browse the {what}")
        actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
        listing = actions.add_parser("list", help=f"list the {what}")
        add_json_flag(listing)
        listing.set_defaults(func=list_func)
        if show_func is not None:
            show = actions.add_parser("show", help="show one, with the source of each value")
            show.add_argument("id", metavar="ID")
            add_json_flag(show)
            show.set_defaults(func=show_func)

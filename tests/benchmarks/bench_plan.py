"""Planning speed and accuracy, side by side with PrusaSlicer's command line.

Run: ``python tests/benchmarks/bench_plan.py`` (not collected by pytest).

Prints, per shipped recipe at a mid-range dose:

* one unit planned (dose → sized form → toolpaths → G-code → analysis of that
  G-code), median of repeated runs after imports and a warm-up (target ≤ 50 ms);
* a 30-unit plate planned the same way (target ≤ 0.5 s), split into fit /
  write / analyse;
* PrusaSlicer (``prusa-slicer``, Debian package) slicing the same unit and the
  same plate exported as STL with the recipe's layer height, line width,
  perimeters and 100 % rectilinear infill: its wall time, the time ratio, and
  its deposited volume (read by printpharm's analyser) against the target.
  If PrusaSlicer is missing or cannot run headless, that column says so.
"""

from __future__ import annotations

import functools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import trimesh

from printpharm.catalog import load_catalog
from printpharm.catalog.schema import Recipe
from printpharm.geometry.mesh import form_mesh
from printpharm.geometry.plate import layout_plate
from printpharm.geometry.stl import save_stl
from printpharm.services.run.planning import (
    PlanResult,
    machine_settings,
    plan_batch,
    process_settings,
    recipe_form_spec,
)
from printpharm.slicing.analysis import analyse_gcode
from printpharm.slicing.fit import fit_unit
from printpharm.slicing.gcode import write_plate

REPEATS_UNIT = 15
REPEATS_PLATE = 5
PLATE_UNITS = 30


def _mid_dose(recipe: Recipe) -> Decimal:
    assert recipe.dose is not None
    low, high, step = recipe.dose.range.min, recipe.dose.range.max, recipe.dose.step.value
    return ((low + high) / 2 / step).to_integral_value() * step


def _median_s(
    fn: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Median duration of ``fn()`` (wall clock by default, or ``time.process_time``)."""
    times: list[float] = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def _prusa_args(plan: PlanResult, stl: Path, out: Path, centre: tuple[float, float]) -> list[str]:
    s = plan.settings["settings"]
    nozzle = str(s["nozzle_inner_diameter"]["value"])
    infill = "concentric" if s["infill_pattern"]["value"] == "concentric" else "rectilinear"
    density = float(s["infill_density"]["value"]) * 100
    return [
        "prusa-slicer",
        "--export-gcode",
        str(stl),
        "--output",
        str(out),
        "--layer-height",
        str(plan.layer_height_mm),
        "--first-layer-height",
        str(plan.first_layer_height_mm),
        "--nozzle-diameter",
        nozzle,
        "--extrusion-width",
        str(plan.line_width_mm),
        "--first-layer-extrusion-width",
        str(plan.first_layer_line_width_mm),
        "--perimeters",
        str(s["perimeters_count"]["value"]),
        "--fill-density",
        f"{density:g}%",
        "--fill-pattern",
        infill,
        "--top-fill-pattern",
        "rectilinear",
        "--bottom-fill-pattern",
        "rectilinear",
        "--filament-diameter",
        str(plan.extrusion["diameter_mm"]),
        "--use-relative-e-distances",
        "--skirts",
        "0",
        "--center",
        f"{centre[0]:g},{centre[1]:g}",
        "--dont-arrange",
    ]


def _prusa(plan: PlanResult, mesh: trimesh.Trimesh, units: int, work: Path) -> str:
    exe = shutil.which("prusa-slicer")
    if exe is None:
        return "PrusaSlicer not installed (apt-get install -y prusa-slicer): column skipped"
    stl, out = work / f"plate{units}.stl", work / f"plate{units}.gcode"
    save_stl(mesh, stl)
    centre = tuple(float(c) for c in mesh.bounds.mean(axis=0)[:2])
    args = _prusa_args(plan, stl, out, centre)  # type: ignore[arg-type]
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        return f"PrusaSlicer could not slice headless ({tail}): column skipped"
    text = out.read_text(encoding="utf-8", errors="replace")
    analysis = analyse_gcode(text, "filament_mm", plan.extrusion["diameter_mm"])
    per_unit = analysis.total.volume_mm3 / units
    error = (per_unit / plan.target_volume_mm3 - 1) * 100
    return f"{wall * 1000:8.1f} ms | volume/unit {per_unit:9.3f} mm3 ({error:+.2f} % vs target)"


def _breakdown(catalog: object, recipe: Recipe, plan: PlanResult) -> str:
    """Median times of the plate's stages: fit (size + slice), write, analyse."""
    resolved = catalog.resolve(recipe.id)  # type: ignore[attr-defined]
    ink, printer = catalog.ink(recipe.ink), catalog.printer(recipe.printer)  # type: ignore[attr-defined]
    process, machine = process_settings(resolved), machine_settings(printer, ink, resolved)
    spec, target = recipe_form_spec(recipe), plan.target_volume_mm3
    fitted = fit_unit(spec, target, process)
    layout = layout_plate(
        fitted.sized.form.footprint(0.0), PLATE_UNITS, machine.bed_x_mm, machine.bed_y_mm
    )
    fit_s = _median_s(lambda: fit_unit(spec, target, process), REPEATS_PLATE)
    write_s = _median_s(
        lambda: write_plate(fitted.sliced, layout.offsets_mm, machine, process), REPEATS_PLATE
    )
    text = write_plate(fitted.sliced, layout.offsets_mm, machine, process)
    read_s = _median_s(lambda: analyse_gcode(text), REPEATS_PLATE)
    return (
        f"fit {fit_s * 1000:.1f} ms, write {write_s * 1000:.1f} ms, analyse {read_s * 1000:.1f} ms"
    )


def _plate_mesh(plan: PlanResult, units: int) -> trimesh.Trimesh:
    one = form_mesh(plan.form)
    footprint = plan.form.footprint(0.0)
    layout = layout_plate(footprint, units, 200, 200)
    copies = []
    for dx, dy in layout.offsets_mm:
        copy = one.copy()
        copy.apply_translation([dx, dy, 0.0])
        copies.append(copy)
    plate: trimesh.Trimesh = trimesh.util.concatenate(copies)  # type: ignore[assignment]
    return plate


def main() -> int:
    catalog = load_catalog()
    recipes = [r for r in catalog.recipes() if r.dose is not None]
    print(f"printpharm planning benchmark (python {sys.version.split()[0]})")
    print("times: median wall clock after a warm-up; PrusaSlicer includes its process start")
    work = Path(tempfile.mkdtemp(prefix="bench_plan_"))
    for recipe in recipes:
        dose = _mid_dose(recipe)
        plan_batch(catalog, recipe.id, dose, 1)  # warm-up
        unit_s = _median_s(functools.partial(plan_batch, catalog, recipe.id, dose, 1), REPEATS_UNIT)
        plate_s = _median_s(
            functools.partial(plan_batch, catalog, recipe.id, dose, PLATE_UNITS), REPEATS_PLATE
        )
        unit_cpu = _median_s(
            functools.partial(plan_batch, catalog, recipe.id, dose, 1),
            REPEATS_UNIT,
            time.process_time,
        )
        plate_cpu = _median_s(
            functools.partial(plan_batch, catalog, recipe.id, dose, PLATE_UNITS),
            REPEATS_PLATE,
            time.process_time,
        )
        plan = plan_batch(catalog, recipe.id, dose, PLATE_UNITS)
        worst = plan.worst_volume_error_fraction * 100
        print(
            f"\n{recipe.id} @ {dose} mg: target {plan.target_volume_mm3:.3f} mm3/unit, "
            f"{plan.layers} layers, dims "
            + ", ".join(f"{k}={v:.3f}" for k, v in plan.dimensions_mm.items())
        )
        print(
            f"  printpharm 1 unit      : {unit_s * 1000:8.1f} ms wall, "
            f"{unit_cpu * 1000:.1f} ms CPU (target <= 50 ms)"
        )
        print(
            f"  printpharm {PLATE_UNITS} units    : {plate_s * 1000:8.1f} ms wall, "
            f"{plate_cpu * 1000:.1f} ms CPU (target <= 500 ms), {plan.line_count} lines, "
            f"worst unit {worst:.4f} % from target"
        )
        print(f"  {PLATE_UNITS}-unit stages      : {_breakdown(catalog, recipe, plan)}")
        one = _prusa(plan, form_mesh(plan.form), 1, work)
        print(f"  PrusaSlicer 1 unit     : {one}")
        ratio_note = ""
        many = _prusa(plan, _plate_mesh(plan, PLATE_UNITS), PLATE_UNITS, work)
        if " ms " in many:
            prusa_ms = float(many.split(" ms")[0])
            ratio_note = f" | PrusaSlicer/printpharm time {prusa_ms / (plate_s * 1000):.1f}x"
        if " ms " in one:
            prusa_one_ms = float(one.split(" ms")[0])
            print(
                f"  time ratio 1 unit      : PrusaSlicer/printpharm "
                f"{prusa_one_ms / (unit_s * 1000):.1f}x"
            )
        print(f"  PrusaSlicer {PLATE_UNITS} units   : {many}{ratio_note}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Planning speed and accuracy, side by side with CuraEngine (and PrusaSlicer) as processes.

Run: ``python tests/benchmarks/bench_plan.py [--recipe ID] [--runs N] [--no-in-process]``
(not collected by pytest; nothing is asserted).

Prints, per shipped recipe at a mid-range dose:

* in-process: one unit planned (dose → sized form → toolpaths → G-code → analysis
  of that G-code), median of repeated runs after imports and a warm-up, and a
  30-unit plate split into fit / write / analyse;
* whole process, in the same run: ``printpharm plan`` from the shell (interpreter
  start, imports, catalog, plan, G-code file) against ``CuraEngine slice`` on the
  same shape (the unit ``printpharm plan --stl`` exports; for the plate, 30
  copies at printpharm's layout) with the same layer heights, line width, walls,
  infill density and no skirt; median and best of ``--runs`` interleaved runs,
  the ratio printpharm/CuraEngine (below 1: printpharm is faster), and each
  one's deposited volume per unit (read back by printpharm's analyser) against
  the target. Targets (issue 15): the plate at or below CuraEngine's time, one
  unit within 3× of it, printpharm's volume exact (±0.5 %).
* PrusaSlicer's command line on the same STLs, if installed.

CuraEngine is the Debian package ``cura-engine``; its setting definitions
(``fdmprinter.def.json``) come with the ``cura`` package
(``/usr/share/cura/resources/definitions``). Without ``cura`` (it pulls in a whole
Qt 5 desktop), unpack them from the package instead and point
``CURA_DEFINITIONS`` at them::

    apt-get install -y cura-engine && apt-get download cura
    dpkg-deb -x cura_*.deb /opt/cura-deb
    CURA_DEFINITIONS=/opt/cura-deb/usr/share/cura/resources/definitions \
        python tests/benchmarks/bench_plan.py

CuraEngine's command line evaluates no setting formulas (the Cura front end
does), so every derived width and distance is given explicitly.
Byte code is cached for the printpharm processes as an installed package has it
(see ``bench_startup.py``).
"""

from __future__ import annotations

import argparse
import functools
import os
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

from printpharm.catalog import Catalog, load_catalog
from printpharm.catalog.schema import Recipe
from printpharm.errors import InputError
from printpharm.geometry.mesh import form_mesh
from printpharm.geometry.plate import layout_plate
from printpharm.geometry.stl import save_stl
from printpharm.services.run.form_specs import recipe_form_spec
from printpharm.services.run.planning import (
    PlanResult,
    machine_settings,
    plan_batch,
    process_settings,
)
from printpharm.slicing.analysis import analyse_gcode
from printpharm.slicing.fit import fit_unit
from printpharm.slicing.gcode import write_plate

REPEATS_UNIT = 15
REPEATS_PLATE = 5
PLATE_UNITS = 30
CURA_DEFINITION_DIRS = (
    os.environ.get("CURA_DEFINITIONS", ""),
    "/usr/share/cura/resources/definitions",
    "/opt/cura-deb/usr/share/cura/resources/definitions",
)


def _mid_dose(recipe: Recipe) -> Decimal:
    assert recipe.dose is not None
    low, high, step = recipe.dose.range.min, recipe.dose.range.max, recipe.dose.step.value
    return ((low + high) / 2 / step).to_integral_value() * step


def _bench_dose(catalog: Catalog, recipe: Recipe) -> Decimal:
    """The mid dose, stepped down until a plate of PLATE_UNITS fits the printer's syringe."""
    assert recipe.dose is not None
    dose, step = _mid_dose(recipe), recipe.dose.step.value
    while True:
        try:
            plan_batch(catalog, recipe.id, dose, PLATE_UNITS)
            return dose
        except InputError as exc:
            if "largest batch that fits" not in str(exc) or dose - step < recipe.dose.range.min:
                raise
            dose -= step


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


def _plate_mesh(
    plan: PlanResult, units: int, offsets: list[tuple[float, float]] | None = None
) -> trimesh.Trimesh:
    one = form_mesh(plan.form)
    if offsets is None:
        offsets = list(layout_plate(plan.form.footprint(0.0), units, 200, 200).offsets_mm)
    copies = []
    for dx, dy in offsets[:units]:
        copy = one.copy()
        copy.apply_translation([dx, dy, 0.0])
        copies.append(copy)
    plate: trimesh.Trimesh = trimesh.util.concatenate(copies)  # type: ignore[assignment]
    return plate


# -- whole processes: printpharm plan vs CuraEngine -------------------------------------


def _process_env() -> dict[str, str]:
    """Byte code cached outside the worktree, as an installed package has it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "printpharm-bench-pycache")
    return env


def _printpharm_cmd(recipe: Recipe, dose: Decimal, units: int, out: Path) -> list[str]:
    script = Path(sys.executable).with_name("printpharm")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "printpharm"]
    return head + [
        "plan", "--recipe", recipe.id, "--dose-mg", str(dose), "--units", str(units),
        "--out", str(out),
    ]  # fmt: skip


def _cura_definitions() -> Path | None:
    for folder in CURA_DEFINITION_DIRS:
        if folder and (Path(folder) / "fdmprinter.def.json").is_file():
            return Path(folder)
    return None


def _cura_cmd(plan: PlanResult, definitions: Path, stl: Path, out: Path) -> list[str]:
    """CuraEngine with printpharm's geometry settings, every derived value given explicitly."""
    s = plan.settings["settings"]
    width, first_width = plan.line_width_mm, plan.first_layer_line_width_mm
    walls = int(s["perimeters_count"]["value"])
    density = float(s["infill_density"]["value"])
    pattern = "concentric" if s["infill_pattern"]["value"] == "concentric" else "lines"
    if s["infill_pattern"]["value"] == "grid":
        pattern = "grid"
    distance = width / density * (2 if pattern == "grid" else 1)
    per_extruder = [
        f"layer_height={plan.layer_height_mm}",
        f"layer_height_0={plan.first_layer_height_mm}",
        f"machine_nozzle_size={s['nozzle_inner_diameter']['value']}",
        f"material_diameter={plan.extrusion['diameter_mm']}",
        *(
            f"{key}={width}"
            for key in (
                "line_width",
                "wall_line_width",
                "wall_line_width_0",
                "wall_line_width_x",
                "skin_line_width",
                "infill_line_width",
            )
        ),  # fmt: skip
        f"initial_layer_line_width_factor={first_width / width * 100:g}",
        f"wall_line_count={walls}",
        f"wall_thickness={walls * width:g}",
        f"infill_sparse_density={density * 100:g}",
        f"infill_line_distance={distance:g}",
        f"infill_pattern={pattern}",
        "top_layers=0",  # like printpharm: every layer is infill at the recipe's density
        "bottom_layers=0",
    ]
    machine = ["adhesion_type=none", "machine_center_is_zero=true", "relative_extrusion=true"]
    machine += ["machine_width=1000", "machine_depth=1000", "machine_height=200"]
    args = ["CuraEngine", "slice", "-j", str(definitions / "fdmprinter.def.json")]
    for setting in per_extruder + machine:
        args += ["-s", setting]
    args.append("-e0")
    for setting in per_extruder:
        args += ["-s", setting]
    return args + ["-l", str(stl), "-o", str(out)]


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {tail}")
    return wall


def _interleaved(
    commands: dict[str, list[str]], env: dict[str, str], runs: int
) -> dict[str, list[float]]:
    """Wall times of each command, run in turn (A B A B ...) after one warm-up each."""
    for argv in commands.values():
        _timed(argv, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(_timed(argv, env))
    return times


def _unit_volumes(
    path: Path, units: int, e_units: str, diameter: float, target: float
) -> tuple[float, float]:
    """(mean volume per unit mm³, worst unit's error in %) of a G-code file, by printpharm's
    reader. printpharm's files mark every unit; CuraEngine's do not, so its total is divided.
    """
    analysis = analyse_gcode(path.read_text(encoding="utf-8", errors="replace"), e_units, diameter)
    volumes = [stats.volume_mm3 for stats in analysis.units.values()]
    if not volumes:
        volumes = [analysis.total.volume_mm3 / units]
    errors_pct = [(v / target - 1) * 100 for v in volumes]
    return statistics.fmean(volumes), max(errors_pct, key=abs)


def _whole_process(
    catalog: Catalog, recipe: Recipe, dose: Decimal, work: Path, runs: int, definitions: Path | None
) -> None:
    """Time ``printpharm plan`` and CuraEngine as processes for 1 unit and the plate."""
    env = _process_env()
    unit_stl = work / f"{recipe.id}-unit.stl"
    gcode = work / f"{recipe.id}-plan.gcode"
    subprocess.run(
        _printpharm_cmd(recipe, dose, 1, gcode) + ["--stl", str(unit_stl)], env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    plan = plan_batch(catalog, recipe.id, dose, PLATE_UNITS)
    ink, printer = catalog.ink(recipe.ink), catalog.printer(recipe.printer)
    machine = machine_settings(printer, ink, catalog.resolve(recipe.id))
    layout = layout_plate(
        plan.form.footprint(0.0), PLATE_UNITS, machine.bed_x_mm, machine.bed_y_mm,
        machine.clearance_mm, machine.margin_mm,
    )  # fmt: skip
    plate_stl = work / f"{recipe.id}-plate.stl"
    save_stl(_plate_mesh(plan, PLATE_UNITS, list(layout.offsets_mm)), plate_stl)
    target = plan.target_volume_mm3
    e_units, diameter = plan.extrusion["e_units"], plan.extrusion["diameter_mm"]
    print(f"  whole process ({runs} interleaved runs; median / best wall s):")
    for units, stl in ((1, unit_stl), (PLATE_UNITS, plate_stl)):
        ours, cura_out = work / f"pp{units}.gcode", work / f"cura{units}.gcode"
        commands = {"printpharm": _printpharm_cmd(recipe, dose, units, ours)}
        if definitions is not None:
            commands["CuraEngine"] = _cura_cmd(plan, definitions, stl, cura_out)
        try:
            times = _interleaved(commands, {**env, **_cura_env(definitions)}, runs)
        except RuntimeError as exc:
            print(f"    {units} unit(s): {exc}")
            continue
        label = f"{units} unit" + ("s" if units > 1 else "")
        pp_med, pp_best = statistics.median(times["printpharm"]), min(times["printpharm"])
        mean, worst = _unit_volumes(ours, units, e_units, diameter, target)
        print(
            f"    printpharm {label:8s}: {pp_med:6.3f} / {pp_best:6.3f} s | volume/unit "
            f"{mean:9.3f} mm3 (worst unit {worst:+.3f} % vs target {target:.3f})"
        )
        if "CuraEngine" not in times:
            continue
        cu_med, cu_best = statistics.median(times["CuraEngine"]), min(times["CuraEngine"])
        c_mean, c_err = _unit_volumes(cura_out, units, "filament_mm", diameter, target)
        print(
            f"    CuraEngine {label:8s}: {cu_med:6.3f} / {cu_best:6.3f} s | volume/unit "
            f"{c_mean:9.3f} mm3 (mean {c_err:+.3f} % vs target)"
        )
        goal = "<= 1" if units > 1 else "<= 3"
        print(
            f"    ratio printpharm/CuraEngine {label}: {pp_med / cu_med:.2f} (median), "
            f"{pp_best / cu_best:.2f} (best); target {goal}"
        )
    if definitions is None:
        print(
            "    CuraEngine: fdmprinter.def.json not found (apt-get install -y cura-engine cura, "
            "or set CURA_DEFINITIONS; see this file's docstring): column skipped"
        )


def _cura_env(definitions: Path | None) -> dict[str, str]:
    if definitions is None:
        return {}
    extruders = definitions.parent / "extruders"
    return {"CURA_ENGINE_SEARCH_PATH": os.pathsep.join((str(definitions), str(extruders)))}


def _in_process(catalog: Catalog, recipe: Recipe, dose: Decimal, work: Path) -> None:
    plan_batch(catalog, recipe.id, dose, 1)  # warm-up
    fn_unit = functools.partial(plan_batch, catalog, recipe.id, dose, 1)
    fn_plate = functools.partial(plan_batch, catalog, recipe.id, dose, PLATE_UNITS)
    unit_s = _median_s(fn_unit, REPEATS_UNIT)
    plate_s = _median_s(fn_plate, REPEATS_PLATE)
    unit_cpu = _median_s(fn_unit, REPEATS_UNIT, time.process_time)
    plate_cpu = _median_s(fn_plate, REPEATS_PLATE, time.process_time)
    plan = fn_plate()
    worst = plan.worst_volume_error_fraction * 100
    print(
        f"  in-process 1 unit      : {unit_s * 1000:8.1f} ms wall, "
        f"{unit_cpu * 1000:.1f} ms CPU (target <= 50 ms)"
    )
    print(
        f"  in-process {PLATE_UNITS} units    : {plate_s * 1000:8.1f} ms wall, "
        f"{plate_cpu * 1000:.1f} ms CPU (target <= 500 ms), {plan.line_count} lines, "
        f"worst unit {worst:.4f} % from target"
    )
    print(f"  {PLATE_UNITS}-unit stages      : {_breakdown(catalog, recipe, plan)}")
    one = _prusa(plan, form_mesh(plan.form), 1, work)
    print(f"  PrusaSlicer 1 unit     : {one}")
    if "not installed" in one:
        return
    many = _prusa(plan, _plate_mesh(plan, PLATE_UNITS), PLATE_UNITS, work)
    print(f"  PrusaSlicer {PLATE_UNITS} units   : {many}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", action="append", help="only this recipe (repeatable)")
    parser.add_argument("--runs", type=int, default=7, help="whole-process runs per command")
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process figures")
    args = parser.parse_args()
    catalog = load_catalog()
    recipes = [r for r in catalog.recipes() if r.dose is not None]
    if args.recipe:
        recipes = [r for r in recipes if r.id in args.recipe]
    definitions = _cura_definitions()
    engine = shutil.which("CuraEngine")
    if engine is None:
        definitions = None
    print(f"printpharm planning benchmark (python {sys.version.split()[0]}, {os.cpu_count()} CPUs,")
    print(f"load average {os.getloadavg()[0]:.2f}); CuraEngine {engine or 'not installed'}")
    work = Path(tempfile.mkdtemp(prefix="bench_plan_"))
    for recipe in recipes:
        dose = _bench_dose(catalog, recipe)
        plan = plan_batch(catalog, recipe.id, dose, 1)
        print(
            f"\n{recipe.id} @ {dose} mg: target {plan.target_volume_mm3:.3f} mm3/unit, "
            f"{plan.layers} layers, dims "
            + ", ".join(f"{k}={v:.3f}" for k, v in plan.dimensions_mm.items())
        )
        if not args.no_in_process:
            _in_process(catalog, recipe, dose, work)
        _whole_process(catalog, recipe, dose, work, args.runs, definitions)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

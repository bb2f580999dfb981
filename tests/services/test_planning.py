"""Planning with the shipped catalog: every recipe, 20+ doses, read back from the G-code."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.catalog.schema import Recipe
from printpharm.errors import DesignSpaceError, GeometryError
from printpharm.geometry.stl import load_stl
from printpharm.services.run.planning import (
    LINK_SHARE,
    PlanResult,
    plan_batch,
    save_unit_stl,
)
from printpharm.slicing.analysis import analyse_gcode

DOSES_PER_RECIPE = 21
UNITS = 2


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _dose_recipes() -> list[str]:
    return sorted(r.id for r in load_catalog().recipes() if r.dose is not None)


def _doses(recipe: Recipe) -> list[Decimal]:
    assert recipe.dose is not None
    low, high, step = recipe.dose.range.min, recipe.dose.range.max, recipe.dose.step.value
    picks = np.linspace(float(low), float(high), DOSES_PER_RECIPE)
    doses = {
        min(high, max(low, (Decimal(str(p)) / step).to_integral_value() * step)) for p in picks
    }
    return sorted(doses | {low, high})


def _within_bounds(recipe: Recipe, plan: PlanResult) -> None:
    names = {
        "diameter": "diameter_mm",
        "height": "height_mm",
        "width": "width_mm",
        "outer_diameter": "outer_diameter_mm",
    }
    for dim in recipe.form.free_dimensions():
        if dim in names:
            low, high = recipe.form.limits(dim)
            value = plan.dimensions_mm[names[dim]]
            assert float(low) - 1e-9 <= value <= float(high) + 1e-9, (dim, value)
    if plan.fill_fraction is not None:
        low, high = recipe.form.limits("fill_fraction")
        assert float(low) <= plan.fill_fraction <= float(high)


@pytest.mark.parametrize("recipe_id", _dose_recipes())
def test_every_dose_of_every_recipe_is_deposited_exactly(catalog: Catalog, recipe_id: str) -> None:
    recipe = catalog.recipe(recipe_id)
    doses = _doses(recipe)
    assert len(doses) >= 20
    for dose in doses:
        plan = plan_batch(catalog, recipe_id, dose, UNITS)
        # read the G-code back knowing only what the plan says E means
        ext = plan.extrusion
        analysis = analyse_gcode(plan.gcode, ext["e_units"], ext["diameter_mm"])
        volumes = [analysis.units[n].volume_mm3 for n in range(1, UNITS + 1)]
        target = plan.target_volume_mm3
        for volume in volumes:
            assert abs(volume / target - 1) <= 0.005, (recipe_id, dose, volume, target)
        assert (max(volumes) - min(volumes)) / target <= 0.001
        _within_bounds(recipe, plan)
        rows = analysis.printing[analysis.printing[:, 1] > plan.first_layer_height_mm + 1e-6]
        if len(rows):
            per_mm = rows[:, 3] / rows[:, 2]
            nominal = plan.line_width_mm * plan.layer_height_mm
            assert np.mean(np.abs(per_mm / nominal - 1) <= 0.05) >= 0.95


def test_dose_chain_mass_and_volume(catalog: Catalog) -> None:
    plan = plan_batch(catalog, "cpm-chewable-disc", "10", 1)
    ink = catalog.ink("cyclophosphamide-sse-chewable")
    assert plan.ink_mass_mg == pytest.approx(10 / 0.050)  # 50 mg/g
    a, b = float(ink.calibration.a.value), float(ink.calibration.b.value)
    assert plan.target_volume_mm3 == pytest.approx((plan.target_mass_mg - b) / a)
    assert plan.extrusion == {"e_units": "plunger_mm", "diameter_mm": 14.5, "relative": True}
    assert ";PRINTPHARM UNIT_START n=1 of=1 target_mm3=" in plan.gcode
    assert f"target_mg={plan.target_mass_mg:.4f}" in plan.gcode


def test_dried_drug_load_sets_the_weighed_mass(catalog: Catalog) -> None:
    ink = catalog.ink("sildenafil-sse")
    plan = plan_batch(catalog, "sildenafil-caplet", "10", 1)
    assert plan.target_mass_mg == pytest.approx(10 / float(ink.weighed_drug_load().value) * 1000)


@pytest.mark.parametrize(
    ("dose", "needle"),
    [
        ("45", "outside the validated range 5–40 mg of recipe cpm-chewable-disc"),
        ("4.5", "outside the validated range"),
        ("10.3", "not a multiple of the 0.5 mg dose step"),
        ("abc", "is not a number"),
    ],
)
def test_doses_outside_the_design_space_are_refused(
    catalog: Catalog, dose: str, needle: str
) -> None:
    with pytest.raises(DesignSpaceError, match=needle):
        plan_batch(catalog, "cpm-chewable-disc", dose, 1)


def test_calibration_recipe_and_other_printer_are_refused(catalog: Catalog) -> None:
    with pytest.raises(DesignSpaceError, match="calibration series"):
        plan_batch(catalog, "calibration-series", "10", 1)
    with pytest.raises(DesignSpaceError, match="validated on printer marlin-sse, not marlin-fdm"):
        plan_batch(catalog, "cpm-chewable-disc", "10", 1, printer_id="marlin-fdm")


def test_a_plate_that_does_not_fit_says_how_many_do(catalog: Catalog) -> None:
    with pytest.raises(GeometryError, match=r"do not fit .* \d+ fit"):
        plan_batch(catalog, "cpm-chewable-disc", "40", 500)


def test_overrides_change_the_toolpaths_not_the_dose(catalog: Catalog) -> None:
    base = plan_batch(catalog, "cpm-chewable-disc", "20", 1)
    slow = plan_batch(
        catalog,
        "cpm-chewable-disc",
        "20",
        1,
        overrides={"print_speed": {"value": Decimal("4"), "unit": "mm/s"}},
    )
    assert slow.estimated_time_s > base.estimated_time_s
    assert slow.unit_volumes_mm3[0] == pytest.approx(base.unit_volumes_mm3[0], rel=1e-4)


def test_unit_stl_is_a_watertight_solid(catalog: Catalog, tmp_path: Path) -> None:
    plan = plan_batch(catalog, "propranolol-ring", "8", 1)
    mesh = load_stl(save_unit_stl(plan, tmp_path / "unit.stl"))
    assert mesh.is_watertight
    assert mesh.extents[2] == pytest.approx(plan.dimensions_mm["height_mm"], abs=1e-4)


def test_capsule_fill_fraction_is_reported(catalog: Catalog) -> None:
    plan = plan_batch(catalog, "minoxidil-capsule-fill", "3", 1)
    assert plan.fill_fraction == pytest.approx(plan.target_volume_mm3 / 680.0)


def test_the_run_service_reads_the_plan(catalog: Catalog) -> None:
    from printpharm.services.run.program import parse_plate_gcode

    plan = plan_batch(catalog, "sildenafil-caplet", "10", 3)
    program = parse_plate_gcode(plan.gcode)
    assert [u.n for u in program.units] == [1, 2, 3]
    for unit in program.units:
        assert float(unit.target_mg) == pytest.approx(plan.target_mass_mg, abs=1e-4)
        assert unit.lines[-2:] == ("M400", f";PRINTPHARM WEIGH n={unit.n}")


def test_the_plan_carries_the_toolpaths_it_wrote(catalog: Catalog) -> None:
    plan = plan_batch(catalog, "propranolol-ring", "8", 1)
    assert plan.toolpaths.volume_mm3 == pytest.approx(plan.unit_volumes_mm3[0], rel=1e-4)
    assert len(plan.toolpaths.layers) == plan.layers


def test_no_shipped_recipe_outruns_its_serial_link(catalog: Catalog) -> None:
    for recipe_id in _dose_recipes():
        recipe = catalog.recipe(recipe_id)
        assert recipe.dose is not None
        plan = plan_batch(catalog, recipe_id, recipe.dose.range.max, 3)
        assert not [w for w in plan.warnings if "lines/s" in w], recipe_id


def test_a_plan_faster_than_a_slow_link_is_flagged(tmp_path: Path) -> None:
    """The FDM recipe's short curve segments need ~50 lines/s; 9600 baud carries ~27."""
    import shutil

    root = Path(__file__).resolve().parents[2]
    for sub in ("inks", "recipes", "gcode"):
        shutil.copytree(root / sub, tmp_path / sub)
    printer = tmp_path / "gcode" / "printers" / "marlin-fdm.toml"
    printer.write_text(printer.read_text().replace("baud = 115200", "baud = 9600"))
    slow = load_catalog(tmp_path)
    plan = plan_batch(slow, "hydrocortisone-fdm-tablet", Decimal("5"), 1)
    (warning,) = [w for w in plan.warnings if "lines/s" in w]
    demand = float(warning.split("up to ")[1].split(" ")[0])
    carried = float(warning.split("carries about ")[1].split(":")[0])
    assert demand > LINK_SHARE * carried
    assert 20 < carried < 30 and "9600-baud link to marlin-fdm" in warning

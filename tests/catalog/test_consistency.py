"""Every dose of every shipped recipe fits a unit inside the recipe's form bounds.

Plain arithmetic, independent of the geometry package: ink volume (mm³) =
dose (mg) × 1000 / drug load (mg/g) / density (g/cm³ = mg/mm³), compared with
the volumes the template allows within its bounds — first as a whole (smallest
and largest corner), then in whole layers of the resolved process (the height
is a whole number of layers inside its bounds and the footprint inside its
bounds gives the exact volume), which is how the slicer deposits it.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from pathlib import Path

import pytest

from printpharm.catalog import load_catalog
from printpharm.catalog.schema import CAPSULE_VOLUME_ML, TEMPLATE_DIMENSIONS, FormSpec, Recipe

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT)
RECIPE_IDS = [r.id for r in CATALOG.recipes()]


def template_volume_mm3(form: FormSpec, dims: dict[str, float]) -> float:
    """Volume of one dose of ``form`` with the given dimensions (textbook formulas)."""
    t = form.template
    if t == "capsule_fill":
        assert form.capsule_size is not None
        return dims["fill_fraction"] * float(CAPSULE_VOLUME_ML[form.capsule_size]) * 1000
    return footprint_area_mm2(form, dims) * dims["height"]


def footprint_area_mm2(form: FormSpec, dims: dict[str, float]) -> float:
    t = form.template
    if t in ("disc", "minitablet"):
        return (form.count_per_dose or 1) * math.pi / 4 * dims["diameter"] ** 2
    if t == "caplet":  # stadium: rectangle (L - w) × w plus a circle of diameter w
        w = dims["width"]
        return w * (dims["length_width_ratio"] * w - w) + math.pi / 4 * w**2
    assert t == "ring"
    od = dims["outer_diameter"]
    return math.pi / 4 * (od**2 - (dims["inner_outer_ratio"] * od) ** 2)


def corners(form: FormSpec, names: tuple[str, ...]) -> list[dict[str, float]]:
    choices = [[float(x) for x in set(form.limits(name))] for name in names]
    return [dict(zip(names, c, strict=True)) for c in itertools.product(*choices)]


def volume_limits_mm3(form: FormSpec) -> tuple[float, float]:
    """Smallest and largest volume over all corners of the dimensions' limits."""
    names = TEMPLATE_DIMENSIONS[form.template]
    volumes = [template_volume_mm3(form, dims) for dims in corners(form, names)]
    return min(volumes), max(volumes)


def fits_in_whole_layers(recipe: Recipe, volume_mm3: float) -> bool:
    """Is there a whole layer count and a footprint within bounds depositing the volume?"""
    form = recipe.form
    if form.template == "capsule_fill":
        lo, hi = volume_limits_mm3(form)
        return lo <= volume_mm3 <= hi
    process = CATALOG.resolve(recipe.id).process
    first, layer = float(process.first_layer_height.value), float(process.layer_height.value)
    h_lo, h_hi = (float(x) for x in form.limits("height"))
    footprint = tuple(n for n in TEMPLATE_DIMENSIONS[form.template] if n != "height")
    areas = [footprint_area_mm2(form, dims) for dims in corners(form, footprint)]
    for n in range(1, 1000):
        height = first + (n - 1) * layer
        if height > h_hi + 1e-9:
            return False
        if height >= h_lo - 1e-9 and min(areas) <= volume_mm3 / height <= max(areas):
            return True
    return False


def dose_steps(recipe: Recipe) -> list[Decimal]:
    assert recipe.dose is not None
    low, high, step = recipe.dose.range.min, recipe.dose.range.max, recipe.dose.step.value
    return [low + i * step for i in range(int((high - low) / step) + 1)]


def test_formulas_on_a_hand_computed_disc() -> None:
    form = CATALOG.recipe("cpm-chewable-disc").form
    # 9 mm × 0.6 mm → 38.17 mm³, 13 mm × 7.0 mm → 929.1 mm³
    lo, hi = volume_limits_mm3(form)
    assert lo == pytest.approx(math.pi / 4 * 81 * 0.6)
    assert hi == pytest.approx(math.pi / 4 * 169 * 7.0)


def test_whole_layer_check_can_fail() -> None:
    recipe = CATALOG.recipe("cpm-chewable-disc")
    assert fits_in_whole_layers(recipe, 83.3)
    assert not fits_in_whole_layers(recipe, 20.0)  # below one 0.6 mm layer of Ø 9 mm
    assert not fits_in_whole_layers(recipe, 1000.0)  # above 11 layers of Ø 13 mm


@pytest.mark.parametrize("recipe_id", RECIPE_IDS)
def test_dose_range_fits_the_form_bounds(recipe_id: str) -> None:
    recipe = CATALOG.recipe(recipe_id)
    ink = CATALOG.ink(recipe.ink)
    lo, hi = volume_limits_mm3(recipe.form)
    if recipe.dose is None:
        assert recipe.calibration_series is not None
        needed = [float(v) for v in recipe.calibration_series.values]
    else:
        per_mg = 1000 / (float(ink.drug_load.value) * float(ink.density.value))
        needed = [float(dose) * per_mg for dose in dose_steps(recipe)]
    for volume in needed:
        assert lo <= volume <= hi, (
            f"{recipe_id}: needs {volume:.1f} mm3, form allows {lo:.1f}-{hi:.1f}"
        )
        assert fits_in_whole_layers(recipe, volume), f"{recipe_id}: {volume:.1f} mm3"


@pytest.mark.parametrize("recipe_id", RECIPE_IDS)
def test_dose_range_lies_inside_the_default_calibration(recipe_id: str) -> None:
    """Through the ink's calibration (weighed mass = a·V + b) the doses stay calibrated."""
    recipe = CATALOG.recipe(recipe_id)
    ink = CATALOG.ink(recipe.ink)
    calibration = ink.calibration.to_linear()
    if recipe.dose is None:
        assert recipe.calibration_series is not None
        for series_volume in recipe.calibration_series.values:
            calibration.mass_for_volume(float(series_volume))  # raises outside the range
        return
    load_mg_per_g = float(ink.weighed_drug_load().value)
    for dose_mg in dose_steps(recipe):
        volume = calibration.volume_for_mass(float(dose_mg) * 1000 / load_mg_per_g)
        assert fits_in_whole_layers(recipe, volume), f"{recipe_id}: {dose_mg} mg → {volume:.1f}"

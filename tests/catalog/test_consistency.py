"""Every dose of every shipped recipe fits a unit inside the recipe's form bounds.

Plain arithmetic, independent of the geometry package: ink volume (mm³) =
dose (mg) / drug load (mg/g) × 1000 / density (g/cm³ = mg/mm³), compared with
the smallest and largest volume the template allows within its bounds.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from printpharm.catalog import load_catalog
from printpharm.catalog.schema import CAPSULE_VOLUME_ML, TEMPLATE_DIMENSIONS, FormSpec, Span

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT)
RECIPE_IDS = [r.id for r in CATALOG.recipes()]


def template_volume_mm3(form: FormSpec, dims: dict[str, float]) -> float:
    """Volume of one dose of ``form`` with the given dimensions (textbook formulas)."""
    t = form.template
    if t in ("disc", "minitablet"):
        count = form.count_per_dose or 1
        return count * math.pi / 4 * dims["diameter"] ** 2 * dims["height"]
    if t == "caplet":  # stadium prism: rectangle (L - w) × w plus a circle of diameter w
        w = dims["width"]
        length = dims["length_width_ratio"] * w
        return (w * (length - w) + math.pi / 4 * w**2) * dims["height"]
    if t == "ring":
        od = dims["outer_diameter"]
        inner = dims["inner_outer_ratio"] * od
        return math.pi / 4 * (od**2 - inner**2) * dims["height"]
    assert t == "capsule_fill" and form.capsule_size is not None
    return dims["fill_fraction"] * float(CAPSULE_VOLUME_ML[form.capsule_size]) * 1000


def volume_limits_mm3(form: FormSpec) -> tuple[float, float]:
    """Smallest and largest volume over all corners of the free dimensions' bounds."""
    names = TEMPLATE_DIMENSIONS[form.template]
    choices: list[list[float]] = []
    for name in names:
        dim = form.dimension(name)
        if isinstance(dim, Span):
            choices.append([float(dim.min), float(dim.max)])
        else:
            choices.append([float(dim.value)])
    volumes = [
        template_volume_mm3(form, dict(zip(names, corner, strict=True)))
        for corner in itertools.product(*choices)
    ]
    return min(volumes), max(volumes)


def test_formulas_on_a_hand_computed_disc() -> None:
    form = CATALOG.recipe("cpm-chewable-disc").form
    # 12 mm disc: 0.6 mm → 67.86 mm³, 7.0 mm → 791.68 mm³
    lo, hi = volume_limits_mm3(form)
    assert lo == pytest.approx(math.pi * 36 * 0.6)
    assert hi == pytest.approx(math.pi * 36 * 7.0)


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
        needed = [float(recipe.dose.range.min) * per_mg, float(recipe.dose.range.max) * per_mg]
    for volume in needed:
        assert lo <= volume <= hi, (
            f"{recipe_id}: needs {volume:.1f} mm3, form allows {lo:.1f}-{hi:.1f} mm3"
        )


@pytest.mark.parametrize("recipe_id", RECIPE_IDS)
def test_dose_range_lies_inside_the_default_calibration(recipe_id: str) -> None:
    """Through the ink's calibration (weighed mass = a·V + b) the doses stay calibrated."""
    recipe = CATALOG.recipe(recipe_id)
    ink = CATALOG.ink(recipe.ink)
    calibration = ink.calibration.to_linear()
    lo, hi = volume_limits_mm3(recipe.form)
    if recipe.dose is None:
        assert recipe.calibration_series is not None
        volumes = [float(v) for v in recipe.calibration_series.values]
        for volume in volumes:
            calibration.mass_for_volume(volume)  # raises outside the calibrated range
        return
    load_mg_per_g = float(ink.weighed_drug_load().value)
    for dose_mg in (recipe.dose.range.min, recipe.dose.range.max):
        mass_mg = float(dose_mg) * 1000 / load_mg_per_g
        volume = calibration.volume_for_mass(mass_mg)  # raises outside the range
        assert lo <= volume <= hi, f"{recipe_id}: {dose_mg} mg needs {volume:.1f} mm3"

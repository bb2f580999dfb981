"""Each dosage form's sizing spec: the solid, its bounds and the dimension sized.

One builder per form of the registry (:data:`printpharm.core.forms.FORMS`); a recipe's
``[form]`` gives the reference values and bounds, :func:`recipe_form_spec` picks the
builder. Adding a dosage form adds its builder here (``tests/core/test_forms.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

from printpharm.catalog.schema import Recipe
from printpharm.errors import SizingError
from printpharm.geometry.sizing import FormSpec, Strategy, capsule_fill_spec
from printpharm.geometry.tablet import Caplet, Disc, MiniTablets, Ring

__all__ = ["FORM_SPEC_BUILDERS", "MINI_TABLET_GAP_MM", "recipe_form_spec"]

#: Gap between the mini-tablets of one dose (mm).
MINI_TABLET_GAP_MM = 2.0


def _mid(limits: tuple[Decimal, Decimal]) -> float:
    return math.sqrt(float(limits[0]) * float(limits[1]))


_Ref = Callable[[str], float]
_Bound = Callable[[str], tuple[float, float]]


def _disc(ref: _Ref, bound: _Bound, strategy: Strategy, recipe: Recipe) -> FormSpec:
    bounds = {"diameter_mm": bound("diameter"), "height_mm": bound("height")}
    return FormSpec(
        Disc(ref("diameter"), ref("height")), bounds, strategy, "diameter_mm", label="disc"
    )


def _minitablet(ref: _Ref, bound: _Bound, strategy: Strategy, recipe: Recipe) -> FormSpec:
    count = recipe.form.count_per_dose or 1
    reference = MiniTablets(ref("diameter"), ref("height"), count, MINI_TABLET_GAP_MM)
    bounds = {"diameter_mm": bound("diameter"), "height_mm": bound("height")}
    return FormSpec(reference, bounds, strategy, "diameter_mm", label="minitablet")


def _caplet(ref: _Ref, bound: _Bound, strategy: Strategy, recipe: Recipe) -> FormSpec:
    ratio, width = ref("length_width_ratio"), ref("width")
    bounds = {"width_mm": bound("width"), "height_mm": bound("height")}
    links = {"length_mm": ("width_mm", ratio)}
    reference = Caplet(width * ratio, width, ref("height"))
    return FormSpec(reference, bounds, strategy, "width_mm", label="caplet", linked=links)


def _ring(ref: _Ref, bound: _Bound, strategy: Strategy, recipe: Recipe) -> FormSpec:
    ratio, outer = ref("inner_outer_ratio"), ref("outer_diameter")
    bounds = {"outer_diameter_mm": bound("outer_diameter"), "height_mm": bound("height")}
    links = {"inner_diameter_mm": ("outer_diameter_mm", ratio)}
    reference = Ring(outer, outer * ratio, ref("height"))
    return FormSpec(reference, bounds, strategy, "outer_diameter_mm", label="ring", linked=links)


def _capsule_fill(ref: _Ref, bound: _Bound, strategy: Strategy, recipe: Recipe) -> FormSpec:
    assert recipe.form.capsule_size is not None  # the catalog requires it for capsule_fill
    return capsule_fill_spec(recipe.form.capsule_size)


#: How each dosage form of the registry (:data:`printpharm.core.forms.FORMS`) is sized:
#: its solid (``geometry/tablet.py``), its bounds and its sized dimension.
FORM_SPEC_BUILDERS: dict[str, Callable[[_Ref, _Bound, Strategy, Recipe], FormSpec]] = {
    "disc": _disc,
    "minitablet": _minitablet,
    "caplet": _caplet,
    "ring": _ring,
    "capsule_fill": _capsule_fill,
}


def recipe_form_spec(recipe: Recipe) -> FormSpec:
    """The geometry sizing spec of a recipe's form, strategy and bounds (mm).

    Raises
    ------
    SizingError
        If the recipe's template has no builder in :data:`FORM_SPEC_BUILDERS`.
    """
    form = recipe.form

    def ref(name: str) -> float:
        value = form.reference(name)
        return float(value) if value is not None else _mid(form.limits(name))

    def bound(name: str) -> tuple[float, float]:
        low, high = form.limits(name)
        return float(low), float(high)

    strategy: Strategy = "uniform_scale" if recipe.strategy == "uniform_scale" else "solve_height"
    builder = FORM_SPEC_BUILDERS.get(form.template)
    if builder is None:
        raise SizingError(f"recipe {recipe.id}: template {form.template!r} cannot be sized")
    return builder(ref, bound, strategy, recipe)

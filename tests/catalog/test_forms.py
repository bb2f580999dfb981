"""Form templates and sizing strategies beyond the shipped recipes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from printpharm.catalog.schema import FormSpec, Recipe


def exact(data: Any) -> Any:
    """Floats as the TOML loader reads them: exact decimals."""
    if isinstance(data, float):
        return Decimal(str(data))
    if isinstance(data, dict):
        return {k: exact(v) for k, v in data.items()}
    return data


def mm(lo: float, hi: float) -> dict[str, Any]:
    return {"min": lo, "max": hi, "unit": "mm"}


def recipe_data(form: dict[str, Any], strategy: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "id": "probe",
        "name": "probe",
        "example": True,
        "api": "x",
        "ink": "i",
        "printer": "p",
        "strategy": strategy,
        "alarm_policy": "stop",
        "validation_status": "test",
        "form": form,
        "dose": {"range": {"min": 1, "max": 2, "unit": "mg"}, "step": {"value": 1, "unit": "mg"}},
        "tolerances": {
            "unit_mass": {"value": 10, "unit": "%"},
            "mean_mass": {"value": 5, "unit": "%"},
            "flow_correction": {"min": -5, "max": 5, "unit": "%"},
        },
        "qc": {"tests": ["local"], "units_count": 4},
        "validated": {
            "nozzle_temperature": {"min": 20, "max": 30, "unit": "°C"},
            "bed_temperature": {"min": 20, "max": 30, "unit": "°C"},
        },
    }


def rule_message(form: dict[str, Any], strategy: str) -> str:
    with pytest.raises(ValidationError) as info:
        Recipe.model_validate(exact(recipe_data(form, strategy)))
    return str(info.value.errors()[0]["msg"])


MINI = {
    "template": "minitablet",
    "count_per_dose": 4,
    "diameter": {"value": 3, "unit": "mm"},
    "bounds": {"diameter": mm(2.5, 3.5), "height": mm(1, 3)},
}


def test_minitablets_with_a_count() -> None:
    recipe = Recipe.model_validate(exact(recipe_data(MINI, "fixed_diameter_solve_height")))
    assert recipe.form.count_per_dose == 4
    assert recipe.form.limits("diameter") == (Decimal("2.5"), Decimal("3.5"))


def test_minitablets_need_a_count() -> None:
    form = {k: v for k, v in MINI.items() if k != "count_per_dose"}
    assert rule_message(form, "fixed_diameter_solve_height") == (
        "count_per_dose is required for minitablet and only for it"
    )


def test_capsule_size_only_for_capsules() -> None:
    assert rule_message({**MINI, "capsule_size": "0"}, "fixed_diameter_solve_height") == (
        "capsule_size is required for capsule_fill and only for it"
    )


def test_strategy_must_fit_the_template() -> None:
    assert rule_message(MINI, "solve_fill_fraction") == (
        "strategy solve_fill_fraction does not apply to minitablet"
    )


def test_dimension_of_another_template_is_refused() -> None:
    form = {**MINI, "width": {"value": 3, "unit": "mm"}}
    assert rule_message(form, "fixed_diameter_solve_height") == (
        "width is not a dimension of minitablet"
    )


def test_caplet_uniform_scale_keeps_the_ratio_fixed() -> None:
    caplet = {
        "template": "caplet",
        "length_width_ratio": {"value": 2.2, "unit": "ratio"},
        "bounds": {"width": mm(5, 10), "height": mm(2, 4)},
    }
    recipe = Recipe.model_validate(exact(recipe_data(caplet, "uniform_scale")))
    assert recipe.form.free_dimensions() == ("width", "height")
    bounded_ratio = {
        **caplet,
        "bounds": {
            **caplet["bounds"],  # type: ignore[dict-item]
            "length_width_ratio": {"min": 2, "max": 4, "unit": "ratio"},
        },
    }
    assert rule_message(bounded_ratio, "uniform_scale") == (
        "strategy uniform_scale needs length_width_ratio fixed"
    )


def test_ring_ratio_cannot_be_solved_for() -> None:
    ring = {
        "template": "ring",
        "outer_diameter": {"value": 12, "unit": "mm"},
        "inner_outer_ratio": {"value": 0.3, "unit": "ratio"},
        "bounds": {
            "height": mm(1, 4),
            "inner_outer_ratio": {"min": 0.2, "max": 0.4, "unit": "ratio"},
        },
    }
    assert rule_message(ring, "fixed_footprint_solve_height") == (
        "strategy fixed_footprint_solve_height keeps inner_outer_ratio fixed"
    )


def test_form_spec_alone() -> None:
    fraction = {"min": 0.2, "max": 0.8, "unit": "fraction"}
    data = {"template": "capsule_fill", "capsule_size": "00", "bounds": {"fill_fraction": fraction}}
    form = FormSpec.model_validate(exact(data))
    assert form.free_dimensions() == ("fill_fraction",)
    assert form.unit("fill_fraction") == "fraction"
    assert form.describe("fill_fraction") == "0.2–0.8 fraction"

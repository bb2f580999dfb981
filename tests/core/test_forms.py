"""The dosage-form registry is the one list: the catalog, the geometry and planning agree."""

from __future__ import annotations

from typing import get_args

import pytest

from printpharm.catalog import load_catalog
from printpharm.catalog.schema import TEMPLATE_DIMENSIONS
from printpharm.core.forms import FORMS, STRATEGY_SOLVES, Strategy, TemplateName
from printpharm.services.run.form_specs import FORM_SPEC_BUILDERS, recipe_form_spec


def test_the_registry_and_the_type_names_agree() -> None:
    assert set(FORMS) == set(get_args(TemplateName))
    assert all(name == form.name for name, form in FORMS.items())
    assert set(STRATEGY_SOLVES) == set(get_args(Strategy))
    assert all(set(f.strategies) <= set(STRATEGY_SOLVES) for f in FORMS.values())


def test_every_form_has_a_sizing_builder_and_the_catalog_reads_its_dimensions() -> None:
    assert set(FORM_SPEC_BUILDERS) == set(FORMS)
    assert TEMPLATE_DIMENSIONS == {name: f.dimensions for name, f in FORMS.items()}
    for form in FORMS.values():  # each strategy's solved dimension is one of the form's
        assert all(STRATEGY_SOLVES[s] in form.dimensions for s in form.strategies)


@pytest.mark.parametrize("recipe", [r for r in load_catalog().recipes() if r.dose is not None])
def test_each_shipped_recipe_is_sized_by_its_forms_builder(recipe: object) -> None:
    from printpharm.catalog.schema import Recipe

    assert isinstance(recipe, Recipe)
    spec = recipe_form_spec(recipe)
    assert recipe.strategy in FORMS[recipe.form.template].strategies
    assert spec.reference.height_mm > 0 and spec.bounds

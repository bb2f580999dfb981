"""``load_catalog(recipe=...)``: one recipe, its ink and printer, checked as in a full load."""

from __future__ import annotations

from pathlib import Path

import pytest

from printpharm.catalog import load_catalog
from printpharm.errors import CatalogError
from tests.catalog.conftest import edit

RING = "propranolol-ring"


def _ids(root: Path | None, recipe: str | None) -> dict[str, list[str]]:
    catalog = load_catalog(root, recipe=recipe)
    return {
        "recipes": [r.id for r in catalog.recipes()],
        "inks": [i.id for i in catalog.inks()],
        "printers": [p.id for p in catalog.printers()],
    }


@pytest.mark.parametrize("recipe_id", [r.id for r in load_catalog().recipes()])
def test_one_recipe_loads_as_in_the_full_catalog(recipe_id: str) -> None:
    full, one = load_catalog(), load_catalog(recipe=recipe_id)
    recipe = one.recipe(recipe_id)
    assert recipe == full.recipe(recipe_id)
    assert one.ink(recipe.ink) == full.ink(recipe.ink)
    assert one.printer(recipe.printer) == full.printer(recipe.printer)
    assert one.sources("ink", recipe.ink) == full.sources("ink", recipe.ink)
    assert one.resolve(recipe_id).to_record() == full.resolve(recipe_id).to_record()
    assert [r.id for r in one.recipes()] == [recipe_id]  # nothing else was read


def test_a_broken_unrelated_file_does_not_stop_it(data_root: Path) -> None:
    edit(data_root, "recipes/cpm-chewable-disc.toml", "min = 5, max = 40", "min = -5, max = 40")
    with pytest.raises(CatalogError, match="cpm-chewable-disc.toml: dose.range"):
        load_catalog(data_root)
    assert _ids(data_root, RING)["recipes"] == [RING]


def test_its_own_files_are_checked(data_root: Path) -> None:
    edit(data_root, "inks/propranolol-sse-chewable.toml", 'api = "propranolol"', 'api = "other"')
    with pytest.raises(CatalogError, match="api = 'propranolol' but ink"):
        load_catalog(data_root, recipe=RING)


def test_an_unknown_recipe_falls_back_to_the_full_catalog(data_root: Path) -> None:
    catalog = load_catalog(data_root, recipe="no-such-recipe")
    assert len(catalog.recipes()) > 1
    with pytest.raises(CatalogError, match="unknown recipe id 'no-such-recipe'; known recipes: "):
        catalog.recipe("no-such-recipe")
    ring = "recipes/propranolol-ring.toml"
    edit(data_root, ring, 'ink = "propranolol-sse-chewable"', 'ink = "x"')
    with pytest.raises(CatalogError, match="ink = 'x': no such ink"):
        load_catalog(data_root, recipe=RING)  # the full load's message, listing the known inks

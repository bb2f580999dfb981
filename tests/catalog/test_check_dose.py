"""Recipe.check_dose: the one place that says whether a dose is inside a recipe's design space."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.catalog import load_catalog
from printpharm.errors import DesignSpaceError


def test_a_dose_inside_the_range_and_on_the_step_is_returned_unchanged() -> None:
    recipe = load_catalog().recipe("cpm-chewable-disc")
    assert recipe.check_dose(Decimal("5")) == Decimal("5")
    assert recipe.check_dose(Decimal("40")) == Decimal("40")
    assert recipe.check_dose(Decimal("10.5")) == Decimal("10.5")


@pytest.mark.parametrize(
    ("dose", "message"),
    [
        ("4.5", r"dose 4\.5 mg is outside the validated range 5–40 mg of recipe cpm-chewable-disc"),
        ("40.5", r"dose 40\.5 mg is outside the validated range 5–40 mg"),
        (
            "10.3",
            r"dose 10\.3 mg is not a multiple of the 0\.5 mg dose step of recipe "
            r"cpm-chewable-disc; the nearest doses on the step of 0\.5 mg are "
            r"10\.0 mg and 10\.5 mg",
        ),
    ],
)
def test_a_dose_outside_the_design_space_is_refused_naming_the_limit(
    dose: str, message: str
) -> None:
    recipe = load_catalog().recipe("cpm-chewable-disc")
    with pytest.raises(DesignSpaceError, match=message):
        recipe.check_dose(Decimal(dose))


def test_a_calibration_recipe_has_no_dose_range() -> None:
    recipe = load_catalog().recipe("calibration-series")
    with pytest.raises(DesignSpaceError, match="calibration series and has no validated dose"):
        recipe.check_dose(Decimal("10"))

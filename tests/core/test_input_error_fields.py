"""A refused dose input names its field in ``InputError.field``, not only in the message.

The new-batch form marks the widget from that attribute (it used to parse the message).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from printpharm.core.dose_rules import parse_band, parse_band_table
from printpharm.core.dosing import body_surface_area, compute_dose
from printpharm.core.prescription import DoseRule
from printpharm.core.units import check_limit, parse_decimal
from printpharm.errors import DoseInputError, InputError

CASES: list[tuple[str, Callable[[], object]]] = [
    ("weight_kg", lambda: body_surface_area(Decimal(120), Decimal(500))),
    ("height_cm", lambda: body_surface_area(Decimal(10), Decimal(20))),
    ("height_cm", lambda: body_surface_area(None, Decimal(20), "mosteller")),
    ("formula", lambda: body_surface_area(Decimal(120), Decimal(20), "dubious")),
    ("amount", lambda: compute_dose(DoseRule.PER_KG, None, weight_kg=Decimal(10))),
    ("weight_kg", lambda: compute_dose(DoseRule.PER_KG, Decimal(2))),
    ("cap_mg", lambda: compute_dose(DoseRule.FIXED, Decimal(2), cap_mg=Decimal(0))),
    ("bands", lambda: parse_band("20-30:5")),
    ("bands", lambda: parse_band_table(["<=20:10", "<=20:15"])),
    ("amount", lambda: parse_decimal("1_8", "amount")),
    ("dose_step_mg", lambda: check_limit("1e308", "dose_step_mg", "mg", Decimal(0), Decimal(1))),
]


@pytest.mark.parametrize(("field", "call"), CASES)
def test_the_refusal_names_its_field(field: str, call: Callable[[], object]) -> None:
    with pytest.raises(DoseInputError) as caught:
        call()
    assert caught.value.field == field
    assert field.split("_")[0] in str(caught.value)  # and the message still says it


def test_an_input_error_without_a_field_says_none() -> None:
    assert InputError("free text").field is None
    assert str(InputError("x", field="units")) == "x"

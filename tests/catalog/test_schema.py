"""Quantities, limits and models used directly (the loader tests cover files)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from printpharm.catalog.schema import (
    ProcessLayer,
    ProcessParameters,
    Quantity,
    Span,
    StrictModel,
    within,
)


class _Probe(StrictModel):
    length: Annotated[Quantity, within("mm", "0.5", "2.0")]
    window: Annotated[Span, within("°C", "4", "60")] | None = None


def _error(data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as info:
        _Probe.model_validate(data)
    errors = info.value.errors()
    assert len(errors) == 1
    return dict(errors[0])


@given(st.decimals(min_value=-10, max_value=10, places=3))
def test_quantity_accepted_exactly_inside_the_limits(value: Decimal) -> None:
    data = {"length": {"value": value, "unit": "mm"}}
    if Decimal("0.5") <= value <= Decimal("2.0"):
        assert _Probe.model_validate(data).length.value == value
    else:
        error = _error(data)
        assert error["type"] == "printpharm_value"
        assert str(value) in error["msg"]


def test_limit_messages() -> None:
    assert _error({"length": {"value": Decimal("2.01"), "unit": "mm"}})["msg"] == (
        "2.01 mm is above the maximum of 2.0 mm"
    )
    assert _error({"length": {"value": 0, "unit": "mm"}})["msg"] == (
        "0 mm is below the minimum of 0.5 mm"
    )
    assert _error({"length": {"value": 1, "unit": "in"}})["msg"] == (
        '1 in has the wrong unit: expected "mm"'
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (0.5, "0.5 is a binary float; give an exact number"),
        (True, "True is not a number"),
        ("1.0", "'1.0' is not a number"),
        (Decimal("NaN"), "NaN is not a finite number"),
    ],
)
def test_only_exact_numbers(raw: object, message: str) -> None:
    error = _error({"length": {"value": raw, "unit": "mm"}})
    assert error["msg"].startswith(message)


def test_span_checks_order_and_both_ends() -> None:
    ok = _Probe.model_validate(
        {"length": {"value": 1, "unit": "mm"}, "window": {"min": 20, "max": 30, "unit": "°C"}}
    )
    assert ok.window is not None and 25 in ok.window and 31 not in ok.window
    assert str(ok.window) == "20–30 °C"
    bad = _error(
        {"length": {"value": 1, "unit": "mm"}, "window": {"min": 20, "max": 70, "unit": "°C"}}
    )
    assert bad["msg"] == "20–70 °C: max 70 °C is above the maximum of 60 °C"


def test_models_are_frozen_and_strict() -> None:
    q = Quantity(value=Decimal("1"), unit="mm")
    with pytest.raises(ValidationError):
        q.value = Decimal("2")
    with pytest.raises(ValidationError, match="extra"):
        Quantity.model_validate({"value": 1, "unit": "mm", "note": "x"})
    with pytest.raises(ValidationError):
        ProcessLayer.model_validate({"perimeters_count": Decimal("2")})  # counts are ints


def test_process_layers_share_their_fields() -> None:
    assert set(ProcessLayer.model_fields) == set(ProcessParameters.model_fields)
    required = {n for n, f in ProcessParameters.model_fields.items() if f.is_required()}
    assert required == set(ProcessParameters.model_fields) - {"nozzle_gauge"}
    assert all(not f.is_required() for f in ProcessLayer.model_fields.values())

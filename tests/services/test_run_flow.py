"""Flow correction arithmetic: proportional, whole percent, clamped to validated bounds."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printpharm.errors import InputError
from printpharm.services.run.flow import next_flow_pct


def test_a_heavy_unit_lowers_the_flow_proportionally() -> None:
    step = next_flow_pct(D(100), D(200), D(208), D(-5), D(5))
    assert step.requested_pct == D("96.2")  # 100 × 200 / 208 = 96.15…
    assert step.applied_pct == D(96)
    assert not step.clamped
    assert step.command == "M221 S96"
    assert step.bounds_pct == (D(95), D(105))


def test_the_correction_never_leaves_the_validated_range() -> None:
    light = next_flow_pct(D(100), D(200), D(150), D(-5), D(5))
    assert light.requested_pct == D("133.3") and light.applied_pct == D(105) and light.clamped
    heavy = next_flow_pct(D(104), D(200), D(260), D(-5), D(5))
    assert heavy.applied_pct == D(95) and heavy.clamped


def test_fractional_bounds_are_not_rounded_outwards() -> None:
    step = next_flow_pct(D(100), D(200), D(150), D("-2.5"), D("2.5"))
    assert step.applied_pct == D(102)
    assert D("97.5") <= next_flow_pct(D(100), D(200), D(250), D("-2.5"), D("2.5")).applied_pct


def test_a_unit_on_target_keeps_the_flow() -> None:
    assert next_flow_pct(D(97), D(200), D("200.4"), D(-5), D(5)).applied_pct == D(97)


@pytest.mark.parametrize(
    ("target", "measured", "low", "high"),
    [(D(0), D(1), D(-5), D(5)), (D(1), D(-1), D(-5), D(5)), (D(1), D(1), D(1), D(5))],
)
def test_bad_inputs_are_refused(target: D, measured: D, low: D, high: D) -> None:
    with pytest.raises(InputError):
        next_flow_pct(D(100), target, measured, low, high)


@given(
    previous=st.integers(min_value=80, max_value=120).map(D),
    target=st.decimals(min_value="1", max_value="2000", places=3),
    measured=st.decimals(min_value="0.001", max_value="4000", places=3),
    low=st.decimals(min_value="-20", max_value="0", places=1),
    high=st.decimals(min_value="0", max_value="20", places=1),
)
def test_the_applied_flow_is_a_whole_percent_inside_the_bounds(
    previous: D, target: D, measured: D, low: D, high: D
) -> None:
    step = next_flow_pct(previous, target, measured, low, high)
    assert 100 + low <= step.applied_pct <= 100 + high
    assert step.applied_pct == step.applied_pct.to_integral_value()
    if 100 + low + 1 <= step.requested_pct <= 100 + high - 1:
        assert abs(step.applied_pct - step.requested_pct) <= D("0.55")
        assert not step.clamped

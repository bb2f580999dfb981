"""Hypothesis properties of the dose engine: monotone, capped, on the step, band edges."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from printpharm.core.dosing import BSA_FORMULAS, WeightBand, body_surface_area, compute_dose

# Per-test settings (not a profile): loading a profile would change other modules' tests.
_settings = settings(max_examples=150, deadline=None)

heights = st.decimals(min_value=30, max_value=250, places=1)
weights = st.decimals(min_value="0.3", max_value=300, places=2)
amounts = st.decimals(min_value="0.01", max_value=100, places=2)
steps = st.sampled_from([Decimal(s) for s in ("0.05", "0.1", "0.25", "0.5", "1", "2.5")])
caps = st.none() | st.decimals(min_value="0.5", max_value=500, places=1)


@_settings
@given(amount=amounts, w1=weights, w2=weights, step=st.none() | steps, cap=caps)
def test_per_kg_dose_is_monotone_in_weight(
    amount: Decimal, w1: Decimal, w2: Decimal, step: Decimal | None, cap: Decimal | None
) -> None:
    lo, hi = sorted((w1, w2))
    d_lo = compute_dose("per_kg", amount, weight_kg=lo, dose_step_mg=step, cap_mg=cap)
    d_hi = compute_dose("per_kg", amount, weight_kg=hi, dose_step_mg=step, cap_mg=cap)
    assert d_lo.calculated_dose_mg <= d_hi.calculated_dose_mg
    assert d_lo.final_dose_mg <= d_hi.final_dose_mg


@_settings
@given(
    formula=st.sampled_from(BSA_FORMULAS),
    h1=heights,
    h2=heights,
    w1=weights,
    w2=weights,
    step=st.none() | steps,
)
def test_per_m2_dose_is_monotone_in_height_and_weight(
    formula: str, h1: Decimal, h2: Decimal, w1: Decimal, w2: Decimal, step: Decimal | None
) -> None:
    h_lo, h_hi = sorted((h1, h2))
    w_lo, w_hi = sorted((w1, w2))
    assert body_surface_area(h_lo, w_lo, formula) <= body_surface_area(h_hi, w_lo, formula)
    assert body_surface_area(h_lo, w_lo, formula) <= body_surface_area(h_lo, w_hi, formula)
    low = compute_dose(
        "per_m2", 25, height_cm=h_lo, weight_kg=w_lo, formula=formula, dose_step_mg=step
    )
    high = compute_dose(
        "per_m2", 25, height_cm=h_hi, weight_kg=w_hi, formula=formula, dose_step_mg=step
    )
    assert low.final_dose_mg <= high.final_dose_mg


@_settings
@given(amount=amounts, weight=weights, cap=st.decimals(min_value="0.1", max_value=50, places=2))
def test_cap_is_never_exceeded_before_rounding(
    amount: Decimal, weight: Decimal, cap: Decimal
) -> None:
    result = compute_dose("per_kg", amount, weight_kg=weight, cap_mg=cap)
    assert result.final_dose_mg <= cap
    assert result.capped is (result.calculated_dose_mg > cap)
    assert result.capped_dose_mg == min(result.calculated_dose_mg, cap)


@_settings
@given(amount=amounts, weight=weights, step=steps, cap=caps)
def test_final_dose_is_a_multiple_of_the_step_within_half_a_step(
    amount: Decimal, weight: Decimal, step: Decimal, cap: Decimal | None
) -> None:
    result = compute_dose("per_kg", amount, weight_kg=weight, dose_step_mg=step, cap_mg=cap)
    assert result.final_dose_mg % step == 0
    assert abs(result.final_dose_mg - result.capped_dose_mg) <= step / 2
    # A cap on the step grid is never exceeded by rounding.
    if cap is not None and cap % step == 0:
        assert result.final_dose_mg <= cap


@_settings
@given(amount=amounts, weight=weights, step=steps, tol=st.integers(min_value=0, max_value=100))
def test_tolerance_flag_matches_the_deviation(
    amount: Decimal, weight: Decimal, step: Decimal, tol: int
) -> None:
    result = compute_dose("per_kg", amount, weight_kg=weight, dose_step_mg=step, tolerance_pct=tol)
    assert result.within_rounding_tolerance is (abs(result.rounding_deviation_pct) <= tol)
    assert ("rounding_outside_tolerance" in result.flags) is not result.within_rounding_tolerance


@_settings
@given(
    edge=st.decimals(min_value=1, max_value=100, places=1),
    offset=st.decimals(min_value="0.001", max_value=10, places=3),
    inclusive=st.booleans(),
)
def test_band_edges(edge: Decimal, offset: Decimal, inclusive: bool) -> None:
    bands = [WeightBand(edge, Decimal(10), inclusive), WeightBand(None, Decimal(20))]

    def dose(weight: Decimal) -> Decimal:
        return compute_dose("band", weight_kg=weight, bands=bands).final_dose_mg

    if edge - offset >= Decimal("0.3"):
        assert dose(edge - offset) == 10
    assert dose(edge) == (10 if inclusive else 20)
    assert dose(edge + offset) == 20


@_settings
@given(
    shares=st.lists(st.integers(min_value=1, max_value=97), min_size=1, max_size=5),
    amount=amounts,
    step=steps,
)
def test_split_records_every_administration(
    shares: list[int], amount: Decimal, step: Decimal
) -> None:
    pct = [Decimal(s) for s in shares]
    pct[-1] += 100 - sum(pct)
    if pct[-1] <= 0:
        return
    result = compute_dose("fixed", amount, dose_step_mg=step, split_pct=pct)
    assert result.split is not None
    assert abs(sum(result.split.unrounded_doses_mg) - result.capped_dose_mg) < Decimal("1e-25")
    assert result.split.delivered_daily_mg == sum(result.split.doses_mg)
    assert result.split.mismatch_mg == result.split.delivered_daily_mg - result.final_dose_mg
    assert ("split_total_mismatch" in result.flags) is (result.split.mismatch_mg != 0)
    for dose in result.split.doses_mg:
        assert dose % step == 0

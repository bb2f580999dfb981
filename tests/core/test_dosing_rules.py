"""Dose policy, input limits and error messages of printpharm.core.dosing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.core.dosing import (
    DEFAULT_LIMITS,
    DoseFlag,
    DoseLimits,
    DoseRule,
    WeightBand,
    body_surface_area,
    compute_dose,
    drug_load_fraction,
    ink_mass_mg,
    ink_volume_mm3,
    round_to_step,
)
from printpharm.core.units import format_decimal, to_decimal
from printpharm.errors import DoseInputError, InputError

EPS = Decimal("0.001")


# --- input limits: each at limit − ε, limit, limit + ε --------------------------------------


@pytest.mark.parametrize(
    ("field", "limit", "unit", "side"),
    [
        ("height_cm", DEFAULT_LIMITS.min_height_cm, "cm", "below"),
        ("height_cm", DEFAULT_LIMITS.max_height_cm, "cm", "above"),
        ("weight_kg", DEFAULT_LIMITS.min_weight_kg, "kg", "below"),
        ("weight_kg", DEFAULT_LIMITS.max_weight_kg, "kg", "above"),
    ],
)
def test_patient_limits_are_inclusive(field: str, limit: Decimal, unit: str, side: str) -> None:
    inputs = {"height_cm": Decimal(100), "weight_kg": Decimal(20)}
    outside = limit - EPS if side == "below" else limit + EPS
    inside = limit + EPS if side == "below" else limit - EPS
    for ok in (limit, inside):
        inputs[field] = ok
        assert body_surface_area(inputs["height_cm"], inputs["weight_kg"]) > 0
    inputs[field] = outside
    with pytest.raises(DoseInputError) as info:
        body_surface_area(inputs["height_cm"], inputs["weight_kg"])
    assert str(info.value).startswith(
        f"{field} = {outside} is {side} the limit of {format_decimal(limit)} {unit}"
    )


def test_weight_message_is_the_documented_one() -> None:
    with pytest.raises(DoseInputError, match=r"^weight_kg = 450 is above the limit of 300 kg$"):
        compute_dose("per_kg", 2, weight_kg=450)


def test_limits_are_configurable() -> None:
    limits = DoseLimits(max_weight_kg=Decimal(350))
    assert compute_dose("per_kg", 1, weight_kg=340, limits=limits).final_dose_mg == 340
    with pytest.raises(DoseInputError, match="above the limit of 350 kg"):
        compute_dose("per_kg", 1, weight_kg="350.001", limits=limits)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "weight_kg = 'abc' is not a number"),
        ("", "weight_kg = '' is not a number"),
        ("nan", "weight_kg = nan is not a finite number"),
        (float("inf"), "weight_kg = inf is not a finite number"),
        (True, "weight_kg = True is not a number"),
        ([1], r"weight_kg = \[1\] is not a number"),
    ],
)
def test_malformed_numbers_are_refused(value: object, message: str) -> None:
    with pytest.raises(DoseInputError, match=message):
        compute_dose("per_kg", 1, weight_kg=value)  # type: ignore[arg-type]


def test_dose_input_error_is_an_input_error_and_value_error() -> None:
    with pytest.raises(InputError):
        to_decimal("x", "amount")
    with pytest.raises(ValueError):
        to_decimal("x", "amount")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": 0}, "amount = 0 must be above 0 mg"),
        ({"amount": "-1"}, "amount = -1 must be above 0 mg"),
        ({"amount": 10, "cap_mg": 0}, "cap_mg = 0 must be above 0 mg"),
        ({"amount": 10, "dose_step_mg": "-0.5"}, "dose_step_mg = -0.5 must be above 0 mg"),
        ({"amount": 10, "tolerance_pct": "-1"}, "tolerance_pct = -1 is below the limit of 0 %"),
        ({"amount": 10, "tolerance_pct": 101}, "tolerance_pct = 101 is above the limit of 100 %"),
        ({}, r"amount is required by rule fixed \(mg\)"),
        ({"amount": 10, "formula": "dubois"}, "apply only to rule per_m2"),
        ({"amount": 10, "bands": [WeightBand(None, Decimal(1))]}, "apply only to rule weight"),
        ({"amount": 10, "doses_per_day": 2}, "a daily split needs dose_step_mg"),
        (
            {"amount": 10, "dose_step_mg": 1, "doses_per_day": 0},
            "^doses_per_day = 0 is below the limit of 1$",
        ),
        ({"amount": 10, "dose_step_mg": 1, "doses_per_day": 25}, "doses_per_day = 25 is above"),
        (
            {"amount": 10, "dose_step_mg": 1, "split_pct": [50, 25, 20]},
            r"split_pct = \[50, 25, 20\] sums to 95, not 100",
        ),
        (
            {"amount": 10, "dose_step_mg": 1, "doses_per_day": 2, "split_pct": [50, 50]},
            "not both",
        ),
    ],
)
def test_fixed_rule_option_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DoseInputError, match=message):
        compute_dose("fixed", **kwargs)  # type: ignore[arg-type]


def test_missing_inputs_per_rule() -> None:
    with pytest.raises(DoseInputError, match="weight_kg is required by rule per_kg"):
        compute_dose("per_kg", 2)
    with pytest.raises(DoseInputError, match="needs height_cm and weight_kg"):
        compute_dose("per_m2", 25, weight_kg=18)
    with pytest.raises(DoseInputError, match="height_cm is required by the Mosteller formula"):
        body_surface_area(None, 18)
    with pytest.raises(DoseInputError, match="formula = 'bsa' is not one of: mosteller"):
        body_surface_area(110, 18, "bsa")
    with pytest.raises(DoseInputError, match="rule = 'per_lb' is not one of"):
        compute_dose("per_lb", 1, weight_kg=10)
    with pytest.raises(DoseInputError, match="amount is not used by rule weight_band"):
        compute_dose("band", 5, weight_kg=10, bands=[WeightBand(None, Decimal(5))])


def test_costeff_is_weight_only() -> None:
    assert compute_dose("per_m2", 10, weight_kg=18, formula="costeff").formula == "costeff"
    assert body_surface_area(None, 18, "costeff") == body_surface_area(110, 18, "costeff")


def test_unit_slip_hints_name_the_likely_mistake() -> None:
    with pytest.raises(DoseInputError, match="did you enter metres\\? 1.7 m = 170 cm"):
        body_surface_area("1.7", 70)
    with pytest.raises(DoseInputError, match="did you enter grams\\? 3500 g = 3.5 kg"):
        body_surface_area(50, 3500)
    # With site limits that let such values through, the hint is a flag instead.
    loose = DoseLimits(min_height_cm=Decimal(1), max_weight_kg=Decimal(5000))
    result = compute_dose("per_kg", 1, height_cm="1.7", weight_kg=2000, limits=loose)
    assert DoseFlag.HEIGHT_UNIT_SLIP in result.flags
    assert DoseFlag.WEIGHT_UNIT_SLIP in result.flags


def test_soft_warnings_are_flags_not_errors() -> None:
    result = compute_dose("per_kg", 1, height_cm=100, weight_kg=36)  # BMI 36: ordinary
    assert result.flags == ()
    result = compute_dose("per_kg", 1, height_cm=100, weight_kg=61)  # BMI 61
    assert result.flags == (DoseFlag.BMI_UNUSUAL,)
    assert "BMI 61.0" in result.warnings[0]
    result = compute_dose("per_kg", 1, height_cm=44, weight_kg=2)
    assert DoseFlag.HEIGHT_UNUSUAL in result.flags and DoseFlag.WEIGHT_UNUSUAL in result.flags
    edge = compute_dose("per_kg", 1, height_cm=45, weight_kg="2.5")  # bounds are inclusive
    assert DoseFlag.HEIGHT_UNUSUAL not in edge.flags
    assert DoseFlag.WEIGHT_UNUSUAL not in edge.flags


def test_bsa_dosing_under_10_kg_is_flagged() -> None:
    assert (
        DoseFlag.BSA_DOSING_UNDER_10_KG
        in compute_dose("per_m2", 10, height_cm=65, weight_kg="9.99").flags
    )
    assert (
        DoseFlag.BSA_DOSING_UNDER_10_KG
        not in compute_dose("per_m2", 10, height_cm=65, weight_kg=10).flags
    )


# --- policy --------------------------------------------------------------------------------


def test_bsa_rounding_before_dose_changes_the_dose_and_is_recorded() -> None:
    plain = compute_dose("per_m2", 25, height_cm=110, weight_kg=18)
    rounded = compute_dose("per_m2", 25, height_cm=110, weight_kg=18, bsa_round_dp=2)
    assert plain.calculated_dose_mg.quantize(Decimal("0.0001")) == Decimal("18.5405")
    assert rounded.bsa_used_m2 == Decimal("0.74")
    assert rounded.bsa_m2 == plain.bsa_m2
    assert rounded.calculated_dose_mg == Decimal("18.50")
    assert DoseFlag.BSA_ROUNDED_BEFORE_DOSE in rounded.flags
    assert rounded.bsa_round_dp == 2 and plain.bsa_round_dp is None
    with pytest.raises(DoseInputError, match="bsa_round_dp = 0 is below the limit of 1"):
        compute_dose("per_m2", 25, height_cm=110, weight_kg=18, bsa_round_dp=0)


def test_cap_applies_before_rounding() -> None:
    result = compute_dose("per_m2", 2, height_cm=140, weight_kg=37, cap_mg=2, dose_step_mg="0.3")
    assert result.capped and result.capped_dose_mg == 2
    assert result.final_dose_mg == Decimal("2.1")  # 2.0 / 0.3 = 6.67 → 7 steps
    assert result.warnings[0] == "calculated dose 2.3991 mg capped at 2 mg"
    not_capped = compute_dose("fixed", 2, cap_mg=2)  # equal to the cap is not "capped"
    assert not not_capped.capped and "capped" not in not_capped.flags


def test_rounding_outside_tolerance_is_flagged() -> None:
    result = compute_dose("fixed", "1.3", dose_step_mg=1)
    assert result.final_dose_mg == 1
    assert result.rounding_deviation_pct.quantize(Decimal("0.01")) == Decimal("-23.08")
    assert not result.within_rounding_tolerance
    assert DoseFlag.ROUNDING_OUTSIDE_TOLERANCE in result.flags
    strict = compute_dose("fixed", "10.4", dose_step_mg=1, tolerance_pct=5)
    assert strict.within_rounding_tolerance  # −3.85 %
    assert not compute_dose(
        "fixed", "10.6", dose_step_mg=1, tolerance_pct=3
    ).within_rounding_tolerance


def test_exactly_ten_percent_is_within_and_just_over_is_not() -> None:
    assert compute_dose("fixed", "1.0", dose_step_mg="1.1").within_rounding_tolerance
    exact = compute_dose("fixed", "1.0", dose_step_mg="1.1")
    assert exact.rounding_deviation_pct == 10
    over = compute_dose("fixed", "0.9999", dose_step_mg="1.1")
    assert not over.within_rounding_tolerance


def test_rounding_to_zero_is_flagged() -> None:
    result = compute_dose("fixed", "0.2", dose_step_mg="0.5")
    assert result.final_dose_mg == 0
    assert DoseFlag.FINAL_DOSE_ZERO in result.flags
    assert DoseFlag.ROUNDING_OUTSIDE_TOLERANCE in result.flags


def test_round_to_step_is_half_up() -> None:
    assert round_to_step(Decimal("1.25"), Decimal("0.5")) == Decimal("1.5")
    assert round_to_step(Decimal("1.2499"), Decimal("0.5")) == Decimal("1.0")
    assert round_to_step(Decimal("4.125"), Decimal("0.25")) == Decimal("4.25")


def test_daily_split_mismatch_is_reported_not_hidden() -> None:
    result = compute_dose(
        "per_m2", 10, height_cm=65, weight_kg=7, formula="haycock",
        dose_step_mg="0.25", doses_per_day=3,
    )  # fmt: skip
    assert result.final_dose_mg == Decimal("3.50")
    assert result.split is not None
    assert result.split.doses_mg == (Decimal("1.25"),) * 3
    assert result.split.delivered_daily_mg == Decimal("3.75")
    assert result.split.mismatch_mg == Decimal("0.25")
    assert not result.split.sum_equals_rounded_daily_dose
    assert DoseFlag.SPLIT_TOTAL_MISMATCH in result.flags
    assert any("3.75 mg/day" in w for w in result.warnings)


def test_split_outside_tolerance_is_flagged() -> None:
    result = compute_dose("fixed", 3, dose_step_mg=1, split_pct=[80, 10, 10])
    assert result.split is not None and result.split.doses_mg == (2, 0, 0)
    assert DoseFlag.SPLIT_ROUNDING_OUTSIDE_TOLERANCE in result.flags


def test_weight_bands() -> None:
    bands = [WeightBand(Decimal(20), Decimal(10)), WeightBand(None, Decimal(20))]
    doses = {w: compute_dose("band", weight_kg=w, bands=bands).final_dose_mg for w in
             ("19.9", "20", "20.0", "20.001", "20.1")}  # fmt: skip
    assert doses == {"19.9": 10, "20": 10, "20.0": 10, "20.001": 20, "20.1": 20}
    exclusive = [WeightBand(Decimal(20), Decimal(10), inclusive=False), bands[1]]
    assert compute_dose("band", weight_kg=20, bands=exclusive).final_dose_mg == 20
    with pytest.raises(DoseInputError, match="above the last band"):
        compute_dose("band", weight_kg=25, bands=bands[:1])
    with pytest.raises(DoseInputError, match="share the edge"):
        compute_dose("band", weight_kg=5, bands=[bands[0], bands[0]])
    with pytest.raises(DoseInputError, match="bands = \\[\\] is empty"):
        compute_dose("band", weight_kg=5)
    assert compute_dose(DoseRule.WEIGHT_BAND, weight_kg=5, bands=bands).rule == "weight_band"


def test_result_is_frozen() -> None:
    result = compute_dose("fixed", 10)
    with pytest.raises(AttributeError):
        result.final_dose_mg = Decimal(1)  # type: ignore[misc]


# --- ink arithmetic ------------------------------------------------------------------------


def test_ink_arithmetic_reference_example() -> None:
    mass = ink_mass_mg("18.5", drug_load_mg_per_g=50)
    assert mass == 370
    assert ink_mass_mg("18.5", drug_load_pct_w_w=5) == mass
    assert ink_volume_mm3(mass, "1.25") == 296
    assert drug_load_fraction(mg_per_g=50) == drug_load_fraction(pct_w_w=5) == Decimal("0.05")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one"),
        ({"mg_per_g": 50, "pct_w_w": 5}, "exactly one"),
        ({"mg_per_g": 0}, "drug_load_mg_per_g = 0 must be above 0 mg/g"),
        ({"mg_per_g": 1001}, "drug_load_mg_per_g = 1001 is above the limit of 1000 mg/g"),
        ({"pct_w_w": "100.1"}, "drug_load_pct_w_w = 100.1 is above the limit of 100 %"),
    ],
)
def test_drug_load_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DoseInputError, match=message):
        drug_load_fraction(**kwargs)  # type: ignore[arg-type]


def test_ink_volume_refuses_zero_density() -> None:
    with pytest.raises(DoseInputError, match="density_g_per_cm3 = 0 must be above 0"):
        ink_volume_mm3(100, 0)

"""Ph. Eur. 2.9.5, 2.9.40 and the local mass check: boundaries, policies, refusals."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from printpharm.core import tolerances
from printpharm.core.tolerances import PH_EUR, source_of
from printpharm.core.uniformity import (
    LOCAL_CHECK_LABEL,
    acceptance_value,
    acceptance_value_mass_variation,
    applicable_uniformity_test,
    local_mass_check,
    uniformity_of_mass,
)
from printpharm.errors import InputError, UniformityInputError

D = Decimal


def _batch(nominal: str, *odd: str) -> list[str]:
    """20 units: the odd ones, then nominal masses to make 20."""
    return list(odd) + [nominal] * (20 - len(odd))


# --- 2.9.5: the float trap and exact boundaries ------------------------------------------


def test_float_trap_exists_in_binary_floating_point() -> None:
    # The reason the module uses exact decimals: naive floats count these units.
    assert (55 / 50 - 1) * 100 > 10
    assert (525 / 500 - 1) * 100 > 5


@pytest.mark.parametrize(
    ("nominal", "high", "low", "limit"),
    [(50.0, 55.0, 45.0, "10"), (500.0, 525.0, 475.0, "5"), (200, 215, 185, "7.5")],
)
def test_units_exactly_at_the_limit_are_not_counted(
    nominal: float, high: float, low: float, limit: str
) -> None:
    masses = [high, low, high, low] + [nominal] * 16  # floats go through str()
    result = uniformity_of_mass(masses)
    assert result.average_mass_mg == D(str(nominal))
    assert result.limit_pct == D(limit)
    assert result.n_outside_limit == 0
    assert result.result == "PASS"
    assert result.max_abs_deviation_pct == D(limit)


def test_unit_just_beyond_the_limit_is_counted() -> None:
    # avg 50; 55.001 and 44.999 are 10.002 % off -> 4 units beyond 10 %
    result = uniformity_of_mass(_batch("50", "55.001", "44.999", "55.001", "44.999"))
    assert result.n_outside_limit == 4
    assert result.units_outside_limit == (1, 2, 3, 4)
    assert result.result == "FAIL"
    assert result.reason == "4 units deviate by more than 10.0 % (max 2 allowed)"


def test_unit_exactly_at_twice_the_limit_counts_once_but_not_twice() -> None:
    result = uniformity_of_mass(_batch("200", "230", "170"))  # +/-15 % of 200, limit 7.5
    assert (result.n_outside_limit, result.n_outside_twice_limit) == (2, 0)
    assert result.result == "PASS"


@pytest.mark.parametrize(
    ("form", "average", "limit"),
    [
        ("tablet", "80", "10"),
        ("tablet", "80.00005", "7.5"),
        ("tablet", "249.99995", "7.5"),
        ("tablet", "250", "5"),
        ("capsule", "299.99995", "10"),
        ("capsule", "300", "7.5"),
    ],
)
def test_band_boundaries_use_the_exact_average(form: str, average: str, limit: str) -> None:
    result = uniformity_of_mass([average] * 20, form=form)  # type: ignore[arg-type]
    assert result.limit_pct == D(limit)
    assert result.twice_limit_pct == D(limit) * 2


def test_uniformly_heavy_batch_passes_2_9_5() -> None:
    # 2.9.5 judges against the batch average, not the target (reference §1).
    assert uniformity_of_mass(["220"] * 20).result == "PASS"


def test_both_rules_broken_names_both() -> None:
    result = uniformity_of_mass(_batch("200", "240", "216", "184", "185.5"))
    assert result.n_outside_twice_limit == 1
    assert result.n_outside_limit == 3
    assert result.reason.startswith("1 unit(s) deviate by more than twice the limit (15.0 %)")
    assert "3 units deviate by more than 7.5 %" in result.reason


# --- 2.9.5: capsules -----------------------------------------------------------------------


def test_capsule_content_is_gross_minus_a_single_shell_mass() -> None:
    result = uniformity_of_mass(["210.5"] * 20, form="capsule", shell_mg="60.5")
    assert result.unit_masses_mg == (D("150.0"),) * 20
    assert result.limit_pct == D("10")


def test_capsule_shell_makes_the_band_depend_on_content() -> None:
    gross = ["350"] * 20  # gross 350 mg -> 7.5 % band, content 290 mg -> 10 % band
    assert uniformity_of_mass(gross, form="capsule").limit_pct == D("7.5")
    assert uniformity_of_mass(gross, form="capsule", shell_mg=60).limit_pct == D("10")


# --- 2.9.5: General-Notices rounding policy -----------------------------------------------


def test_gn_rounding_lets_5_4_pct_pass_a_5_pct_limit() -> None:
    masses = _batch("500", "527", "473", "527", "473")  # +/-5.4 %
    strict = uniformity_of_mass(masses)
    gn = uniformity_of_mass(masses, policy="gn_rounding")
    assert (strict.n_outside_limit, strict.result) == (4, "FAIL")
    assert (gn.n_outside_limit, gn.result, gn.policy) == (0, "PASS", "gn_rounding")


def test_gn_rounding_of_twice_the_limit() -> None:
    masses = _batch("500", "552", "448")  # +/-10.4 % against twice 5 %
    assert uniformity_of_mass(masses).n_outside_twice_limit == 2
    gn = uniformity_of_mass(masses, policy="gn_rounding")
    assert (gn.n_outside_limit, gn.n_outside_twice_limit, gn.result) == (2, 0, "PASS")


def test_gn_rounding_is_half_up_to_the_decimals_of_the_tabulated_limit() -> None:
    # limit 7.5 (1 dp): 7.55 % rounds to 7.6 (counted); 7.54 % rounds to 7.5 (not counted)
    at_tie = uniformity_of_mass(_batch("200", "215.1", "184.9"), policy="gn_rounding")
    below = uniformity_of_mass(_batch("200", "215.08", "184.92"), policy="gn_rounding")
    assert at_tie.n_outside_limit == 2
    assert below.n_outside_limit == 0


def test_gn_rounding_chooses_the_band_from_the_average_in_whole_mg() -> None:
    strict = uniformity_of_mass(["80.4"] * 20)
    gn = uniformity_of_mass(["80.4"] * 20, policy="gn_rounding")
    assert (strict.limit_pct, strict.band_average_mg) == (D("7.5"), D("80.4"))
    assert (gn.limit_pct, gn.band_average_mg) == (D("10"), D("80"))
    assert gn.average_mass_mg == D("80.4")
    assert uniformity_of_mass(["80.5"] * 20, policy="gn_rounding").limit_pct == D("7.5")


# --- 2.9.5: refusals -----------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 19, 21])
def test_wrong_unit_count_is_refused(count: int) -> None:
    with pytest.raises(UniformityInputError, match=f"requires 20 units, got {count}"):
        uniformity_of_mass(["200"] * count)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("0", "must be greater than 0"),
        ("-1", "must be greater than 0"),
        ("abc", "is not a number"),
        ("NaN", "not a finite number"),
        (float("inf"), "not a finite number"),
        (True, "is not a number"),
        (None, "is not a number"),
    ],
)
def test_bad_mass_is_refused_naming_the_unit(bad: object, message: str) -> None:
    masses: list[object] = ["200"] * 19 + [bad]
    with pytest.raises(UniformityInputError, match=message) as info:
        uniformity_of_mass(masses)  # type: ignore[arg-type]
    assert "unit 20" in str(info.value)
    assert isinstance(info.value, InputError)


def test_other_refusals() -> None:
    with pytest.raises(UniformityInputError, match="capsules only"):
        uniformity_of_mass(["200"] * 20, shell_mg="50")
    with pytest.raises(UniformityInputError, match="one per unit"):
        uniformity_of_mass(["200"] * 20, form="capsule", shell_mg=["50"] * 19)
    with pytest.raises(UniformityInputError, match="content mass"):
        uniformity_of_mass(["60"] * 20, form="capsule", shell_mg="60")
    with pytest.raises(UniformityInputError, match="policy"):
        uniformity_of_mass(["200"] * 20, policy="lenient")  # type: ignore[arg-type]
    with pytest.raises(UniformityInputError, match="form"):
        uniformity_of_mass(["200"] * 20, form="pessary")  # type: ignore[arg-type]
    with pytest.raises(UniformityInputError, match="list of numbers"):
        uniformity_of_mass("200")  # type: ignore[arg-type]


# --- 2.9.40 --------------------------------------------------------------------------------

# s = 6.25 exactly and mean 100 (vector a07); shifting all values moves only |M - X|.
_S_625 = ["109.375", "90.625", "107.5", "92.5", "105.625", "94.375", "100", "100", "100", "100"]


def _shifted(delta: str) -> list[Decimal]:
    return [D(x) - D(delta) for x in _S_625]


def test_av_of_exactly_15_05_is_reported_15_1_and_fails_stage1() -> None:
    result = acceptance_value(_shifted("1.55"))  # mean 98.45 -> M 98.5, AV = 0.05 + 15
    assert result.stage1.av == D("15.05")
    assert result.stage1.av_reported_1dp == D("15.1")
    assert result.stage1.av_le_l1 is False
    assert result.final == "STAGE2_REQUIRED"


def test_av_of_15_04_is_reported_15_0_and_passes_although_unrounded_above() -> None:
    result = acceptance_value(_shifted("1.54"))
    assert result.stage1.av_reported_1dp == D("15.0")
    assert (result.stage1.av_le_l1, result.stage1.av_le_l1_unrounded) == (True, False)
    assert result.final == "PASS_STAGE1"


def test_l2_bounds_are_inclusive_at_stage2() -> None:
    on_bounds = ["75", "125"] + ["100"] * 28
    result = acceptance_value(on_bounds)
    assert result.stage1.av_le_l1 is False
    assert result.stage2 is not None
    assert (result.stage2.l2_low, result.stage2.l2_high) == (D("75"), D("125"))
    assert result.stage2.units_outside_l2 == ()
    assert result.final == "PASS_STAGE2"
    beyond = acceptance_value(["74.9", "125.1"] + ["100"] * 28)
    assert beyond.stage2 is not None
    assert beyond.stage2.units_outside_l2 == (D("74.9"), D("125.1"))
    assert beyond.final == "FAIL"


def test_stage1_pass_with_30_units_stays_pass_stage1() -> None:
    result = acceptance_value(["100"] * 10 + ["70"] * 20)
    assert result.final == "PASS_STAGE1"
    assert result.stage2 is not None and result.stage2.units_outside_l2
    assert "stage 2 not required" in result.reason


def test_target_above_101_5_uses_case_2() -> None:
    values = ["106"] * 10
    assert acceptance_value(values, target_pct=104).stage1.m == D("104")
    assert acceptance_value(values, target_pct=104).stage1.l2_low == D("78")
    assert acceptance_value(values, target_pct=100).stage1.m == D("101.5")
    assert acceptance_value(values, target_pct="101.5").stage1.m == D("101.5")


@pytest.mark.parametrize("count", [9, 11, 20, 31])
def test_av_unit_count_is_refused(count: int) -> None:
    with pytest.raises(UniformityInputError, match=f"n must be 10 or 30, got {count}"):
        acceptance_value(["100"] * count)


def test_av_refusals() -> None:
    with pytest.raises(UniformityInputError, match="must not be negative"):
        acceptance_value(["100"] * 9 + ["-1"])
    with pytest.raises(UniformityInputError, match="target_pct"):
        acceptance_value(["100"] * 10, target_pct=0)
    with pytest.raises(UniformityInputError, match="assay_pct"):
        acceptance_value_mass_variation(["100"] * 10, assay_pct="0")
    with pytest.raises(UniformityInputError, match="give both"):
        acceptance_value_mass_variation(["100"] * 10, assay_pct=99, unit_content_mg=30)


def test_mass_variation_recomputes_the_mean_mass_at_stage2() -> None:
    masses = [D("150")] * 10 + [D("160")] * 20
    result = acceptance_value_mass_variation(masses, assay_pct="99.0")
    assert result.stage1.contents_pct == (D("99.0"),) * 10
    assert result.stage2 is not None
    assert result.stage2_mean_mass_mg is not None
    mean30 = sum(masses) / 30
    assert result.stage2_mean_mass_mg.quantize(D("1e-20")) == mean30.quantize(D("1e-20"))
    assert result.stage2.contents_pct[0] == (D("150") * D("99.0") / mean30).quantize(D("1e-12"))
    assert result.stage2.mean == D("99.0")


# --- 2.9.40 applicability guard ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fraction", "form", "allowed"),
    [
        ("25", "0.25", "tablet", True),
        ("24.99", "0.5", "tablet", False),
        ("100", "0.2499", "capsule", False),
        ("100", "1", "capsule", True),
        ("100", "0.5", "other", False),
    ],
)
def test_mass_variation_needs_25_mg_and_25_pct(
    content: str, fraction: str, form: str, allowed: bool
) -> None:
    verdict = applicable_uniformity_test(content, fraction, form)  # type: ignore[arg-type]
    assert verdict.mass_variation_allowed is allowed
    assert verdict.test == ("mass variation" if allowed else "content uniformity")
    assert content in verdict.reason


@pytest.mark.parametrize(("content", "fraction"), [("0", "0.5"), ("30", "0"), ("30", "25")])
def test_applicability_refuses_nonsense(content: str, fraction: str) -> None:
    with pytest.raises(UniformityInputError):
        applicable_uniformity_test(content, fraction)


def test_mass_variation_of_a_low_dose_printlet_is_an_estimate() -> None:
    masses = ["150"] * 10
    low = acceptance_value_mass_variation(masses, "99", unit_content_mg=5, drug_fraction="0.05")
    assert low.is_estimate and low.label.startswith("estimate, not 2.9.40 compliance")
    nominal = acceptance_value_mass_variation(masses, "100", assay_is_measured=False)
    assert nominal.is_estimate and "not an assay" in nominal.label
    ok = acceptance_value_mass_variation(masses, "99", unit_content_mg=50, drug_fraction="0.4")
    assert not ok.is_estimate and ok.label == "Ph. Eur. 2.9.40 / USP <905> mass variation"
    assert ok.applicability is not None and ok.applicability.mass_variation_allowed


# --- local point-of-care check -------------------------------------------------------------


def test_local_check_bounds_are_inclusive_and_exact() -> None:
    result = local_mass_check(
        [10.5, 9.5, 10.0], target_mg=10, unit_tolerance_pct=5, mean_tolerance_pct=1
    )
    assert [u.within for u in result.units] == [True, True, True]
    assert [u.deviation_pct for u in result.units] == [D("5"), D("-5"), D("0")]
    assert result.result == "PASS"
    assert result.label == LOCAL_CHECK_LABEL and "not pharmacopoeial" in result.label


def test_local_check_per_unit_targets_and_mean() -> None:
    result = local_mass_check(
        ["10.51", "20.0"], target_mg=["10", "20"], unit_tolerance_pct="5", mean_tolerance_pct="2"
    )
    assert [u.within for u in result.units] == [False, True]
    assert result.n_units_outside == 1
    assert result.mean_within  # mean 15.255 vs 15: 1.7 %
    assert result.result == "FAIL"
    heavy = local_mass_check(["10.4"] * 3, 10, unit_tolerance_pct=5, mean_tolerance_pct=3)
    assert heavy.n_units_outside == 0 and not heavy.mean_within and heavy.result == "FAIL"


def test_local_check_refusals() -> None:
    with pytest.raises(UniformityInputError, match="at least one"):
        local_mass_check([], 10, 5, 5)
    with pytest.raises(UniformityInputError, match="one target or one per unit"):
        local_mass_check(["10", "10"], ["10"], 5, 5)
    with pytest.raises(UniformityInputError, match="target_mg"):
        local_mass_check(["10"], "0", 5, 5)


# --- tolerances ----------------------------------------------------------------------------


def test_every_tolerance_cites_a_source_and_is_frozen() -> None:
    for field in dataclasses.fields(tolerances.PharmacopoeiaTolerances):
        assert len(source_of(field.name)) > 10
    assert (PH_EUR.av_l1, PH_EUR.av_l2_pct) == (D("15.0"), D("25.0"))
    assert (PH_EUR.av_stage1_k, PH_EUR.av_stage2_k) == (D("2.4"), D("2.0"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        PH_EUR.av_l1 = D("25")  # type: ignore[misc]
    with pytest.raises(KeyError):
        source_of("no_such_limit")

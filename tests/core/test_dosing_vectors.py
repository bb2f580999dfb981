"""The shared BSA and dose reference vectors, through the Python API."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from printpharm.core.dosing import (
    BSA_FORMULAS,
    WeightBand,
    body_surface_area,
    compute_dose,
    ink_mass_mg,
    ink_volume_mm3,
)
from printpharm.core.units import CM_PER_INCH, KG_PER_POUND, inches_to_cm, pounds_to_kg
from tests.conftest import VECTORS, load_vectors


def _q(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _vectors(name: str, key: str) -> list[dict[str, Any]]:
    # At collection time a missing shared/ folder gives an empty (skipped) parameter set.
    if not (VECTORS / name).is_file():
        return []
    return list(load_vectors(name)[key])


def _bsa_cases() -> list[dict[str, Any]]:
    return _vectors("bsa_vectors.json", "cases")


def _dose_cases() -> list[dict[str, Any]]:
    return _vectors("dose_vectors.json", "cases")


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


def test_vector_files_hold_the_expected_number_of_cases() -> None:
    bsa_cases = load_vectors("bsa_vectors.json")["cases"]
    assert len(bsa_cases) == 69
    assert len(load_vectors("dose_vectors.json")["cases"]) == 8
    assert {c["formula"] for c in bsa_cases} == set(BSA_FORMULAS)


@pytest.mark.parametrize("case", _bsa_cases(), ids=_ids(_bsa_cases()))
def test_bsa_vector(case: dict[str, Any]) -> None:
    bsa = body_surface_area(case["height_cm"], case["weight_kg"], case["formula"])
    assert _q(bsa, "0.0001") == case["expected_bsa_m2_4dp"]
    assert _q(bsa, "0.01") == case["expected_bsa_m2_2dp"]
    assert abs(bsa - Decimal(case["unrounded_bsa_m2"])) < Decimal("1e-11")


@pytest.mark.parametrize("case", _bsa_cases(), ids=_ids(_bsa_cases()))
def test_bsa_vector_with_float_inputs(case: dict[str, Any]) -> None:
    height = None if case["height_cm"] is None else float(case["height_cm"])
    bsa = body_surface_area(height, float(case["weight_kg"]), case["formula"])
    assert _q(bsa, "0.0001") == case["expected_bsa_m2_4dp"]


def _dubois_metre_form(h: Decimal, w: Decimal) -> Decimal:
    return Decimal("0.20247") * (h / 100) ** Decimal("0.725") * w ** Decimal("0.425")


def _boyd_kg_form(h: Decimal, w: Decimal) -> Decimal:
    return (
        Decimal("0.0333")
        * w ** (Decimal("0.6157") - Decimal("0.0188") * w.log10())
        * h ** Decimal("0.3")
    )


def _variants() -> list[dict[str, Any]]:
    return _vectors("bsa_vectors.json", "variant_discrepancies")


@pytest.mark.parametrize("case", _variants(), ids=_ids(_variants()))
def test_variant_discrepancies_we_use_cm_dubois_and_grams_boyd(case: dict[str, Any]) -> None:
    h, w = case["height_cm"], case["weight_kg"]
    dubois = body_surface_area(h, w, "dubois")
    boyd = body_surface_area(h, w, "boyd")
    assert _q(dubois, "0.000001") == Decimal(case["dubois_0.007184_cm"])
    assert _q(boyd, "0.000001") == Decimal(case["boyd_grams_form"])
    # The rejected variants reproduce the listed numbers, so the vectors test a real choice.
    assert _q(_dubois_metre_form(h, w), "0.000001") == Decimal(case["dubois_0.20247_m"])
    assert _q(_boyd_kg_form(h, w), "0.000001") == Decimal(case["boyd_kg_form_0.0333"])
    differs = _q(dubois, "0.0001") != _q(_dubois_metre_form(h, w), "0.0001")
    assert differs is case["dubois_diff_4dp_differs"]
    differs = _q(boyd, "0.0001") != _q(_boyd_kg_form(h, w), "0.0001")
    assert differs is case["boyd_diff_4dp_differs"]


def _imperial() -> list[dict[str, Any]]:
    return _vectors("bsa_vectors.json", "imperial_conversion_cases")


@pytest.mark.parametrize(
    "case", _imperial(), ids=lambda c: f"{c['height_in']}in_{c['weight_lb']}lb"
)
def test_imperial_conversion(case: dict[str, Any]) -> None:
    height_cm = inches_to_cm(case["height_in"])
    weight_kg = pounds_to_kg(case["weight_lb"])
    assert height_cm == Decimal(case["height_cm"])
    assert weight_kg == Decimal(case["weight_kg"])
    bsa = body_surface_area(height_cm, weight_kg)
    assert _q(bsa, "0.0001") == case["mosteller_exact_conversion_4dp"]
    # The popular in/lb constant 3131 is not the exact conversion and gives another value.
    approx = ((case["height_in"] * case["weight_lb"]) / 3131).sqrt()
    assert _q(approx, "0.0001") == case["mosteller_in_lb_3131_constant_4dp"]
    assert _q(approx, "0.0001") != _q(bsa, "0.0001")
    exact_constant = Decimal(3600) / (CM_PER_INCH * KG_PER_POUND)
    assert _q(exact_constant, "0.0001") == Decimal(case["exact_equivalent_constant"])


_RULES = {"fixed": "fixed", "per_kg": "per_kg", "per_m2": "per_m2"}


def _compute(case: dict[str, Any]) -> Any:
    if case["basis"] == "weight_band":
        bands = [WeightBand(Decimal(20), Decimal(10)), WeightBand(None, Decimal(20))]
        return compute_dose("weight_band", weight_kg=case["weight_kg"], bands=bands)
    split = case.get("daily_split_pct")
    return compute_dose(
        _RULES[case["basis"]],
        case["prescribed_amount"],
        height_cm=case["height_cm"],
        weight_kg=case["weight_kg"],
        formula=case["bsa_formula"],
        bsa_round_dp=case["bsa_rounding_dp_before_dose"],
        cap_mg=case["cap_mg"],
        dose_step_mg=case["dose_step_mg"],
        tolerance_pct=case["rounding_tolerance_pct"],
        split_pct=None if split is None else [Decimal(s) for s in split],
    )


@pytest.mark.parametrize("case", _dose_cases(), ids=_ids(_dose_cases()))
def test_dose_vector(case: dict[str, Any]) -> None:
    result = _compute(case)
    assert result.final_dose_mg == Decimal(case["expected_final_dose_mg"])
    if case["basis"] == "weight_band":
        return
    assert _q(result.calculated_dose_mg, "0.0001") == Decimal(case["calculated_dose_mg"])
    assert result.capped is case["capped"]
    assert ("capped" in result.flags) is case["capped"]
    if case["bsa_m2_unrounded"] is not None:
        assert result.bsa_m2 is not None
        assert _q(result.bsa_m2, "1e-10") == Decimal(case["bsa_m2_unrounded"])
    deviation = _q(result.rounding_deviation_pct, "0.01")
    assert deviation == Decimal(case["rounding_deviation_pct_vs_capped"])
    assert result.within_rounding_tolerance is case["within_rounding_tolerance"]
    if "expected_unit_doses_mg" in case:
        assert result.split is not None
        assert result.split.doses_mg == tuple(Decimal(d) for d in case["expected_unit_doses_mg"])
        assert result.split.delivered_daily_mg == Decimal(case["sum_of_unit_doses_mg"])
        equal = case["sum_equals_rounded_daily_dose"]
        assert result.split.sum_equals_rounded_daily_dose is equal
    if "expected_ink_mass_mg" in case:
        for dose, mass, volume in zip(
            result.unit_doses_mg,
            case["expected_ink_mass_mg"],
            case["expected_ink_volume_mm3"],
            strict=True,
        ):
            ink = ink_mass_mg(dose, drug_load_pct_w_w=case["ink_drug_load_pct_w_w"])
            assert _q(ink, "0.001") == Decimal(mass)
            mg_per_g = case["ink_drug_load_pct_w_w"] * 10
            assert ink_mass_mg(dose, drug_load_mg_per_g=mg_per_g) == ink
            vol = ink_volume_mm3(ink, case["ink_density_g_per_cm3"])
            assert _q(vol, "0.001") == Decimal(volume)


def test_band_vector_edge_at_exactly_20_kg_is_the_lower_band() -> None:
    bands = [WeightBand(Decimal(20), Decimal(10)), WeightBand(None, Decimal(20))]
    result = compute_dose("weight_band", weight_kg="20.0", bands=bands)
    assert result.final_dose_mg == 10
    assert result.band == bands[0]

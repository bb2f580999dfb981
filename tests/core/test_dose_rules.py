"""The dose rules every front end calls (printpharm.core.dose_rules), one place each."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.core.dose_rules import (
    BAND_FORMS,
    check_in_range,
    format_deviation,
    parse_band,
    parse_band_table,
    rounding_refusal,
    split_band_text,
    within_tolerance,
)
from printpharm.core.dosing import WeightBand, compute_dose
from printpharm.errors import DesignSpaceError, DoseInputError

D = Decimal


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("<=20:10", WeightBand(D(20), D(10), inclusive=True)),
        ("≤ 20 kg : 10 mg", WeightBand(D(20), D(10), inclusive=True)),
        ("<20:10", WeightBand(D(20), D(10), inclusive=False)),
        (">20:20", WeightBand(None, D(20), lower_kg=D(20), lower_inclusive=False)),
        (">=20:20", WeightBand(None, D(20), lower_kg=D(20), lower_inclusive=True)),
        ("≥20:20", WeightBand(None, D(20), lower_kg=D(20), lower_inclusive=True)),
        ("*:20", WeightBand(None, D(20))),
        ("inf:20", WeightBand(None, D(20))),
    ],
)
def test_each_accepted_band_form_means_what_a_pharmacist_reads(text: str, band: WeightBand) -> None:
    assert parse_band(text) == band


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("20:10", "is ambiguous (does 20 kg itself belong to this band?)"),
        ("=<20:10", "is not EDGE_KG:DOSE_MG"),
        ("20-30:10", "weight edge that is not a number"),
        ("<=20", "is not EDGE_KG:DOSE_MG"),
        (">inf:20", "puts '>' before 'inf'"),
        ("<=20:1_0", "dose that is not a number"),
    ],
)
def test_anything_ambiguous_is_refused_listing_the_accepted_forms(text: str, why: str) -> None:
    with pytest.raises(DoseInputError) as info:
        parse_band(text)
    assert why in str(info.value) and str(info.value).endswith(f"accepted forms: {BAND_FORMS}")


def test_a_table_reads_one_way_only() -> None:
    table = parse_band_table(split_band_text("≤10: 5; ≤20: 10\n>20: 20"))
    doses = {w: next(b for b in table if b.contains(D(w))).dose_mg for w in ("10", "20", "20.5")}
    assert doses == {"10": D(5), "20": D(10), "20.5": D(20)}
    for texts, why in (
        (["<=20:10", ">=20:20"], "write '>20:20'"),  # 20 kg would be in two bands
        (["<20:10", ">20:20"], "write '≥20:20'"),  # 20 kg would be in none
        (["<=20:10", ">25:20"], "does not start where"),
        ([">20:20"], "needs the bands below it"),
        (["<=20:10", "*:20", "inf:30"], "only the last band may be open"),
        (["<20:10", "<=20:15"], "two bands end at 20 kg"),
        ([], "no weight band given"),
    ):
        with pytest.raises(DoseInputError, match=why):
            parse_band_table(texts)


def test_a_band_opened_from_below_holds_no_lighter_weight() -> None:
    bands = parse_band_table(["<=20:10", ">20:20"])
    assert compute_dose("band", weight_kg="20", bands=bands).final_dose_mg == 10
    assert compute_dose("band", weight_kg="20.001", bands=bands).final_dose_mg == 20
    assert compute_dose("band", weight_kg="20.001", bands=bands).band == bands[1]
    with pytest.raises(DoseInputError, match="below the band '> 20 kg → 20 mg'"):
        compute_dose("band", weight_kg="15", bands=bands[1:])


def test_the_range_is_inclusive_and_the_step_exact() -> None:
    for dose in ("5", "40", "10.5"):
        assert check_in_range(D(dose), D(5), D(40), D("0.5"), "r") == D(dose)
    with pytest.raises(DesignSpaceError, match=r"outside the validated range 5–40 mg .*\(below 5"):
        check_in_range(D("4.99"), D(5), D(40), D("0.5"), "r")
    with pytest.raises(DesignSpaceError, match=r"\(above 40 mg\)"):
        check_in_range(D("40.5"), D(5), D(40), D("0.5"), "r")
    with pytest.raises(DesignSpaceError, match="nearest doses on the step of 0.5 mg are 10.0"):
        check_in_range(D("10.3"), D(5), D(40), D("0.5"), "r")


@pytest.mark.parametrize(("final", "inside"), [("0.9", True), ("1.1", True), ("0.8999", False)])
def test_the_tolerance_is_inclusive_and_exact(final: str, inside: bool) -> None:
    assert within_tolerance(D(final), D(1), D(10)) is inside


def test_a_dose_exactly_ten_percent_off_is_inside_and_printable() -> None:
    # 5 mg rounded to a 4.5 mg step: exactly −10.0 %
    result = compute_dose("fixed", "5", dose_step_mg="4.5")
    assert result.rounding_deviation_pct == D(-10)
    assert result.within_rounding_tolerance and rounding_refusal(result) is None
    over = compute_dose("fixed", "5.0001", dose_step_mg="4.5")
    refusal = rounding_refusal(over)
    assert refusal is not None and "(-10.002 %)" in refusal  # 2 dp would hide the side


def test_finding_1_hydrocortisone_is_refused_naming_the_deviation() -> None:
    up = compute_dose("per_kg", "0.075", weight_kg="10", dose_step_mg="0.5")
    assert (up.final_dose_mg, up.within_rounding_tolerance) == (D("1.0"), False)
    assert rounding_refusal(up) == (
        "rounding 0.75 mg to the 0.5 mg step gives 1 mg (+33.33 %), outside the ±10 % "
        "rounding tolerance"
    )
    down = compute_dose("per_kg", "0.07", weight_kg="10", dose_step_mg="0.5")
    assert "gives 0.5 mg (-28.57 %)" in (rounding_refusal(down) or "")


def test_deviation_text_never_hides_the_verdict() -> None:
    assert format_deviation(D("-10.004"), D(10), within=False) == "-10.004"
    assert format_deviation(D("-10.000"), D(10), within=True) == "-10.00"
    assert format_deviation(D("33.3333"), D(10), within=False) == "+33.33"

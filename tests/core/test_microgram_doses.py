"""A microgram dose written in mg keeps its digits wherever it is shown or recorded.

Before, the dose record and the explanation rounded every mg value to 4 decimals and
the screens to 3: alfacalcidol 0.25 µg (0.00025 mg) was recorded as 0.0003 mg (+20 %)
and shown as "0 mg"; digoxin 62.5 µg was shown as "0.063 mg"; a prescription of
0.00004 mg was recorded as 0 mg while the dose engine kept 0.00004 mg.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from printpharm.core.dose_report import dose_record, explain_dose
from printpharm.core.dosing import compute_dose
from printpharm.core.units import quantize_significant, significant_places
from printpharm.services.station.batch_form import format_mg


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        ("57.735026919", 4, "57.7350"),  # an ordinary dose: 4 decimals, as before
        ("0.0625", 4, "0.06250"),  # 4 significant digits need a fifth decimal
        ("0.00025", 4, "0.0002500"),
        ("0.000044444", 4, "0.00004444"),
        ("0.00012345", 4, "0.0001235"),  # half-up at the 4th significant digit
        ("0", 4, "0.0000"),
        ("1234.56789", 2, "1234.57"),  # never fewer decimals than asked
    ],
)
def test_quantize_significant_keeps_four_significant_digits(
    value: str, places: int, expected: str
) -> None:
    result = quantize_significant(Decimal(value), places)
    assert str(result) == expected
    assert significant_places(Decimal(value), places) == -result.as_tuple().exponent


def test_a_microgram_dose_is_recorded_as_the_engine_computed_it() -> None:
    result = compute_dose("fixed", "0.00025")
    assert result.final_dose_mg == Decimal("0.00025")
    record = dose_record(result)
    assert record["final_dose_mg"] == Decimal("0.00025")  # was 0.0003
    assert record["calculated_dose_mg"] == Decimal("0.00025")
    assert "not rounded (no dose step): 0.00025 mg" in explain_dose(result)


def test_a_per_kg_microgram_dose_is_not_recorded_as_zero() -> None:
    # 0.0000125 mg/kg (12.5 ng/kg) × 3.2 kg = 0.00004 mg
    result = compute_dose("per_kg", "0.0000125", weight_kg="3.2")
    assert result.final_dose_mg == Decimal("0.00004")
    record = dose_record(result)
    assert record["final_dose_mg"] == Decimal("0.00004")  # was 0.0000
    assert record["final_dose_mg"] != 0
    assert "calculated dose: 0.00004 mg" in record["explanation"]


def test_a_split_microgram_dose_keeps_its_digits() -> None:
    result = compute_dose("fixed", "0.0005", dose_step_mg="0.00001", doses_per_day=3)
    record = dose_record(result)
    unrounded = record["split"]["unrounded_unit_doses_mg"]
    assert unrounded == [Decimal("0.0001667")] * 3  # was 0.0002 each: +20 %


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("12.5", "12.5 mg"),
        ("57.7350269", "57.735 mg"),
        ("0.0625", "0.0625 mg"),  # digoxin 62.5 µg: was "0.063 mg"
        ("0.00025", "0.00025 mg"),  # alfacalcidol 0.25 µg: was "0 mg"
        ("0.0005", "0.0005 mg"),  # was "0.001 mg", double the dose
        ("0", "0 mg"),
    ],
)
def test_screens_show_a_microgram_dose_with_its_digits(value: str, shown: str) -> None:
    assert format_mg(Decimal(value)) == shown


def test_the_dose_command_does_not_call_a_microgram_dose_zero() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "printpharm", "dose", "--rule", "per-kg", "--amount",
         "0.0000125", "--weight-kg", "3.2"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert run.stdout.splitlines()[0] == "Dose 0.00004 mg"  # was "Dose 0 mg"
    as_json = subprocess.run(
        [sys.executable, "-m", "printpharm", "dose", "--rule", "fixed", "--amount", "0.00025",
         "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Decimal(str(json.loads(as_json.stdout)["final_dose_mg"])) == Decimal("0.00025")


def test_a_refused_microgram_rounding_names_the_dose_it_rounded() -> None:
    from printpharm.core.dose_rules import rounding_refusal

    # 0.00025 mg to the 0.001 mg step: a quarter step, half-up gives 0 mg
    result = compute_dose("fixed", "0.00025", dose_step_mg="0.001")
    refusal = rounding_refusal(result)
    assert refusal is not None
    assert refusal.startswith("rounding 0.00025 mg to the 0.001 mg step gives 0 mg")  # 0.0003


def test_the_rounding_warning_names_a_microgram_dose_with_its_digits() -> None:
    result = compute_dose("fixed", "0.00025", dose_step_mg="0.001")
    assert "rounding 0.0002500 mg to 0 mg moves the dose by -100.00 %" in " ".join(
        result.warnings
    )  # was "rounding 0.0003 mg"

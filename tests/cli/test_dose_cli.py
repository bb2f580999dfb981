"""``printpharm bsa`` and ``printpharm dose`` through main() and one real subprocess."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from printpharm.cli import main
from printpharm.cli._dose import add_dose_arguments, dose_from_args
from printpharm.core.dose_rules import BAND_FORMS
from tests.conftest import VECTORS, load_vectors


def _run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main([*argv, "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out, parse_float=Decimal)
    return data


def _vectors(name: str) -> list[dict[str, Any]]:
    # At collection time a missing shared/ folder gives an empty (skipped) parameter set.
    return list(load_vectors(name)["cases"]) if (VECTORS / name).is_file() else []


def _sample_bsa_cases() -> list[dict[str, Any]]:
    cases = _vectors("bsa_vectors.json")
    return [c for i, c in enumerate(cases) if i % 7 == 0 or c["formula"] == "costeff"][:14]


@pytest.mark.parametrize("case", _sample_bsa_cases(), ids=lambda c: c["id"])
def test_bsa_json_matches_vectors(capsys: pytest.CaptureFixture[str], case: dict[str, Any]) -> None:
    argv = ["bsa", "--weight-kg", str(case["weight_kg"]), "--formula", case["formula"]]
    if case["height_cm"] is not None:
        argv += ["--height-cm", str(case["height_cm"])]
    data = _run_json(capsys, *argv)
    assert data["bsa_m2"] == case["expected_bsa_m2_4dp"]
    assert data["bsa_m2_2dp"] == case["expected_bsa_m2_2dp"]
    assert data["formula"] == case["formula"]


def test_bsa_human_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bsa", "--height-cm", "110", "--weight-kg", "18"]) == 0
    assert capsys.readouterr().out == "BSA 0.7416 m² (Mosteller; 110 cm, 18 kg)\n"


def test_bsa_subprocess_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "printpharm", "bsa", "--height-cm", "170", "--weight-kg", "75",
         "--formula", "dubois", "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout, parse_float=Decimal)
    assert data["bsa_m2"] == Decimal("1.8636")
    assert data["formula"] == "dubois"


def _dose_argv(case: dict[str, Any]) -> list[str]:
    rule = {"fixed": "fixed", "per_kg": "per-kg", "per_m2": "per-m2"}[case["basis"]]
    argv = ["dose", "--rule", rule, "--amount", str(case["prescribed_amount"])]
    options = {
        "--height-cm": case["height_cm"],
        "--weight-kg": case["weight_kg"],
        "--formula": case["bsa_formula"],
        "--cap-mg": case["cap_mg"],
        "--step-mg": case["dose_step_mg"],
        "--tolerance-pct": case["rounding_tolerance_pct"],
    }
    for flag, value in options.items():
        if value is not None:
            argv += [flag, str(value)]
    if "daily_split_pct" in case:
        argv += ["--split", ",".join(case["daily_split_pct"])]
    return argv


def _dose_cases() -> list[dict[str, Any]]:
    return [c for c in _vectors("dose_vectors.json") if c["basis"] != "weight_band"]


@pytest.mark.parametrize("case", _dose_cases(), ids=lambda c: c["id"])
def test_dose_json_matches_vectors(
    capsys: pytest.CaptureFixture[str], case: dict[str, Any]
) -> None:
    data = _run_json(capsys, *_dose_argv(case))
    assert data["calculated_dose_mg"] == Decimal(case["calculated_dose_mg"])
    assert data["capped"] is case["capped"]
    assert data["final_dose_mg"] == Decimal(case["expected_final_dose_mg"])
    assert data["rounding_deviation_pct"] == Decimal(case["rounding_deviation_pct_vs_capped"])
    assert data["within_rounding_tolerance"] is case["within_rounding_tolerance"]
    if case["bsa_m2_unrounded"] is not None:
        assert abs(data["bsa_m2_unrounded"] - Decimal(case["bsa_m2_unrounded"])) < Decimal("1e-10")
    if "expected_unit_doses_mg" in case:
        expected = [Decimal(d) for d in case["expected_unit_doses_mg"]]
        assert data["split"]["unit_doses_mg"] == expected
        equal = case["sum_equals_rounded_daily_dose"]
        assert data["split"]["sum_equals_rounded_daily_dose"] is equal


@pytest.mark.parametrize(("weight", "dose"), [("19.9", 10), ("20.0", 10), ("20.1", 20)])
def test_band_rule(capsys: pytest.CaptureFixture[str], weight: str, dose: int) -> None:
    data = _run_json(
        capsys, "dose", "--rule", "band", "--band", "<=20:10", "--band", "inf:20",
        "--weight-kg", weight,
    )  # fmt: skip
    assert data["final_dose_mg"] == dose


def test_split_mismatch_and_flags_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _run_json(
        capsys, "dose", "--rule", "per-m2", "--amount", "10", "--height-cm", "65",
        "--weight-kg", "7", "--formula", "haycock", "--step-mg", "0.25", "--doses-per-day", "3",
    )  # fmt: skip
    assert data["final_dose_mg"] == Decimal("3.5")
    assert data["split"]["sum_of_unit_doses_mg"] == Decimal("3.75")
    assert data["split"]["mismatch_mg"] == Decimal("0.25")
    assert "split_total_mismatch" in data["flags"]


def test_dose_human_text_mentions_cap_and_tolerance(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["dose", "--rule", "per-m2", "--amount", "2", "--height-cm", "140", "--weight-kg", "37",
         "--cap-mg", "2", "--step-mg", "0.1"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Dose 2 mg\nrule: mg/m² × body surface area\n")
    assert "basis: 2 mg/m² × BSA 1.1995 m² (Mosteller; 140 cm, 37 kg)\n" in out
    assert "capped at 2 mg" in out and "within the ±10 % tolerance" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bsa", "--height-cm", "170", "--weight-kg", "450"],
         "weight_kg = 450 is above the limit of 300 kg"),
        (["bsa", "--height-cm", "abc", "--weight-kg", "70"], "height_cm = 'abc' is not a number"),
        (["bsa", "--weight-kg", "70"], "height_cm is required by the Mosteller formula"),
        (["dose", "--rule", "per-kg", "--amount", "2"], "weight_kg is required by rule per_kg"),
        (["dose", "--rule", "band", "--band", "20-10", "--weight-kg", "5"],
         f"band '20-10' is not EDGE_KG:DOSE_MG; accepted forms: {BAND_FORMS}"),
        (["dose", "--rule", "fixed", "--amount", "5", "--step-mg", "1", "--split", "50,40"],
         "split_pct = [50, 40] sums to 90, not 100"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_json_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"error": message}


def test_bad_input_without_json_is_one_plain_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bsa", "--height-cm", "1.7", "--weight-kg", "70"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "did you enter metres?" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dose", "--rule", "per-lb", "--amount", "1", "--json"]) == 2
    assert "error" in json.loads(capsys.readouterr().err.strip())
    assert main(["dose", "--rule", "fixed", "--doses-per-day", "2", "--split", "50,50"]) == 2


def test_dose_options_are_reusable_by_other_commands() -> None:
    parser = argparse.ArgumentParser()
    add_dose_arguments(parser)
    args = parser.parse_args(
        ["--rule", "per-kg", "--amount", "0.5", "--weight-kg", "8.4", "--step-mg", "0.25"]
    )
    assert dose_from_args(args).final_dose_mg == Decimal("4.25")

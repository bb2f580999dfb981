"""A pharmacist's review of the dose path on the command line (rvdose).

Each test is a defect found by entering a prescription the way a technician could.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from printpharm.cli import main

HC = ["--recipe", "hydrocortisone-fdm-tablet", "--rule", "per-kg", "--weight-kg", "10"]


@pytest.mark.parametrize("command", ["plan", "run"])
def test_a_wider_tolerance_does_not_let_a_rounded_dose_past_the_pharmacist(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    """0.075 mg/kg × 10 kg = 0.75 mg rounds to 1 mg on the 0.5 mg step (+33 %): refused
    unless a pharmacist signs. ``--tolerance-pct 100`` printed it with no signature."""
    out = tmp_path / "b.gcode"
    extra = ["--out", str(out)] if command == "plan" else ["--out-dir", str(tmp_path / "run")]
    argv = [command, *HC, "--amount", "0.075", "--units", "2", "--tolerance-pct", "100"]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert "gives 1 mg (+33.33 %), outside the ±10 % rounding tolerance a batch is printed " in err
    assert "(the ±100 % given is wider): refused" in err and "--override-by" in err
    assert err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "run").exists()


def test_a_narrower_tolerance_is_still_the_prescriber_s_choice(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """5 % (curative intent, HOPA) narrows the gate: 18.5405 → 18.5 mg (-0.22 %) plans."""
    argv = ["plan", "--recipe", "cpm-chewable-disc", "--rule", "per-m2", "--amount", "25",
            "--height-cm", "110", "--weight-kg", "18", "--tolerance-pct", "5",
            "--out", str(tmp_path / "b.gcode"), "--json"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)["dose_calculation"]
    assert record["rounding_tolerance_pct"] == 5 and record["final_dose_mg"] == 18.5


@pytest.mark.parametrize(
    ("option", "value"),
    [("--cap-mg", "10"), ("--step-mg", "1"), ("--amount", "5"), ("--weight-kg", "18"),
     ("--band", "<=20:10"), ("--doses-per-day", "2"), ("--tolerance-pct", "5")],
)  # fmt: skip
@pytest.mark.parametrize("command", ["plan", "run"])
def test_dose_mg_refuses_the_rule_options_it_would_ignore(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, option: str, value: str
) -> None:
    """``--dose-mg 15 --cap-mg 10`` planned and printed 15 mg: the cap (and every other rule
    option beside --dose-mg) was silently dropped."""
    out = tmp_path / "b.gcode"
    extra = ["--out", str(out)] if command == "plan" else ["--out-dir", str(tmp_path / "run")]
    argv = [
        command,
        "--recipe",
        "cpm-chewable-disc",
        "--dose-mg",
        "15",
        "--units",
        "2",
        option,
        value,
    ]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert f"{option} applies only to --rule" in err and "--dose-mg" in err
    assert err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "run").exists()


def test_a_split_dose_s_headline_says_per_day_and_what_each_unit_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Vector hc_10mgm2_day_infant_65_7_haycock: 3.615 mg/day → 3.5 mg/day, given as
    3 × 1.25 mg. The headline read 'Dose 3.5 mg' — the figure a reader copies as the dose
    of a unit, which holds 1.25 mg (and the child gets 3.75 mg a day)."""
    argv = ["dose", "--rule", "per-m2", "--amount", "10", "--height-cm", "65", "--weight-kg",
            "7", "--formula", "haycock", "--step-mg", "0.25", "--doses-per-day", "3"]  # fmt: skip
    assert main(argv) == 0
    headline = capsys.readouterr().out.splitlines()[0]
    assert headline == (
        "Dose 3.5 mg/day (rounded daily dose), given as 1.25 + 1.25 + 1.25 mg "
        "= 3.75 mg/day delivered"
    )

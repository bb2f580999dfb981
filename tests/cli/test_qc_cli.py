"""``printpharm qc mass|av|av-mass`` through the real dispatcher and one real process."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from printpharm.cli import main
from printpharm.cli._qc import read_values
from printpharm.errors import UniformityInputError
from tests.conftest import load_vectors

D = Decimal


def _case(name: str, case_id: str) -> dict[str, Any]:
    return next(c for c in load_vectors(name)["cases"] if c["id"] == case_id)


def _strs(values: list[Decimal]) -> list[str]:
    return [str(v) for v in values]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_mass_json_mirrors_the_vector(capsys: pytest.CaptureFixture[str]) -> None:
    case = _case("mass_uniformity_2_9_5_vectors.json", "t04_three_outside_7.5")
    code, out, _ = _run(capsys, "qc", "mass", "--json", "--mass-mg", *_strs(case["unit_masses_mg"]))
    assert code == 1  # the test ran and the batch failed
    data = json.loads(out, parse_float=D)
    for key, value in case["expected"].items():
        assert data[key] == value, key
    assert data["policy"] == "strict"


def test_mass_human_output_names_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    case = _case("mass_uniformity_2_9_5_vectors.json", "t03_two_outside_7.5")
    code, out, _ = _run(capsys, "qc", "mass", "--mass-mg", *_strs(case["unit_masses_mg"]))
    assert code == 0
    assert "Average mass        200.000 mg" in out
    assert "Band                7.5 % (twice: 15.0 %)" in out
    assert "unit 4 (+8.000 %), 8 (-8.000 %)" in out
    assert "Verdict             PASS" in out


def test_capsule_with_shell_and_gn_policy(capsys: pytest.CaptureFixture[str]) -> None:
    # contents 400 mg +/- 7.54 % (7.5 % band): strict counts 4, GN rounds 7.54 to 7.5
    gross = ["490.16", "429.84", "490.16", "429.84"] + ["460"] * 16
    argv = ["qc", "mass", "--json", "--form", "capsule", "--shell-mg", "60", "--mass-mg", *gross]
    code, out, _ = _run(capsys, *argv)
    strict = json.loads(out)
    code_gn, out_gn, _ = _run(capsys, *argv, "--policy", "gn_rounding")
    gn = json.loads(out_gn)
    assert strict["average_mass_mg"] == "400.000000"
    assert (code, strict["result"], strict["n_outside_limit"]) == (1, "FAIL", 4)
    assert (code_gn, gn["result"], gn["policy"]) == (0, "PASS", "gn_rounding")


def test_mass_file_with_comments_csv_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    masses = _strs(
        _case("mass_uniformity_2_9_5_vectors.json", "t06_four_exactly_at_limit")["unit_masses_mg"]
    )
    plain = tmp_path / "masses.txt"
    plain.write_text("# batch 42\n\n" + "\n".join(f"{m}  # unit" for m in masses) + "\n")
    csv = tmp_path / "masses.csv"
    csv.write_text("mass_mg\n" + "\n".join(masses) + "\n")
    js = tmp_path / "masses.json"
    js.write_text(json.dumps([float(m) for m in masses]))
    for path in (plain, csv, js):
        assert read_values(path) == masses
        code, out, _ = _run(capsys, "qc", "mass", "--json", "--file", str(path))
        assert code == 0
        assert json.loads(out)["n_outside_limit"] == 0  # 4 units exactly at 7.5 %


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("200\n200,201\n", "line 2: expected one value"),
        ("200\nabc\n", "line 2: 'abc' is not a number"),
        ("# only a comment\n", "no values found"),
        ("[200, true]", "item 2"),
        ("[200,", "not valid JSON"),
        ("[" + "9" * 5000 + "]", "number too long"),  # issue 13: not an internal error
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(UniformityInputError, match=message):
        read_values(path)


def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "qc", "mass", "--mass-mg", *["200"] * 19)
    assert (code, out) == (2, "")
    assert err == "printpharm: error: 2.9.5 requires 20 units, got 19 " + (
        "(weigh exactly 20 units taken at random)\n"
    )
    code, _, err = _run(capsys, "qc", "mass", "--json", "--file", str(tmp_path / "missing.txt"))
    assert code == 2 and len(err.splitlines()) == 1 and "cannot read" in json.loads(err)["error"]
    code, _, err = _run(capsys, "qc", "av", "--content-pct", *["100"] * 9, "x")
    assert code == 2 and err.count("\n") == 1 and "unit 10" in err


def test_av_stage2_json_mirrors_the_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = _case("av_2_9_40_vectors.json", "a16_stage2_fail_L2")
    path = tmp_path / "contents.txt"
    path.write_text(
        "\n".join(_strs(case["stage1_contents_pct"] + case["stage2_additional_contents_pct"]))
    )
    code, out, _ = _run(capsys, "qc", "av", "--json", "--file", str(path))
    assert code == 1
    data = json.loads(out, parse_float=D)
    exp = case["expected"]
    assert (data["final"], data["reason"]) == (exp["final"], exp["reason"])
    for stage in ("stage1", "stage2"):
        for key, value in exp[stage].items():
            assert data[stage][key.lower()] == value, (stage, key)


def test_av_human_and_target(capsys: pytest.CaptureFixture[str]) -> None:
    case = _case("av_2_9_40_vectors.json", "a10_T105_mean104")
    argv = ["qc", "av", "--target-pct", "105", "--content-pct", *_strs(case["stage1_contents_pct"])]
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert "T = 105 %" in out
    assert "AV 2.1 (<= L1 15.0)" in out
    assert "Verdict             PASS_STAGE1" in out


def test_av_mass_marks_low_dose_as_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    case = _case("av_2_9_40_vectors.json", "a19_MV_pass")
    masses = _strs(case["stage1_masses_mg"])
    base = ["qc", "av-mass", "--assay-pct", "99.2", "--mass-mg", *masses]
    code, out, _ = _run(capsys, *base, "--json")
    data = json.loads(out, parse_float=D)
    assert code == 0 and data["stage1"]["av_unrounded"] == "1.6973098922"
    assert data["is_estimate"] is False
    code, out, _ = _run(capsys, *base, "--unit-content-mg", "5", "--drug-fraction", "0.05")
    assert code == 0
    assert "NOTE                estimate, not 2.9.40 compliance" in out


def test_qc_without_a_test_shows_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "qc")
    assert code == 2 and "mass" in err and "av-mass" in err


def test_real_process_mass_file_json(tmp_path: Path) -> None:
    case = _case("mass_uniformity_2_9_5_vectors.json", "t15_small_tab_one_beyond_20")
    path = tmp_path / "masses.txt"
    path.write_text("\n".join(_strs(case["unit_masses_mg"])) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "printpharm", "qc", "mass", "--file", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout, parse_float=D)
    for key, value in case["expected"].items():
        assert data[key] == value, key


def test_capsule_per_unit_shells_from_the_vector(capsys: pytest.CaptureFixture[str]) -> None:
    case = _case("mass_uniformity_2_9_5_vectors.json", "c01_capsule_150_pass")
    argv = ["qc", "mass", "--json", "--form", "capsule", "--mass-mg"]
    argv += _strs(case["capsule_gross_mg"]) + ["--shell-mg", *_strs(case["capsule_shell_mg"])]
    code, out, _ = _run(capsys, *argv)
    data = json.loads(out, parse_float=D)
    assert code == 0
    for key, value in case["expected"].items():
        assert data[key] == value, key
    code, _, err = _run(capsys, *argv[:-2])  # 18 shells for 20 units
    assert code == 2 and "one per unit (20), got 18" in err

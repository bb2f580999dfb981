"""``printpharm run`` through main() (planner + simulators) and one real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from printpharm.cli import main

CPM = ["run", "--recipe", "cpm-chewable-disc", "--rule", "fixed", "--amount", "10"]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str, code: int) -> dict[str, Any]:
    assert main([*argv, "--json"]) == code
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_ten_simulated_units_complete_and_await_content_uniformity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # every unit in tolerance, but no pharmacopoeial test decides 10 units of 10 mg at 5 % w/w:
    # not a pass and not releasable (issue 10, finding 5), but nothing failed: exit 0
    data = run_json(capsys, *CPM, "--units", "10", "--simulate", code=0)
    assert data["status"] == "completed" and data["passed"] is False
    assert data["releasable"] is False
    assert [u["n"] for u in data["units"]] == list(range(1, 11))
    for unit in data["units"]:
        assert unit["target_mg"] == 200.0  # 10 mg at 50 mg/g
        assert abs(unit["measured_mg"] - 200.0) < 200.0 * 0.075
        assert unit["verdict"] == "pass"
        assert unit["raw_reading"].startswith("S S")
    assert data["alarms"] == []
    assert data["qc"]["verdict"] == "pending_content_uniformity"
    tests = {t["test"]: t for t in data["qc"]["tests"]}
    assert tests["2.9.5"]["result"] == "NOT_APPLICABLE"
    assert tests["local"]["result"] == "PASS"
    assert data["dose"]["dose_mg"] == 10.0 and data["dose"]["rule"] == "fixed"
    assert data["recipe"]["id"] == "cpm-chewable-disc"
    assert data["printer"]["firmware"].startswith("Marlin")
    assert data["balance"]["model"] == "XS205 DualRange"
    for correction in data["corrections"]:
        assert 95 <= correction["applied_pct"] <= 105


def test_human_output_has_a_line_per_unit_and_a_verdict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*CPM, "--units", "3", "--out-dir", str(tmp_path)]) == 0  # pending, not failed
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("unit ")] == [
        "1",
        "2",
        "3",
    ]
    assert "QC: PENDING_CONTENT_UNIFORMITY — not a pass" in out and "COMPLETED" in out
    assert "VERDICT: PENDING_CONTENT_UNIFORMITY — not a pass; not releasable" in out
    assert out.rstrip().endswith(
        "batch record: not recorded in the database (no --user): a training run"
    )
    (result_file,) = tmp_path.glob("*[0-9a-f].json")
    saved = json.loads(result_file.read_text())
    assert saved["status"] == "completed" and len(saved["units"]) == 3
    assert len(list(tmp_path.glob("*.events.jsonl"))) == 1
    (gcode,) = tmp_path.glob("*.gcode")
    assert ";PRINTPHARM UNIT_START n=3 of=3" in gcode.read_text()
    (printer_log,) = tmp_path.glob("*.printer.log")
    assert "M221 S" in printer_log.read_text() or "M400" in printer_log.read_text()
    (balance_log,) = tmp_path.glob("*.balance.log")
    log = balance_log.read_text()
    # each unit's stable reading (S) and its confirmation (SI): every raw weighing is in the log
    assert log.count("> b'S\\r\\n'") == 3 and log.count("> b'SI\\r\\n'") == 3
    assert log.count("b'S S ") == 6
    assert all(repr(unit["raw_reading"].encode()) in log for unit in saved["units"])


def test_a_clogged_unit_stops_the_run_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    # a head without a load cell: the balance sees the clog (with one: the next test)
    data = run_json(capsys, *CPM, "--units", "5", "--sim-option", "clog_unit=2",
                    "--sim-option", "pressure_sensor=0", code=1)  # fmt: skip
    assert data["status"] == "stopped"
    assert [u["verdict"] for u in data["units"]] == ["pass", "fail"]
    assert data["alarms"][0]["kind"] == "unit_out_of_tolerance"
    assert data["qc"]["verdict"] == "not_evaluated"


def test_a_clog_is_an_over_pressure_alarm_before_the_unit_is_weighed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, *CPM, "--units", "5", "--sim-option", "clog_unit=2", code=1)
    assert data["status"] == "stopped"
    assert [u["verdict"] for u in data["units"]] == ["pass"]  # unit 2 was never weighed
    (alarm,) = data["alarms"]
    assert (alarm["kind"], alarm["unit"]) == ("over_pressure", 2)
    assert "above the ink's limit of 180 kPa" in alarm["message"]
    watched = data["printer"]["pressure"]
    assert watched["watched"] is True and watched["command"] == "M1155 S0.5"
    log = data["units"][0]["pressure"]
    assert 80 < float(log["mean_kpa"]) < 150 and float(log["max_kpa"]) < 180  # a clean unit


def test_a_dropped_connection_is_interrupted_with_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, *CPM, "--units", "4", "--sim-option", "drop_after=700", code=1)
    assert data["status"] == "interrupted"
    assert len(data["units"]) == 1  # the start code and unit 1 are ~450 lines
    assert data["alarms"][-1]["kind"] == "connection_lost"


@pytest.mark.parametrize(("answer", "status"), [("continue", "completed"), ("abort", "stopped")])
def test_pause_policy_answers_from_the_command_line(
    capsys: pytest.CaptureFixture[str], answer: str, status: str
) -> None:
    argv = ["run", "--recipe", "sildenafil-caplet", "--rule", "fixed", "--amount", "10"]
    data = run_json(
        capsys, *argv, "--units", "3", "--sim-option", "clog_unit=2", "--on-pause", answer,
        "--sim-option", "pressure_sensor=0", code=1,
    )  # fmt: skip
    assert data["status"] == status
    paused = [a for a in data["alarms"] if a["action"] == "pause"]
    assert [a["unit"] for a in paused] == ([2, 3] if answer == "continue" else [2])  # it persists
    assert data["alarms"][0]["action"] == "pause"
    assert data["alarms"][0]["decision"] == answer
    if status == "completed":
        assert data["qc"]["verdict"] == "fail"  # unit 2 is out of the local tolerance


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--amount", "100", "--units", "2"], "outside the validated range"),
        (["--units", "0"], "at least 1 unit"),
        (["--units", "2", "--printer-port", "COM3"], "give both"),
        (["--units", "2", "--sim-option", "wobble=1"], "unknown"),
        (["--units", "2", "--sim-option", "clog"], "KEY=VALUE"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main([*CPM, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_run_as_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "printpharm", *CPM, "--units", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr  # completed; 2 units cannot pass any test (pending)
    data = json.loads(proc.stdout)
    assert data["status"] == "completed" and len(data["units"]) == 2
    assert data["qc"]["verdict"] == "pending_content_uniformity"


def test_explicit_ports_drive_the_named_devices(capsys: pytest.CaptureFixture[str]) -> None:
    plate = "cli-explicit-ports"
    printer = (
        f"sim://printer?plate={plate}&fast=1&e_units=plunger_mm&diameter_mm=14.5&seed=5"
        "&mass_per_mm3=1.19&mass_offset_mg=-0.5"  # the cyclophosphamide paste's calibration
    )
    balance = f"sim://balance?plate={plate}&fast=1&seed=5"
    argv = [*CPM, "--units", "2", "--printer-port", printer, "--balance-port", balance]
    data = run_json(capsys, *argv, code=0)  # 2 units: completed, QC pending
    assert data["printer"]["port"] == printer and data["balance"]["port"] == balance
    assert data["status"] == "completed"
    assert main([*argv, "--simulate"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_a_bsa_dose_is_rounded_to_the_recipes_step_unless_told(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["run", "--recipe", "cpm-chewable-disc", "--rule", "per-m2", "--amount", "20"]
    argv += ["--height-cm", "110", "--weight-kg", "19", "--units", "1"]
    data = run_json(capsys, *argv, code=0)  # 20 mg/m² × 0.7619 m² = 15.24 mg → 15.0 mg
    assert data["status"] == "completed"  # (one unit: the QC is pending)
    assert data["dose"]["dose_step_mg"] == 0.5 and data["dose"]["dose_mg"] == 15.0
    assert data["units"][0]["target_mg"] == 300.0
    assert main([*argv, "--step-mg", "0.01"]) == 2  # 15.24 mg is off the recipe's step
    assert "dose step" in capsys.readouterr().err


def interruptible_run(plate: str, *extra: str) -> subprocess.Popen[str]:
    """``printpharm run`` of 3 cpm units on linked simulators at real speed (÷100), started
    as its own process so that a test can send it a signal while it prints."""
    printer = (
        f"sim://printer?plate={plate}&speed=100&e_units=plunger_mm&diameter_mm=14.5"
        "&mass_per_mm3=1.19&mass_offset_mg=-0.5"
    )
    balance = f"sim://balance?plate={plate}&speed=100"
    argv = [*CPM, "--units", "3", "--printer-port", printer, "--balance-port", balance, *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "printpharm", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_stops_the_run_safely_and_reports_it() -> None:
    proc = interruptible_run("cli-ctrl-c")
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:  # wait until unit 1 is weighed, then press Ctrl-C
        lines.append(line)
        if line.startswith("unit   1"):
            proc.send_signal(signal.SIGINT)
            break
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "ALARM cancelled: interrupted by the operator (Ctrl-C)" in out
    assert "STOPPED" in out and "unit   3" not in out


def test_a_drying_ink_is_weighed_wet_in_line_against_its_as_printed_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # sildenafil paste: 25 mg/g as dispensed, 30 mg/g once dried (bsa_dosing.md §2.5)
    argv = ["run", "--recipe", "sildenafil-caplet", "--rule", "fixed", "--amount", "10"]
    data = run_json(capsys, *argv, "--units", "3", code=0)  # 3 units: QC pending
    assert data["status"] == "completed"
    for unit in data["units"]:
        assert unit["target_mg"] == 400.0  # 10 mg / 25 mg/g, weighed right after printing
        assert unit["dried_target_mg"] == 333.3333  # 10 mg / 30 mg/g, the plan's target
        assert unit["verdict"] == "pass"
    assert "weigh the dried printlets for release" in data["qc"]["reason"]


def test_the_dose_is_given_by_dose_mg_or_by_a_rule_never_both(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["run", "--recipe", "cpm-chewable-disc", "--units", "2"]
    data = run_json(capsys, *base, "--dose-mg", "15", code=0)  # 2 units: QC pending
    assert data["dose"]["dose_mg"] == 15.0 and data["recorded"] is False
    assert [u["target_mg"] for u in data["units"]] == [300.0, 300.0]  # 15 mg at 50 mg/g
    for extra, message in (
        (["--dose-mg", "15", "--rule", "fixed", "--amount", "15"], "either with --dose-mg"),
        ([], "either with --dose-mg"),
        (["--dose-mg", "15.2"], "dose step"),
        (["--dose-mg", "fifteen"], "dose_mg"),
    ):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (extra, err)


def test_the_default_simulation_is_rough_but_seeded(capsys: pytest.CaptureFixture[str]) -> None:
    """Old simulator: unit RSD 0.007 % — nothing the controller or QC could be tested on."""
    first = run_json(capsys, *CPM, "--units", "10", code=0)
    masses = [u["measured_mg"] for u in first["units"]]
    mean = sum(masses) / len(masses)
    rsd = (sum((m - mean) ** 2 for m in masses) / (len(masses) - 1)) ** 0.5 / mean
    assert 0.01 < rsd < 0.04  # a good SSE paste printer: 1-4 %
    again = run_json(capsys, *CPM, "--units", "10", code=0)
    assert [u["measured_mg"] for u in again["units"]] == masses  # the same seed, the same units
    other = run_json(capsys, *CPM, "--units", "10", "--sim-option", "seed=7", code=0)
    assert [u["measured_mg"] for u in other["units"]] != masses


def test_sim_options_reach_the_process_and_the_record(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*CPM, "--units", "6", "--sim-option", "process_rsd=0", "--sim-option", "bias=0.04"]
    data = run_json(capsys, *argv, code=0)
    assert abs(data["units"][0]["deviation_pct"] - 4.0) < 0.1  # the bias is on the deposit
    assert data["corrections"], "a 4 % offset is corrected within the batch"
    last = data["units"][-1]
    assert last["e_scale"] < 0.98 and abs(last["deviation_pct"]) < 1.0
    assert "corrected for its predicted offset" in last["correction_reason"]
    assert data["corrections"][0]["reason"] and data["corrections"][0]["estimate_pct"] > 0


def test_a_drift_warning_is_printed_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [*CPM, "--units", "12", "--sim-option", "process_rsd=0"]
    assert main([*argv, "--sim-option", "drift_pct_per_unit=-1"]) in (0, 1)
    out = capsys.readouterr().out
    (warning,) = [line for line in out.splitlines() if line.startswith("WARNING")]
    assert "drift_warning" in warning and "trending -1.0" in warning
    assert "1 warning(s) (1 drift warning)" in out and "unit  12" in out  # printed every unit


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("wobble=1", "'wobble' is unknown; accepted options: "),
        ("process_rsd=lots", "process_rsd='lots' is not a valid number"),
        ("process_rsd=0.9", "process_rsd=0.9: must be in 0.0..0.5"),
        ("clog_factor=-1", "clog_factor=-1.0: must be in 0.0..1.0"),
        ("balance_sd_mg=x", "balance_sd_mg='x' is not a valid number"),
    ],
)
def test_a_bad_sim_option_exits_2_naming_what_is_accepted(
    capsys: pytest.CaptureFixture[str], option: str, message: str
) -> None:
    assert main([*CPM, "--units", "2", "--sim-option", option]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    if "unknown" in message:
        for name in ("process_rsd", "drift_pct_per_unit", "bias", "clog_unit", "bubble_rate",
                     "balance_sd_mg", "seed"):  # fmt: skip
            assert name in err


def test_an_out_dir_that_cannot_be_made_is_refused_before_anything_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: "internal error (FileExistsError)" (exit 3)
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    assert main([*CPM, "--units", "1", "--out-dir", str(taken)]) == 2
    captured = capsys.readouterr()
    assert f"--out-dir {taken}: cannot create the folder (a file of that name exists)" in (
        captured.err
    )
    assert "planned" not in captured.out  # nothing was planned or printed
    missing = tmp_path / "read-only" / "run"
    missing.parent.mkdir(mode=0o500)
    if os.access(missing.parent, os.W_OK):  # root writes anywhere: a path under a file instead
        missing = taken / "run"
    assert main([*CPM, "--units", "1", "--out-dir", str(missing)]) == 2
    assert f"--out-dir {missing}: cannot create the folder (" in capsys.readouterr().err

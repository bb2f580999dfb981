"""``printpharm calibrate``: a series printed and weighed, fitted, refused or signed, then used.

The last test runs the whole chain over pseudo-terminals: a lot released → its calibration
series on the printer and balance simulators behind real serial ports → fit, validated and
locked by another pharmacist → a patient batch from that lot → the record names the
calibration, its fit, its prediction and the drift check.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import (
    BALANCE_MODEL,
    BALANCE_SERIAL,
    Cli,
    check_balance,
    initialised,
    pw,
    qualify_balance,
    register_printer,
)
from tests.cli.test_run_records_cli import PEOPLE, _lock_cpm, add_released_lot

INK, PRINTER = "cyclophosphamide-sse-chewable", "marlin-sse"
SERIES = ["calibrate", "--ink", INK, "--printer", PRINTER]
PLAN = ["plan", "--recipe", "cpm-chewable-disc", "--units", "2"]
#: A noise-free simulated process: the fit recovers the ink's own calibration exactly.
IDEAL = ["--sim-option", "process_rsd=0"]


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Cli]) -> Cli:
    c = initialised(make_cli(tmp_path / "records.sqlite3"), PEOPLE)
    _lock_cpm(c)
    c.train_operator("tech1")
    return c


def _calibrate(cli: Cli, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    return cli.as_user("sup1", *SERIES, "--plot", str(tmp_path / "fit.pdf"), *extra)


def _sign(cli: Cli, version: int, who: str = "sup2") -> None:
    for action in ("validate", "lock"):
        code, out, err = cli.as_user(who, "calibrate", action, str(version), times=2)
        assert code == 0 and "Approved by Sam Second (sup2)" in out, err


def test_a_series_on_the_simulators_is_weighed_fitted_plotted_and_stored_as_a_draft(
    cli: Cli, tmp_path: Path
) -> None:
    # one digit of the third disc's weight is garbled on the wire: set aside, and kept
    garble = ["--sim-option", "balance_garble_weight_reply=5"]
    code, out, err = _calibrate(cli, tmp_path, *IDEAL, *garble)
    assert code == 0, err
    assert "5 volumes × 2 discs: 50, 103, 212, 437, 900 mm³" in out
    assert out.count("\ndisc ") == 10 and out.startswith("calibration series of")
    # the simulated paste follows the ink file's calibration, 1.19 mg/mm³ · V − 0.5 mg
    a, b = (float(x) for x in re.findall(r"fit: mass = ([\d.]+) mg/mm³ · V − ([\d.]+) mg", out)[0])
    assert a == pytest.approx(1.19, rel=1e-4) and b == pytest.approx(0.5, abs=0.05)
    assert "R² = 0.99999" in out and "residual SD = " in out
    assert "95 % prediction interval of one unit at the series' ends: 50.0 mm³ → " in out
    assert "stored as calibration v1 (draft)" in out and "fitted on the built-in simulators" in out
    assert (tmp_path / "fit.pdf").read_bytes().startswith(b"%PDF-")
    code, out, err = cli.as_user("sup1", "calibrate", "show", "1", "--json", "--plot",
                                 str(tmp_path / "fit.svg"))  # fmt: skip
    assert code == 0, err
    shown = json.loads(out)
    assert shown["status"] == "draft" and shown["n"] == 10 and shown["ink_version"] == 1
    assert shown["context"]["simulated"] is True and len(shown["context"]["raw_readings"]) == 10
    ((disc, (set_aside,)),) = shown["context"]["set_aside_readings"].items()
    assert disc == "3" and set_aside.startswith("'S S")
    assert set_aside.split("'")[1] not in shown["context"]["raw_readings"]  # never fitted
    low, high = shown["prediction_interval_at_ends"]
    assert low["low_mg"] < low["mass_mg"] < low["high_mg"] and high["volume_mm3"] > 899
    svg = (tmp_path / "fit.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "residual (mg)" in svg
    code, out, _ = cli.as_user("insp1", "calibrate", "list", "--json")
    assert code == 0 and [c["version"] for c in json.loads(out)["calibrations"]] == [1]


def test_a_technician_runs_the_series_and_nobody_signs_their_own(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli.as_user("insp1", *SERIES)
    assert code == 2 and "may not calibration.run" in err and err.count("\n") == 1
    code, out, err = cli.as_user("tech1", *SERIES, "--plot", str(tmp_path / "t.pdf"), *IDEAL)
    assert code == 0 and "stored as calibration v1 (draft)" in out, err
    code, _, err = cli.as_user("tech1", "calibrate", "validate", "1", times=2)
    assert code == 2 and "may not library.validate" in err  # a pharmacist validates
    assert _calibrate(cli, tmp_path, *IDEAL)[0] == 0  # v2, fitted by the pharmacist sup1
    code, _, err = cli.as_user("sup1", "calibrate", "validate", "2", times=2)
    assert code == 2 and "may not sign it as approved (segregation of duties)" in err
    code, _, err = cli.as_user("sup2", "calibrate", "lock", "2", times=2)
    assert code == 2 and "only a validated calibration can be locked" in err
    _sign(cli, 2)
    code, out, _ = cli.as_user("sup1", "calibrate", "list")
    assert out.startswith(f"v2    locked    {INK} v1 on {PRINTER}: a 1.1899")  # 1.19 ± noise


def test_a_series_that_fails_the_criteria_is_refused_with_its_reasons(
    cli: Cli, tmp_path: Path
) -> None:
    code, out, err = _calibrate(cli, tmp_path, "--volumes", "300,400", "--replicates", "2")
    assert code == 2 and out.count("\ndisc ") == 4  # printed and weighed, then refused
    assert f"calibration fit of {INK}@{PRINTER} refused: 4 points; the site needs at least 6" in err
    assert "the volumes span 1.33× (300.0–400.0 mm³)" in err and err.count("\n") == 1
    assert (tmp_path / "fit.pdf").exists()  # the plot shows why
    code, out, _ = cli.as_user("sup1", "calibrate", "list", "--json")
    assert json.loads(out)["calibrations"] == []
    code, out, _ = cli("audit", "show", "--json")
    refused = [e for e in json.loads(out)["events"] if e["action"] == "fit-refused"]
    assert len(refused) == 1 and refused[0]["user_id"] == "sup1"


def test_the_plan_sizes_with_the_locked_calibration_and_refuses_a_too_wide_interval(
    cli: Cli, tmp_path: Path
) -> None:
    out_file = ["--out", str(tmp_path / "p.gcode")]
    code, out, _ = cli(*PLAN, "--dose-mg", "5", *out_file)  # the runner adds --db
    assert code == 0 and "sized with ink file, not fitted on site" in out  # nothing locked
    # 6 mg of deposit scatter: accepted (s ≈ 1.5 % of the mean mass) but too wide for 5 mg;
    # noise constant in mg is the unweighted fit's model (weighted 1/m², the small discs'
    # 3.5 % RSD fails the fit itself: test_calibration_weighting). The scatter is the
    # deposit's, not the balance's: each disc's reading is confirmed by a second within
    # 6·s + d of the balance's s, and a balance that scatters 6 mg is refused as one
    code, out, err = _calibrate(cli, tmp_path, *IDEAL, "--sim-option", "process_sd_mg=6",
                                "--weighting", "unweighted")  # fmt: skip
    assert code == 0, err
    _sign(cli, 1)
    code, _, err = cli(*PLAN, "--dose-mg", "5", *out_file)
    assert code == 2 and err.count("\n") == 1
    assert "a 5 mg dose of recipe cpm-chewable-disc is refused: the calibration's 95 %" in err
    assert "reaches outside the recipe's unit tolerance ±7.5 % (92.50–107.50 mg)" in err
    code, out, err = cli(*PLAN, "--dose-mg", "40", *out_file, "--json")
    assert code == 0, err
    plan = json.loads(out)
    cal = plan["calibration"]
    assert cal["version"] == 1 and cal["source"] == "site" and cal["status"] == "locked"
    low, high = cal["prediction_interval_mg"]
    assert low < cal["predicted_mass_mg"] < high and 740 < low and high < 860
    run = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "5", "--units", "2"]
    code, _, err = cli.as_user("tech1", *run, "--line-clearance")  # a recorded batch: audited
    assert code == 2 and "a 5 mg dose of recipe cpm-chewable-disc is refused" in err
    code, out, _ = cli("audit", "show", "--json")
    (refused,) = [e for e in json.loads(out)["events"] if e["action"] == "plan-refused"]
    assert (refused["user_id"], refused["record_id"]) == ("tech1", "CAL-v1")
    assert refused["reason"] == err.removeprefix("printpharm: error: ").strip()
    code, _, err = cli.as_user("sup2", "calibrate", "retire", "1", "--reason", "noisy balance")
    assert code == 0, err
    code, out, _ = cli(*PLAN, "--dose-mg", "5", *out_file)
    assert code == 0 and "sized with ink file, not fitted on site" in out


@contextmanager
def _ports() -> Iterator[list[str]]:
    """The printer and balance simulators behind pseudo-terminals, sharing one plate."""
    from printpharm.catalog import load_catalog
    from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer
    from printpharm.services.run.devices import ink_physics

    plate = Plate()
    # the ink's paste with its realistic noise and drift, but no air (a bubble's drop alarm
    # stops a batch: tests/services/test_run_control.py and the closed-loop benchmark)
    physics = {"e_units": "plunger_mm", "diameter_mm": "14.5", "bubble_rate": "0"}
    from tests.services.conftest import HARDWARE_IDENTITY  # a bench printer, not a simulator

    ink = ink_physics(load_catalog().ink(INK))
    printer = build_printer({**physics, **ink, **HARDWARE_IDENTITY}, plate)
    balance = build_balance({"check_weight_g": "100.00003"}, plate)
    with PtyServer(printer, speed=1000.0) as p_port, PtyServer(balance, speed=1000.0) as b_port:
        yield ["--printer-port", p_port.path, "--balance-port", b_port.path]


def _record(cli: Cli, batch_id: str, tmp_path: Path, fmt: str) -> str:
    path = tmp_path / f"record.{fmt}"
    code, _, err = cli.as_user("sup1", "batches", "export", batch_id, "--format", fmt,
                               "--out", str(path))  # fmt: skip
    assert code == 0, err
    return path.read_text()


def _clean_after_cytotoxic_series(cli: Cli) -> None:
    """The series printed cyclophosphamide discs: the printer is cleaned before the batch."""
    code, _, err = cli.as_user("admin", "settings", "set", "cleaning.cytotoxic_procedure",
                               "SOP-CYTO-2", "--reason", "SOP QA-4", times=2)  # fmt: skip
    assert code == 0, err
    passwords = f"{pw('tech1')}\n{pw('sup2')}\n"
    code, out, err = cli("equipment", "clean", "PR-01", "--method", "SOP-CYTO-2", "--parts",
                         "nozzle, syringe holder, plate", "--checked-by", "sup2", "--user",
                         "tech1", "--password-stdin", stdin=passwords)  # fmt: skip
    assert code == 0 and "(cytotoxic procedure)" in out, err


def test_lot_calibration_and_patient_batch_end_to_end_over_pseudo_terminals(
    cli: Cli, tmp_path: Path
) -> None:
    add_released_lot(cli, "L-CAL")
    code, _, err = cli.as_user("admin", "devices", "register-balance", BALANCE_SERIAL,
                               "--calibrated", datetime.now(UTC).date().isoformat(),
                               "--model", BALANCE_MODEL)  # fmt: skip
    assert code == 0, err
    with _ports() as ports:  # the series and the batch on one printer, one syringe load
        qualify_balance(cli, "sup1", BALANCE_SERIAL)
        check_balance(cli, "tech1", BALANCE_SERIAL, ports[3])
        register_printer(cli, "sup1")
        code, out, err = _calibrate(cli, tmp_path, *ports, "--lot", "L-CAL")
        assert code == 0, err
        assert "stored as calibration v1 (draft)" in out and "simulators" not in out
        _sign(cli, 1)
        _clean_after_cytotoxic_series(cli)
        run = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--units", "10",
               "--json", "--line-clearance", *ports, "--user", "tech1", "--password-stdin",
               "--verified-by", "sup1", "--lot", "L-CAL"]  # fmt: skip
        code, out, err = cli(*run, stdin=f"{pw('tech1')}\n{pw('sup1')}\n")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "completed" and result["patient_use"] is True
    cal = result["plan"]["calibration"]
    assert (cal["version"], cal["lot_number"], cal["source"]) == (1, "L-CAL", "site")
    check = result["calibration_check"]
    assert check["drift"] is False and check["units"] == 10, check  # the same physics
    derived = json.loads(_record(cli, result["batch_id"], tmp_path, "json"))["derived"]
    assert derived["calibration"]["version"] == 1
    assert (
        derived["calibration"]["label"]
        == f"calibration v1 (locked): {INK} v1 on {PRINTER}, lot L-CAL"
    )
    assert derived["calibration"]["prediction_interval_mg"] is not None
    assert derived["calibration_check"]["text"].startswith("no calibration drift")
    text = _record(cli, result["batch_id"], tmp_path, "csv")
    rows = {r[1]: r[2] for r in csv.reader(io.StringIO(text)) if r[0] == "batch"}
    assert rows["calibration_version"] == "1"
    assert rows["calibration"].startswith("calibration v1 (locked)")
    assert "95 % PI" in rows["calibration"] and "R² 0.99" in rows["calibration"], rows
    assert f"R² {derived['calibration']['r2']}" in rows["calibration"]  # weighted, as stored
    assert "fit: weighted least squares, weights 1/mass²" in rows["calibration"]
    assert derived["calibration"]["weighting"] == "relative"
    pdf: Any = tmp_path / "record.pdf"
    code, _, err = cli.as_user("sup1", "batches", "export", result["batch_id"], "--format",
                               "pdf", "--out", str(pdf))  # fmt: skip
    assert code == 0 and pdf.read_bytes().startswith(b"%PDF-"), err


def test_plan_reads_a_calibration_only_from_a_database_and_logs_nobody_in(
    cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from printpharm.cli import main

    out_file = ["--out", str(tmp_path / "p.gcode"), "--dose-mg", "10"]
    assert main([*PLAN, *out_file, "--lot", "L-1"]) == 2
    assert "--printer-asset and --lot choose a calibration in --db: give --db" in (
        capsys.readouterr().err
    )
    code, _, err = cli(*PLAN, *out_file, "--user", "tech1")
    assert code == 2 and "--user and --password-stdin go with --override-by" in err

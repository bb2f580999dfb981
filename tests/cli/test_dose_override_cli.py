"""Issue 10, finding 1 on the command line: ``plan`` and ``run`` refuse a dose that rounding moved
outside its tolerance, unless a pharmacist signs an override (``--override-by``), which the
human output, the JSON and the batch record then show.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from printpharm.cli import main
from tests.cli.conftest import Cli, initialised, pw

PEOPLE = (("tech1", "Tess Tech", "technician"), ("tech2", "Toni Tech", "technician"),
          ("sup1", "Sue Super", "supervisor"))  # fmt: skip
HC = ["--recipe", "hydrocortisone-fdm-tablet", "--rule", "per-kg", "--weight-kg", "10"]
UP, DOWN = "gives 1 mg (+33.33 %)", "gives 0.5 mg (-28.57 %)"
NO_DB = "without a database (a training run) no pharmacist can sign an override"


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Cli]) -> Cli:
    ready = initialised(make_cli(tmp_path / "records.sqlite3"), PEOPLE)
    ready.train("tech1", "--recipe", "hydrocortisone-fdm-tablet")  # a recorded run needs the
    ready.train("tech1", "--printer-type", "marlin-fdm")  # operator trained, and the line cleared
    return ready


@pytest.mark.parametrize(("amount", "why"), [("0.075", UP), ("0.07", DOWN)])
@pytest.mark.parametrize("command", ["plan", "run"])
def test_plan_and_run_refuse_the_rounded_dose_without_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, amount: str, why: str
) -> None:
    out = tmp_path / "b.gcode"
    extra = ["--out", str(out)] if command == "plan" else ["--out-dir", str(tmp_path / "run")]
    assert main([command, *HC, "--amount", amount, "--units", "2", *extra]) == 2
    err = capsys.readouterr().err
    assert why in err and "outside the ±10 % rounding tolerance: refused" in err
    assert NO_DB in err and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "run").exists()  # nothing planned or printed


def test_an_override_by_another_pharmacist_prints_and_is_on_every_output(cli: Cli) -> None:
    argv = ["run", *HC, "--amount", "0.075", "--units", "2", "--line-clearance"]
    code, _, err = cli.as_user("tech1", *argv)
    assert code == 2 and "a pharmacist may sign an override: --override-by" in err
    override = ["--override-by", "sup1", "--override-reason", "protocol rounds up at 10 kg"]
    code, out, err = cli(*argv, *override, "--user", "tech1", "--password-stdin",
                         stdin=f"{pw('tech1')}\n{pw('sup1')}\n")  # fmt: skip
    assert code in (0, 1), err  # printed (the QC verdict is another matter)
    assert "calculated dose: 0.75 mg" in out and "deviation +33.33 %, OUTSIDE" in out
    assert "flags: rounded, rounding_outside_tolerance" in out
    assert "DOSE OVERRIDE signed by Sue Super (sup1) at " in out
    assert "reason: protocol rounds up at 10 kg" in out
    code, out, err = cli(*argv, *override, "--json", "--user", "tech1", "--password-stdin",
                         stdin=f"{pw('tech1')}\n{pw('sup1')}\n")  # fmt: skip
    result = json.loads(out)
    assert result["dose_override"]["pharmacist_id"] == "sup1"
    assert result["dose"]["within_rounding_tolerance"] is False
    check = next(c for c in result["preflight"] if c["name"] == "dose_rounding")
    assert check["passed"] and "override signed by Sue Super (sup1)" in check["detail"]
    code, shown, err = cli.as_user("sup1", "batches", "show", result["batch_id"])
    assert code == 0, err
    assert "DOSE OVERRIDE signed by Sue Super (sup1)" in shown


@pytest.mark.parametrize(
    ("who", "why"),
    [("tech2", "tech2 may not override a dose"), ("tech1", "cannot also override its dose")],
)
def test_technicians_and_the_person_at_the_workstation_cannot_override(
    cli: Cli, who: str, why: str
) -> None:
    argv = ["run", *HC, "--amount", "0.075", "--units", "2", "--override-by", who,
            "--override-reason", "x", "--user", "tech1", "--password-stdin"]  # fmt: skip
    code, _, err = cli(*argv, stdin=f"{pw('tech1')}\n{pw(who)}\n")
    assert code == 2 and why in err
    code, out, _ = cli.as_user("tech1", "batches", "list", "--json")
    assert json.loads(out)["batches"] == []


def test_override_options_are_checked_before_anything_is_done(cli: Cli, tmp_path: Path) -> None:
    plan = ["plan", *HC, "--units", "1", "--out", str(tmp_path / "p.gcode")]
    code, _, err = cli(*plan, "--amount", "0.075", "--override-by", "sup1")
    assert code == 2 and "give --user" in err
    code, _, err = cli.as_user("tech1", *plan, "--amount", "0.075", "--override-by", "sup1")
    assert code == 2 and "needs --override-reason" in err
    code, _, err = cli.as_user("tech1", *plan, "--amount", "0.1", "--override-by", "sup1",
                               "--override-reason", "x")  # fmt: skip
    assert code == 2 and "nothing to override" in err
    code, out, err = cli(*plan, "--amount", "0.075", "--override-by", "sup1",
                         "--override-reason", "protocol", "--user", "tech1", "--password-stdin",
                         "--json", stdin=f"{pw('tech1')}\n{pw('sup1')}\n")  # fmt: skip
    assert code == 0, err
    planned = json.loads(out)
    assert planned["dose_mg"] == 1.0 and planned["dose_override"]["reason"] == "protocol"
    assert planned["dose_calculation"]["rounding_refusal"].startswith("rounding 0.75 mg")

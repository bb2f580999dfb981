"""``printpharm run --user``: the batch is recorded in the database, under locked mode."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import (
    BALANCE_MODEL,
    BALANCE_SERIAL,
    PRINTER_UUID,
    Cli,
    check_balance,
    initialised,
    pw,
    qualify_balance,
    register_printer,
)

PEOPLE = (("tech1", "Tess Tech", "technician"), ("insp1", "Ian Inspector", "inspector"),
          ("sup1", "Sue Super", "supervisor"), ("sup2", "Sam Second", "supervisor"))  # fmt: skip
RUN = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--units", "3", "--json",
       "--line-clearance"]  # fmt: skip
#: 3 units of 15 mg at 5 % w/w: completed, no test failed, the verdict waits (exit 0)
PENDING = 0


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Cli]) -> Cli:
    ready = initialised(make_cli(tmp_path / "records.sqlite3"), PEOPLE)
    ready.train_operator("tech1")
    return ready


def _lock_cpm(cli: Cli) -> None:
    """Import the shipped library; two pharmacists validate and lock the CPM recipe and ink."""
    assert cli.as_user("sup1", "library", "import")[0] == 0
    for user_id in ("sup1", "sup2"):
        code, _, err = cli.as_user("admin", "users", "verify-identity", user_id, "--method", "ID")
        assert code == 0, err
        assert cli.as_user(user_id, "users", "acknowledge", times=2)[0] == 0
    for kind, item in (("recipe", "cpm-chewable-disc"), ("ink", "cyclophosphamide-sse-chewable")):
        code, _, err = cli.as_user("sup2", "library", "validate", kind, item, "1",
                                   "--comment", "OQ", times=2)  # fmt: skip
        assert code == 0, err
        assert cli.as_user("sup2", "library", "lock", kind, item, "1", times=2)[0] == 0


def add_released_lot(cli: Cli, number: str, *extra: str) -> None:
    """tech1 records a lot of the CPM paste prepared today; sup1 releases it."""
    code, _, err = cli.as_user(
        "tech1", "lots", "add", "--lot", number, "--ink", "cyclophosphamide-sse-chewable",
        "--prepared", datetime.now(UTC).date().isoformat(), "--quantity", "20", "--unit", "mL",
        "--container", "2 x 10 mL syringes", "--assay-mg-per-g", "49.2",
        "--assay-uncertainty", "0.8", "--assay-method", "HPLC-UV, SOP QC-12", *extra,
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli.as_user("sup1", "lots", "release", number, times=2)
    assert code == 0, err


def _audit(cli: Cli) -> list[dict[str, Any]]:
    code, out, err = cli("audit", "show", "--json")
    assert code == 0, err
    events: list[dict[str, Any]] = json.loads(out)["events"]
    return events


def test_a_run_by_a_technician_is_recorded_with_its_authorisation(cli: Cli) -> None:
    code, out, err = cli.as_user("tech1", *RUN)
    assert code == PENDING, err
    result = json.loads(out)
    assert result["recorded"] is True and result["status"] == "completed"
    assert result["patient_use"] is False  # a shipped example, not yet locked on site
    batch_id = result["batch_id"]
    assert result["dose"]["dose_mg"] == 15.0
    code, out, err = cli.as_user("tech1", "batches", "show", batch_id, "--json")
    assert code == 0, err
    record = json.loads(out)["batch"]
    assert record["status"] == "completed" and record["created_by"] == "tech1"
    measured = [u["measured_mg"] for u in result["units"]]
    assert [u["raw_reading"] for u in record["units"]] == pytest.approx(measured)
    assert [u["raw_line"][:3] for u in record["units"]] == ["S S"] * 3
    actions = [(e["action"], e["user_id"]) for e in _audit(cli) if e["batch_id"] == batch_id]
    assert actions[:3] == [("line-clearance", "tech1"), ("authorise", "tech1"), ("create", "tech1")]
    assert actions[-1] == ("finish", "tech1")
    code, out, _ = cli("audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_human_output_says_where_the_batch_was_recorded(cli: Cli) -> None:
    # 20 units of 15 mg at 5 % w/w: 2.9.5 passes, but such a unit needs content uniformity
    argv = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--units", "20",
            "--line-clearance"]  # fmt: skip
    code, out, err = cli.as_user("tech1", *argv)
    assert code == PENDING, err
    assert "  2.9.5                PASS" in out
    assert "VERDICT: PENDING_CONTENT_UNIFORMITY — not a pass; not releasable until" in out
    batch_id = json.loads(cli.as_user("tech1", "batches", "list", "--json")[1])["batches"][0][
        "batch_id"
    ]
    assert "content uniformity is needed before release (" in out
    assert f"printpharm qc cu {batch_id} --select" in out
    assert "batch record: recorded in the database by tech1 — NOT FOR PATIENT USE: " in out
    assert "are examples shipped with printpharm: validate on site and lock" in out


def test_an_inspector_may_not_print_and_nothing_is_recorded(cli: Cli) -> None:
    code, _, err = cli.as_user("insp1", *RUN)
    assert code == 2 and "may not print.run" in err and err.count("\n") == 1
    code, out, _ = cli.as_user("insp1", "batches", "list", "--json")
    assert code == 0 and json.loads(out)["batches"] == []


def test_locked_mode_refuses_a_recipe_that_is_not_locked_and_audits_the_refusal(
    cli: Cli,
) -> None:
    _lock_cpm(cli)
    argv = ["run", "--recipe", "sildenafil-caplet", "--dose-mg", "10", "--units", "2"]
    code, _, err = cli.as_user("tech1", *argv)
    assert code == 2 and "locked mode refuses this batch" in err
    assert "sildenafil-caplet as given is not a locked library version" in err
    (refused,) = [e for e in _audit(cli) if e["action"] == "print-refused"]
    assert refused["user_id"] == "tech1" and "not a locked library version" in refused["reason"]
    code, out, _ = cli.as_user("tech1", "batches", "list", "--json")
    assert json.loads(out)["batches"] == []
    code, out, err = cli.as_user("tech1", *RUN)  # the recipe and ink locked on site print...
    assert code == PENDING, err
    result = json.loads(out)
    assert result["recorded"] is True and result["patient_use"] is False
    assert "not verified by a second person" in result["patient_use_reason"]
    code, _, err = cli(*RUN, "--user", "tech1", "--password-stdin", "--verified-by", "tech1",
                       stdin=f"{pw('tech1')}\n{pw('tech1')}\n")  # fmt: skip
    assert code == 2 and "cannot also verify it" in err
    code, out, err = cli(*RUN, "--user", "tech1", "--password-stdin", "--verified-by", "sup1",
                         stdin=f"{pw('tech1')}\n{pw('sup1')}\n")  # fmt: skip
    assert code == PENDING, err  # verified now, but weighed on the simulated balance: training
    result = json.loads(out)
    assert result["recorded"] is True and result["patient_use"] is False
    assert result["patient_use_reason"].startswith("weighed on the built-in simulated balance")
    verified = [e for e in _audit(cli) if e["action"] == "verify-entry"]
    assert [(e["user_id"], e["batch_id"]) for e in verified] == [("sup1", result["batch_id"])]
    code, out, _ = cli.as_user("sup1", "batches", "show", result["batch_id"], "--json")
    assert json.loads(out)["patient_use"] is False  # the record says the same


def test_database_options_without_a_user_are_refused(cli: Cli) -> None:
    code, _, err = cli(*RUN)  # the runner appends --db
    assert code == 2 and "give --user as well" in err


def test_a_batch_is_for_patient_use_with_a_locked_library_a_registered_balance_and_a_check(
    cli: Cli,
) -> None:
    """The whole gate on real ports: the devices are simulators on pseudo-terminals."""
    from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer

    _lock_cpm(cli)
    add_released_lot(cli, "L-1")
    plate = Plate()
    calibration = {"mass_per_mm3": "1.19", "mass_offset_mg": "-0.5"}  # cyclophosphamide paste
    printer = build_printer({"e_units": "plunger_mm", "diameter_mm": "14.5", **calibration}, plate)
    balance = build_balance({"check_weight_g": "100.00003"}, plate)
    with PtyServer(printer, speed=1000.0) as p_port, PtyServer(balance, speed=1000.0) as b_port:
        ports = ["--printer-port", p_port.path, "--balance-port", b_port.path]
        checked = [*RUN, *ports, "--user", "tech1", "--password-stdin", "--verified-by", "sup1",
                   "--lot", "L-1"]  # fmt: skip
        both = f"{pw('tech1')}\n{pw('sup1')}\n"
        code, _, err = cli(*checked, stdin=both)
        assert code == 2 and "is not registered with a calibration date" in err
        assert plate.deposited_mm3 == 0.0
        code, out, err = cli.as_user("admin", "devices", "register-balance", "1126493049",
                                     "--calibrated", "2026-01-15", "--model", "XS205")  # fmt: skip
        assert code == 0 and "registered, calibrated 2026-01-15" in out, err
        code, _, err = cli(*checked, stdin=both)
        assert code == 2 and "model 'XS205 DualRange', registered 'XS205'" in err
        assert "balance_qualified" in err and "balance_check" in err
        code, out, err = cli.as_user(
            "admin",
            "devices",
            "register-balance",
            "1126493049",
            "--calibrated",
            "2026-01-15",
            "--model",
            BALANCE_MODEL,
        )
        assert code == 0, err
        qualify_balance(cli, "sup1", BALANCE_SERIAL)
        check_balance(cli, "tech1", BALANCE_SERIAL, b_port.path)
        code, _, err = cli(*checked, stdin=both)
        assert code == 2 and f"printer with UUID {PRINTER_UUID} is not registered" in err
        register_printer(cli, "sup1")
        code, out, err = cli(*checked, stdin=both)
    assert code == PENDING, err
    result = json.loads(out)
    assert result["status"] == "completed" and result["patient_use"] is True
    code, out, _ = cli.as_user("sup1", "batches", "show", result["batch_id"], "--json")
    record = json.loads(out)
    assert record["patient_use"] is True
    assert "cpm-chewable-disc v1" in record["patient_use_reason"]

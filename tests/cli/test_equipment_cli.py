"""Issue 14 end to end on the command line, devices on pseudo-terminals (simulators).

Register and qualify a printer and a balance, check the balance over MT-SICS,
train the operator, clear the line (checked by a second person), print a
recorded cytotoxic batch, refuse the next one until the printer is cleaned,
print the patient label, and read all of it back from the batch record (the extrusion
pressure of every unit included). Then the nozzle clogs in a third batch: the
pressure alarm stops it, the operator acknowledges the alarm with a reason, and
the batch record shows the alarm and who acknowledged it, why and when.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer
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
from tests.services._label_decode import decode_label_pdf
from tests.services.conftest import HARDWARE_IDENTITY

RUN = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--units", "3", "--json",
       "--lot", "L-EQ-1", "--line-clearance", "--user", "tech1", "--password-stdin",
       "--verified-by", "sup1", "--clearance-checked-by", "sup2"]  # fmt: skip
PASSWORDS = f"{pw('tech1')}\n{pw('sup1')}\n{pw('sup2')}\n"


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Cli]) -> Cli:
    return initialised(make_cli(tmp_path / "records.sqlite3"), PEOPLE)


def _set(cli: Cli, key: str, value: str) -> None:
    code, _, err = cli.as_user("admin", "settings", "set", key, value, "--reason", "SOP QA-4",
                               times=2)  # fmt: skip
    assert code == 0, err


def _run(cli: Cli, ports: list[str]) -> tuple[int, str, str]:
    return cli(*RUN, *ports, stdin=PASSWORDS)


def test_equipment_people_and_room_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    _lock_cpm(cli)
    add_released_lot(cli, "L-EQ-1")
    _set(cli, "line_clearance.second_person", "required")
    plate = Plate()
    ideal = {"process_rsd": "0", "mass_per_mm3": "1.19", "mass_offset_mg": "-0.5"}  # the paste's
    printer = build_printer(
        {"e_units": "plunger_mm", "diameter_mm": "14.5", **ideal, **HARDWARE_IDENTITY}, plate
    )  # M115: a bench printer, not "printpharm simulator" (issue 13)
    balance = build_balance({"check_weight_g": "100.00003"}, plate)
    with PtyServer(printer, speed=1000.0) as p_port, PtyServer(balance, speed=1000.0) as b_port:
        ports = ["--printer-port", p_port.path, "--balance-port", b_port.path]
        _equip(cli, b_port.path)
        code, _, err = _run(cli, ports)  # nobody trained tech1 on the recipe and printer
        assert code == 2 and "training_recipe: tech1 has no in-date training record" in err
        cli.train_operator("tech1")
        code, out, err = _run(cli, ports)
        assert code == 0, err  # printed for patient use; the QC waits for content uniformity
        first = json.loads(out)
        assert first["status"] == "completed" and first["patient_use"] is True
        assert first["qc"]["verdict"] == "pending_content_uniformity"
        code, _, err = _run(cli, ports)  # the first batch was cytotoxic: clean first
        assert code == 2 and "no cleaning by the site's cytotoxic procedure" in err
        _clean(cli)
        code, out, err = _run(cli, ports)
        assert code == 0 and json.loads(out)["status"] == "completed", err
        clogged = _clogged_batch(cli, ports, printer)
    _record_shows_everything(cli, first["batch_id"], tmp_path)
    _label(cli, first["batch_id"], tmp_path)
    _alarm_acknowledged(cli, clogged, tmp_path)


def _clogged_batch(cli: Cli, ports: list[str], printer: Any) -> str:
    """The nozzle half-clogs from unit 2 of the next batch: the load cell sees it first."""
    code, _, err = cli("equipment", "clean", "PR-01", "--method", "SOP-CYTO-2", "--parts",
                       "nozzle, syringe holder, plate", "--checked-by", "sup2", "--user", "tech1",
                       "--password-stdin", stdin=f"{pw('tech1')}\n{pw('sup2')}\n")  # fmt: skip
    assert code == 0, err
    process = printer.process
    process.config = dataclasses.replace(process.config, clog_unit=2, clog_factor=0.5)
    code, out, err = _run(cli, ports)
    result = json.loads(out)
    assert code == 1 and result["status"] == "stopped", err
    # A lone report above the limit is confirmed by an M1105 poll, which on a busy machine
    # may read a travel's pressure: that report is a warning and the next one stops the run.
    warned = [a for a in result["alarms"] if a["action"] == "warn"]
    (alarm,) = [a for a in result["alarms"] if a["action"] != "warn"]
    assert alarm["kind"] == "over_pressure" and alarm["unit"] <= 2, alarm  # before the balance
    assert all(a["kind"] == "over_pressure" and a["unit"] == alarm["unit"] for a in warned)
    return str(result["batch_id"])


def _alarm_acknowledged(cli: Cli, batch_id: str, tmp_path: Path) -> None:
    code, out, err = cli.as_user("tech1", "batches", "alarms", batch_id, "--json")
    (alarm,) = [a for a in json.loads(out)["alarms"] if a["action"] != "warn"]
    assert code == 0 and alarm["acknowledged"] is False, err
    reason = "nozzle clogged: syringe changed, nozzle purged (SOP PR-07)"
    code, _, err = cli.as_user("tech1", "batches", "ack", batch_id, str(alarm["alarm_id"]),
                               "--reason", reason, times=2)  # fmt: skip
    assert code == 0, err
    out_json = tmp_path / "clogged.json"
    code, _, err = cli.as_user("sup1", "batches", "export", batch_id, "--format", "json",
                               "--out", str(out_json))  # fmt: skip
    assert code == 0, err
    record: dict[str, Any] = json.loads(out_json.read_text(encoding="utf-8"))
    (shown,) = [a for a in record["alarms"] if a["message"] == alarm["message"]]
    ack = shown["acknowledgement"]
    assert shown["kind"] == alarm["kind"] and ack["acknowledged_by"] == "tech1"
    assert ack["reason"] == reason and ack["alarm_sha256"] and ack["acknowledged_at"]


def _equip(cli: Cli, balance_port: str) -> None:
    code, out, err = cli.as_user(
        "admin",
        "equipment",
        "add",
        "balance",
        "BAL-01",
        "--serial",
        BALANCE_SERIAL,
        "--model",
        BALANCE_MODEL,
        "--location",
        "CR2",
    )
    assert code == 0 and "out of service: not qualified: IQ, OQ not approved" in out, err
    code, _, err = cli.as_user("admin", "equipment", "qualify", "BAL-01", "--stage", "IQ", "--date",
                               "2026-11-01", "--document", "QP-1", times=2)  # fmt: skip
    assert code == 2 and "sign.approved" in err  # an administrator never signs
    qualify_balance(cli, "sup1", "BAL-01")
    register_printer(cli, "sup1")
    out = check_balance(cli, "tech1", "BAL-01", balance_port)
    assert "> Put check weight W-100 (100 g) on the pan (10/10)." in out
    assert "minimum weight 2000·s = " in out and "within ±0.05 % (Ph. Eur. 2.1.7)" in out
    code, out, err = cli.as_user("sup1", "equipment", "list", "--json")
    states = {e["device"]["asset_tag"]: e["status"] for e in json.loads(out)["equipment"]}
    assert states == {"BAL-01": "qualified", "PR-01": "qualified"}, err


def _clean(cli: Cli) -> None:
    code, _, err = cli.as_user("tech1", "equipment", "clean", "PR-01", "--method", "SOP-CYTO-2",
                               "--parts", "nozzle, syringe holder, plate")  # fmt: skip
    assert code == 2 and "declared no cytotoxic cleaning procedure" in err
    _set(cli, "cleaning.cytotoxic_procedure", "SOP-CYTO-2")
    code, out, err = cli(
        "equipment",
        "clean",
        "PR-01",
        "--method",
        "SOP-CYTO-2",
        "--parts",
        "nozzle, syringe holder, plate",
        "--checked-by",
        "sup2",
        "--user",
        "tech1",
        "--password-stdin",
        stdin=f"{pw('tech1')}\n{pw('sup2')}\n",
    )
    assert code == 0 and "(cytotoxic procedure)" in out and "checked by sup2" in out, err


def _record_shows_everything(cli: Cli, batch_id: str, tmp_path: Path) -> None:
    out_json = tmp_path / "record.json"
    code, _, err = cli.as_user("sup1", "batches", "export", batch_id, "--format", "json",
                               "--out", str(out_json))  # fmt: skip
    assert code == 0, err
    record: dict[str, Any] = json.loads(out_json.read_text(encoding="utf-8"))
    controls = record["batch"]["details"]["controls"]
    assert controls["equipment"]["printer"]["asset_tag"] == "PR-01"
    assert controls["equipment"]["balance"]["asset_tag"] == "BAL-01"
    assert controls["balance_check"]["weight"]["certificate"] == "CAL-2026-0142"
    assert controls["line_clearance"]["checked_by"] == "sup2"
    assert [t["kind"] for t in controls["training"]] == ["recipe", "printer"]
    assert controls["product"]["cytotoxic"] is True
    passed = {c["name"] for c in record["batch"]["details"]["preflight"] if c["passed"]}
    assert {"balance_check", "minimum_weight", "printer_qualified", "balance_identity",
            "cleaning", "line_clearance", "training_recipe"} <= passed  # fmt: skip
    actions = [e["action"] for e in record["audit_events"]]
    assert actions[:3] == ["verify-entry", "line-clearance", "authorise"]
    logs = [u["pressure"] for u in record["batch"]["units"]]  # the head's load cell, per unit
    assert logs and all(log and float(log["max_kpa"]) >= float(log["min_kpa"]) > 0 for log in logs)
    assert all(log["limits_kpa"] == ["40", "180"] for log in logs)  # the ink's [pressure]
    out_pdf = tmp_path / "record.pdf"
    code, _, err = cli.as_user("sup1", "batches", "export", batch_id, "--format", "pdf",
                               "--out", str(out_pdf))  # fmt: skip
    assert code == 0 and out_pdf.read_bytes().startswith(b"%PDF-"), err


def _label(cli: Cli, batch_id: str, tmp_path: Path) -> None:
    label = tmp_path / "label.pdf"
    code, out, err = cli.as_user("tech1", "batches", "label", batch_id, "--format", "pdf",
                                 "--out", str(label), "--directions", "Chew one disc daily",
                                 "--patient", "P-7731")  # fmt: skip
    assert code == 0, err
    assert "NOT FOR PATIENT USE" not in out and "patient P-7731: Cyclophosphamide 15 mg" in out
    text, symbology = decode_label_pdf(label.read_bytes())
    assert symbology == "]d2" and text.startswith("(17)") and text.endswith(f"(91){batch_id}")
    zpl = tmp_path / "label.zpl"
    code, _, err = cli.as_user("tech1", "batches", "label", batch_id, "--format", "zpl",
                               "--out", str(zpl), "--directions", "Chew one disc daily",
                               "--patient", "P-7731", "--width-mm", "102")  # fmt: skip
    assert code == 0 and "^BXN,4,200,,,,_^FD_117" in zpl.read_text(encoding="utf-8"), err

"""``printpharm lots`` and ``printpharm qc cu`` end to end, devices on pseudo-terminals.

Add and release a lot → a recorded patient batch printed from it on the printer and
balance simulators over real serial ports → content-uniformity units chosen and their
assays entered → review and release; the record names the lot, its assay and every
unit's content.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
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
from tests.services.conftest import HARDWARE_IDENTITY

INK = "cyclophosphamide-sse-chewable"
RUN = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--json", "--line-clearance"]


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Cli]) -> Cli:
    c = initialised(make_cli(tmp_path / "records.sqlite3"), PEOPLE)
    _lock_cpm(c)
    c.train_operator("tech1")
    return c


def _today() -> datetime:
    return datetime.now(UTC)


def _gtin_with_check(body: str) -> str:
    """A GTIN-14 with its GS1 mod-10 check digit (so the test builds any valid code)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def test_a_scanned_gs1_code_records_gtin_lot_and_an_earlier_beyond_use_date(cli: Cli) -> None:
    gtin = _gtin_with_check("0950600013435")
    expiry = (_today() + timedelta(days=5)).date()
    scan = f"]d201{gtin}17{expiry:%y%m%d}10SCAN-42\x1d"
    base = ["lots", "add", "--ink", INK, "--prepared", _today().date().isoformat(),
            "--quantity", "12.5", "--unit", "g", "--container", "12.5 g", "--json"]  # fmt: skip
    code, out, err = cli.as_user("tech1", *base, "--scan", scan)
    assert code == 0, err
    lot = json.loads(out)["lot"]
    assert (lot["lot_number"], lot["gtin"], lot["status"]) == ("SCAN-42", gtin, "quarantine")
    assert lot["beyond_use_date"] == expiry.isoformat()  # the label's (17), inside 14 days
    bad = f"(01){gtin[:-1]}{(int(gtin[-1]) + 1) % 10}(10)X-1"
    code, _, err = cli.as_user("tech1", *base, "--scan", bad)
    assert code == 2 and "Invalid GTIN check digit" in err and err.count("\n") == 1
    late = (_today() + timedelta(days=30)).date()
    code, _, err = cli.as_user("tech1", *base, "--scan", f"(01){gtin}(17){late:%y%m%d}(10)X-2")
    assert code == 2 and "never lengthen it" in err
    code, _, err = cli.as_user("insp1", *base, "--lot", "X-3")
    assert code == 2 and "may not lots.add" in err
    code, out, err = cli.as_user("insp1", "lots", "list", "--json")  # inspectors read
    assert code == 0 and [x["lot"]["lot_number"] for x in json.loads(out)["lots"]] == ["SCAN-42"]
    code, out, err = cli.as_user("sup1", "lots", "reject", "SCAN-42", "--reason", "torn label",
                                 times=2)  # fmt: skip
    assert code == 0 and "REJECTED — torn label" in out and "Rejected by Sue Super" in out, err


def test_a_run_refuses_a_quarantined_lot_before_printing(cli: Cli) -> None:
    code, _, err = cli.as_user(
        "tech1", "lots", "add", "--lot", "Q-1", "--ink", INK, "--prepared",
        _today().date().isoformat(), "--quantity", "20", "--unit", "mL", "--container", "syringe",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli.as_user("tech1", *RUN, "--units", "2", "--lot", "Q-1")
    assert code == 2 and "ink_lot: lot Q-1 is quarantine" in err and err.count("\n") == 1
    code, out, _ = cli.as_user("tech1", "batches", "list", "--json")
    assert json.loads(out)["batches"] == []


def _unit_rows(csv_text: str) -> list[dict[str, str]]:
    rows = [r for r in csv.reader(io.StringIO(csv_text)) if r and r[0] == "unit"]
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def test_lot_to_release_end_to_end_over_pseudo_terminals(cli: Cli, tmp_path: Path) -> None:
    from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer

    add_released_lot(cli, "L-E2E")
    code, out, err = cli.as_user("admin", "devices", "register-balance", "1126493049",
                                 "--calibrated", _today().date().isoformat(),
                                 "--model", BALANCE_MODEL)  # fmt: skip
    assert code == 0, err
    plate = Plate()
    ideal = {"process_rsd": "0", "mass_per_mm3": "1.19", "mass_offset_mg": "-0.5"}  # the paste's
    printer = build_printer(
        {"e_units": "plunger_mm", "diameter_mm": "14.5", **ideal, **HARDWARE_IDENTITY}, plate
    )  # M115: a bench printer, not "printpharm simulator" (issue 13)
    balance = build_balance({"check_weight_g": "100.00003"}, plate)
    with PtyServer(printer, speed=1000.0) as p_port, PtyServer(balance, speed=1000.0) as b_port:
        qualify_balance(cli, "sup1", BALANCE_SERIAL)  # registered, qualified, checked today
        check_balance(cli, "tech1", BALANCE_SERIAL, b_port.path)
        register_printer(cli, "sup1")
        argv = [*RUN, "--units", "10", "--printer-port", p_port.path, "--balance-port",
                b_port.path, "--user", "tech1", "--password-stdin", "--verified-by", "sup1",
                "--lot", "L-E2E"]  # fmt: skip
        code, out, err = cli(*argv, stdin=f"{pw('tech1')}\n{pw('sup1')}\n")
    assert code == 0, err  # completed for patient use; 15 mg at 5 % w/w waits for CU
    result = json.loads(out)
    batch_id = result["batch_id"]
    assert result["status"] == "completed" and result["patient_use"] is True
    assert result["qc"]["verdict"] == "pending_content_uniformity"
    for unit in result["units"]:  # content = measured mass × 49.2 mg/g
        assert unit["content_mg"] == pytest.approx(unit["measured_mg"] * 0.0492, abs=1e-4)
    code, out, _ = cli.as_user("tech1", "lots", "show", "L-E2E", "--json")
    lot = json.loads(out)["lot"]
    assert lot["status"] == "in_use" and lot["quantity_remaining"] < 20
    need = result["recipe"]["ink"]["need"]  # the plan's ink_required_ml, dead volume included
    planned = result["plan"]["ink_required_ml"]
    assert {k: need[k] for k in planned} == planned  # one computation of the ink needed
    masses = sum(Decimal(str(u["measured_mg"])) for u in result["units"])
    # taken from the lot: the weighed units and the purge (the dead volume stays in the syringe)
    used = (masses / Decimal("1.20") / 1000 + Decimal(str(need["purge"]))).quantize(
        Decimal("0.001"), rounding=ROUND_CEILING
    )
    assert Decimal(str(lot["quantity_remaining"])) == 20 - used and 0 < need["purge"]
    assert need["dead_volume"] == 0.5 and need["total"] > need["purge"] + need["dead_volume"]

    code, _, err = cli.as_user("sup2", "batches", "review", batch_id, "--comment", "ok", times=2)
    assert code == 0, err
    code, _, err = cli.as_user("sup1", "batches", "release", batch_id, times=2)
    assert code == 2 and "needs content uniformity before release" in err
    code, out, err = cli.as_user("tech1", "qc", "cu", batch_id, "--select", "--json")
    assert code == 0, err
    chosen: list[int] = json.loads(out)["selected"]["units"]
    assert len(chosen) == 10 and json.loads(out)["selected"]["seed"]
    other = tmp_path / "other.csv"
    other.write_text("unit,content_pct\n11,100.0\n")
    code, _, err = cli.as_user("tech1", "qc", "cu", batch_id, "--file", str(other),
                               "--method", "HPLC")  # fmt: skip
    assert code == 2 and "were not chosen for assay" in err
    good = tmp_path / "cu.csv"
    good.write_text("unit,content_pct\n" + "".join(f"{n},{98.5 + n / 10}\n" for n in chosen))
    code, out, err = cli.as_user("tech1", "qc", "cu", batch_id, "--file", str(good),
                                 "--method", "HPLC-UV, SOP QC-12", "--analyst", "Ann")  # fmt: skip
    assert code == 0 and "content uniformity PASS: AV(10)" in out, err
    code, _, err = cli.as_user("sup2", "batches", "review", batch_id, "--comment", "+CU", times=2)
    assert code == 0, err
    code, out, err = cli.as_user("sup1", "batches", "release", batch_id, times=2)
    assert code == 0 and "is released" in out, err

    record = _export(cli, batch_id, tmp_path, "json")
    derived = json.loads(record)["derived"]
    assert (
        derived["ink_lot"]["lot"] == "L-E2E"
        and derived["ink_lot"]["status_at_printing"] == "released"
    )
    assert derived["ink_lot"]["assay"]["value"] == "49.2"
    assert derived["content_uniformity"]["state"] == "PASS" and derived["qc"]["verdict"] == "pass"
    assert derived["calibration"]["source"] == "ink_file"  # no calibration locked on site
    assert derived["calibration"]["label"] == f"ink file, not fitted on site ({INK})"
    assert derived["calibration_check"] is None  # the file's line cannot tell drift
    assert len(derived["unit_contents_mg"]) == 10
    text = _export(cli, batch_id, tmp_path, "csv")
    fields = {r[1]: r[2] for r in csv.reader(io.StringIO(text)) if r and r[0] == "batch"}
    assert fields["ink_lot_assay"] == "49.2 ± 0.8 mg/g (assayed; HPLC-UV, SOP QC-12)"
    assert fields["ink_lot"] == "L-E2E" and fields["ink_lot_status_at_printing"] == "released"
    units = _unit_rows(text)
    assert [u["content_mg"] != "" for u in units] == [True] * 10
    assert text.count("\ncu_result,") == 10 and ",tech1," in text
    assert _export(cli, batch_id, tmp_path, "pdf").startswith("%PDF-")


def _export(cli: Cli, batch_id: str, tmp_path: Path, fmt: str) -> Any:
    path = tmp_path / f"record.{fmt}"
    code, _, err = cli.as_user("sup1", "batches", "export", batch_id, "--format", fmt,
                               "--out", str(path))  # fmt: skip
    assert code == 0, err
    return path.read_bytes().decode("latin-1") if fmt == "pdf" else path.read_text()

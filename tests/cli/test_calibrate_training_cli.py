"""A calibration fitted on simulators is for training only and never sizes a patient batch.

The rule (issue 12 §2): a series printed or weighed on a simulator — the built-in
ones, or a device whose identity says so, the notion the run gates use — gives a
*training-only* calibration. It may be validated and locked (to train the
workflow); its record, list line and signatures say TRAINING ONLY; its lock never
retires a calibration fitted on real equipment, which is in force before it; and a
recorded batch sized with it is refused on a real printer (audited) and is never for
patient use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.cli.conftest import (
    BALANCE_MODEL,
    BALANCE_SERIAL,
    Cli,
    check_balance,
    pw,
    qualify_balance,
    register_printer,
)
from tests.cli.test_calibrate_cli import (
    IDEAL,
    INK,
    PLAN,
    SERIES,
    _clean_after_cytotoxic_series,
    _ports,
    _sign,
    cli,
)
from tests.cli.test_run_records_cli import add_released_lot

__all__ = ["cli"]


def _series(cli: Cli, tmp_path: Path, *extra: str) -> str:
    code, out, err = cli.as_user("sup1", *SERIES, "--lot", "L-CAL", "--plot",
                                 str(tmp_path / "fit.svg"), *extra)  # fmt: skip
    assert code == 0, err
    return out


def _show(cli: Cli, version: int) -> dict[str, Any]:
    code, out, err = cli.as_user("insp1", "calibrate", "show", str(version), "--json")
    assert code == 0, err
    return dict(json.loads(out))


def _events(cli: Cli, action: str) -> list[dict[str, Any]]:
    code, out, _ = cli("audit", "show", "--json")
    return [e for e in json.loads(out)["events"] if e["action"] == action]


def _plan_version(cli: Cli, tmp_path: Path) -> int:
    code, out, err = cli(*PLAN, "--dose-mg", "15", "--lot", "L-CAL", "--json", "--out",
                         str(tmp_path / "p.gcode"))  # fmt: skip
    assert code == 0, err
    return int(json.loads(out)["calibration"]["version"])


def _bench(cli: Cli, ports: list[str]) -> None:
    """The bench printer and balance registered, qualified and the balance checked today."""
    code, _, err = cli.as_user("admin", "devices", "register-balance", BALANCE_SERIAL,
                               "--calibrated", datetime.now(UTC).date().isoformat(),
                               "--model", BALANCE_MODEL)  # fmt: skip
    assert code == 0, err
    qualify_balance(cli, "sup1", BALANCE_SERIAL)
    check_balance(cli, "tech1", BALANCE_SERIAL, ports[3])
    register_printer(cli, "sup1")


def test_a_simulator_calibration_is_locked_as_training_only_and_never_prints_for_a_patient(
    cli: Cli, tmp_path: Path
) -> None:
    add_released_lot(cli, "L-CAL")
    out = _series(cli, tmp_path, *IDEAL)  # the built-in simulators
    assert "TRAINING ONLY" in out
    _sign(cli, 1)
    shown = _show(cli, 1)
    assert shown["training_only"] is True and shown["status"] == "locked"
    (lock,) = [e for e in _events(cli, "lock") if e["record_type"] == "calibration"]
    assert json.loads(lock["new_value"])["training_only"] is True
    code, out, _ = cli.as_user("insp1", "calibrate", "list")
    assert out.rstrip().endswith("TRAINING ONLY")
    run = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--units", "2", "--json",
           "--line-clearance", "--user", "tech1", "--password-stdin", "--verified-by", "sup1",
           "--lot", "L-CAL"]  # fmt: skip
    with _ports() as ports:  # the bench printer and balance: real, registered, qualified
        _bench(cli, ports)
        code, _, err = cli(*run, *ports, stdin=f"{pw('tech1')}\n{pw('sup1')}\n")
    assert code == 2 and "calibration_not_training: the plan was sized with calibration v1" in err
    (refused,) = [e for e in _events(cli, "print-refused") if "calibration_not_training" in
                  (e["reason"] or "")]  # fmt: skip
    assert refused["user_id"] == "tech1"
    (authorised,) = _events(cli, "authorise")
    decision = json.loads(authorised["new_value"])
    assert decision["patient_use"] is False
    assert any("fitted on simulators (training only)" in p for p in decision["problems"])


def test_a_training_lock_never_retires_the_calibration_fitted_on_real_equipment(
    cli: Cli, tmp_path: Path
) -> None:
    add_released_lot(cli, "L-CAL")
    with _ports() as ports:
        _bench(cli, ports)
        out = _series(cli, tmp_path, *ports)  # on the bench devices: a site calibration
    assert "TRAINING ONLY" not in out and _show(cli, 1)["training_only"] is False
    _sign(cli, 1)
    _series(cli, tmp_path, *IDEAL)  # v2 on the built-in simulators, same binding
    _sign(cli, 2)
    assert (_show(cli, 1)["status"], _show(cli, 2)["status"]) == ("locked", "locked")
    assert _plan_version(cli, tmp_path) == 1  # the real one is in force, not the newer one
    _clean_after_cytotoxic_series(cli)  # v1 printed cyclophosphamide discs on PR-01
    with _ports() as ports:
        _series(cli, tmp_path, *ports)  # v3 on the bench: supersedes both
    _sign(cli, 3)
    assert [_show(cli, v)["status"] for v in (1, 2, 3)] == ["retired", "retired", "locked"]


@contextmanager
def _simulators_on_ports() -> Iterator[list[str]]:
    """The simulators behind pseudo-terminals, each saying what it is (M115, MT-SICS I2)."""
    from printpharm.catalog import load_catalog
    from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer
    from printpharm.services.run.devices import ink_physics

    plate = Plate()
    physics = {"e_units": "plunger_mm", "diameter_mm": "14.5", "process_rsd": "0",
               **ink_physics(load_catalog().ink(INK))}  # fmt: skip
    printer = build_printer(physics, plate)
    balance = build_balance({"model": "printpharm simulated balance"}, plate)
    with PtyServer(printer, speed=1000.0) as p_port, PtyServer(balance, speed=1000.0) as b_port:
        yield ["--printer-port", p_port.path, "--balance-port", b_port.path]


def test_simulators_on_serial_ports_are_recognised_by_what_they_say_they_are(
    cli: Cli, tmp_path: Path
) -> None:
    add_released_lot(cli, "L-CAL")
    with _simulators_on_ports() as ports:
        out = _series(cli, tmp_path, *ports)
    assert "TRAINING ONLY" in out
    shown = _show(cli, 1)
    assert shown["context"]["simulated"] is True and shown["training_only"] is True
    assert shown["context"]["printer"]["port"].startswith("/dev/")

"""OPS-02: a recorded run weighs only on a registered balance with a valid calibration.

The balance here is the MT-SICS simulator served on a real pseudo-terminal (a
port like ``/dev/pts/7``, so it counts as a real balance), linked through a
shared plate to the Marlin simulator on another pseudo-terminal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer
from printpharm.errors import InputError, PermissionDenied, PreflightError
from printpharm.services.control.device_registry import (
    SIMULATED_CHECK,
    VALIDITY_SETTING,
    balance_policy,
    register_balance,
    registered_balances,
)
from printpharm.services.control.equipment import qualify
from printpharm.services.control.print_authority import begin_recorded_run
from printpharm.services.control.site_settings import change_setting
from printpharm.services.records.export import patient_use
from printpharm.services.run.devices import connected_devices, ink_physics
from printpharm.services.run.loop import run_batch
from tests.services._equipment_fixtures import CLEARED, check_balance, train_operator
from tests.services._records_fixtures import (
    ADMIN_PW,
    Env,
    clock,
    db,
    db_spec,
    env,
    sqlite_template,
)
from tests.services.conftest import FAST_LINK, make_request, options

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

SERIAL = "1126493049"  # what the balance simulator reports to I4


@pytest.fixture
def pty_pair(catalog: Catalog) -> Iterator[tuple[str, str, Plate]]:
    """Linked printer and balance simulators on two pseudo-terminals."""
    plate = Plate()
    ink = catalog.ink(catalog.recipe("cpm-chewable-disc").ink)
    physics = {"e_units": "mm3", "process_rsd": "0", **ink_physics(ink)}
    printer = PtyServer(build_printer(physics, plate), speed=1000.0).start()
    balance = PtyServer(build_balance({"check_weight_g": "100.00003"}, plate), speed=1000.0).start()
    yield printer.path, balance.path, plate
    printer.stop()
    balance.stop()


def _run(env: Env, tech: Any, catalog: Catalog, ports: tuple[str, str], batch: str) -> Any:
    request = dataclasses.replace(make_request(catalog, units=2), batch_id=batch)
    recorded = begin_recorded_run(env.auth, tech, request, clearance=CLEARED)
    run_options = options(lock_policy=recorded.lock_policy, balance_policy=recorded.balance_policy)
    with connected_devices(*ports, link_options=FAST_LINK, balance_timeout_s=5.0) as devices:
        return run_batch(request, devices, recorder=recorded.recorder, options=run_options)


def test_an_unregistered_or_overdue_balance_stops_the_run_before_printing(
    env: Env, catalog: Catalog, pty_pair: tuple[str, str, Plate]
) -> None:
    printer_port, balance_port, plate = pty_pair
    _, tech = env.make_user("tech1", "technician", "Tess Tech")
    train_operator(env, "tech1")
    with pytest.raises(PreflightError, match=f"#{SERIAL} on {balance_port} is not registered"):
        _run(env, tech, catalog, (printer_port, balance_port), "B-unregistered")
    assert plate.deposited_mm3 == 0.0  # nothing printed
    with env.auth.uow(write=False) as uow:
        assert uow.batches.ids() == []  # and nothing half-recorded

    register_balance(env.auth, env.admin, SERIAL, date(2025, 3, 1), "XS205 DualRange")
    with pytest.raises(PreflightError, match="EXPIRED on 2026-03-01"):  # 365 days later
        _run(env, tech, catalog, (printer_port, balance_port), "B-overdue")
    assert plate.deposited_mm3 == 0.0

    register_balance(env.auth, env.admin, SERIAL, date(2026, 3, 20))  # recalibrated
    with pytest.raises(
        PreflightError, match="balance_qualified: balance 1126493049 .*not qualified"
    ):
        _run(env, tech, catalog, (printer_port, balance_port), "B-unqualified")
    pw_sup, sup = env.make_user("sup1", "supervisor", "Sue Super")
    env.enrol("sup1", pw_sup, sup)
    for stage in ("IQ", "OQ"):  # the balance registered above is qualified as registered
        qualify(env.auth, env.records, sup, SERIAL, stage, date(2026, 3, 20), "QP-1", pw_sup)
    check_balance(env, tech, balance_port)
    result = _run(env, tech, catalog, (printer_port, balance_port), "B-ok")
    assert result.status == "completed" and len(result.units) == 2
    (check,) = [c for c in result.preflight if c["name"] == "balance_registered"]
    assert check["passed"] and "calibrated 2026-03-20, valid until 2027-03-20" in check["detail"]
    actions = [e.action for e in env.events(record_type="device")]
    assert actions == ["register", "calibrate"]
    assert [c["name"] for c in result.preflight if c["name"].startswith("balance")] == [
        "balance_registered", "balance_identity", "balance_qualified", "balance_check",
    ]  # fmt: skip


def test_registering_needs_an_administrator_and_a_past_date(env: Env) -> None:
    _, tech = env.make_user("tech1", "technician", "Tess Tech")
    with pytest.raises(PermissionDenied, match="settings.configure"):
        register_balance(env.auth, tech, SERIAL, date(2026, 3, 1))
    with pytest.raises(InputError, match="in the future"):
        register_balance(env.auth, env.admin, SERIAL, date(2026, 3, 30))
    register_balance(env.auth, env.admin, SERIAL, date(2026, 3, 1), "XS205")
    (row,) = registered_balances(env.auth, tech)
    assert (row.serial_number, row.model, row.calibration_date) == (
        SERIAL,
        "XS205",
        date(2026, 3, 1),
    )


def test_the_simulated_balance_is_for_training_only(env: Env) -> None:
    (check,) = balance_policy(env.auth, date(2026, 3, 29))(
        {"model": "XS205", "serial_number": SERIAL}, "sim://balance?plate=x"
    )
    assert check.name == SIMULATED_CHECK and check.passed and "training" in check.detail

    class Row:  # the fields patient_use reads of a batch row
        details = {"preflight": [dataclasses.asdict(check)]}
        research_mode = False

    use, why = patient_use(Row(), [])  # type: ignore[arg-type]
    assert not use and "simulated balance" in why


def test_the_calibration_validity_is_a_site_setting(env: Env) -> None:
    register_balance(env.auth, env.admin, SERIAL, date(2026, 3, 20))  # type: ignore[arg-type]
    identity, port = {"model": "XS205", "serial_number": SERIAL}, "/dev/ttyUSB0"
    assert balance_policy(env.auth, date(2026, 3, 29))(identity, port)[0].passed  # 365 days
    change_setting(env.auth, env.admin, VALIDITY_SETTING, "5", "SOP CAL-2: weekly", ADMIN_PW)
    (check,) = balance_policy(env.auth, date(2026, 3, 29))(identity, port)
    assert not check.passed and "EXPIRED on 2026-03-25 (valid 5 days)" in check.detail

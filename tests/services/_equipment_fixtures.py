"""What a recorded run needs on equipment, people and the room, done the way a site does it.

:func:`train` records training (the administrator records it; TRN-01),
:func:`train_operator` trains an operator on a recipe and printer type,
:func:`register_and_qualify` registers a printer and a balance and has a
pharmacist approve their qualification stages by e-signature,
:func:`check_balance` runs the guided routine balance check over the balance's
MT-SICS link (a simulator on a pseudo-terminal whose hand places the check
weight), and :data:`CLEARED` is a line clearance with every item confirmed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.devices.balance import Balance
from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer
from printpharm.devices.transport import open_transport
from printpharm.services.access.auth import UserSession
from printpharm.services.access.training import record_training
from printpharm.services.control.balance_check import (
    BalanceCheckOutcome,
    register_check_weight,
    run_balance_check,
)
from printpharm.services.control.equipment import (
    add_equipment,
    qualify,
    record_maintenance,
)
from printpharm.services.control.line_clearance import LineClearance
from printpharm.services.run.devices import ink_physics
from printpharm.storage.equipment import CheckWeightRecord
from tests.services._records_fixtures import Env

__all__ = [
    "BALANCE_SERIAL",
    "CLEARED",
    "PRINTER_UUID",
    "SimPair",
    "check_balance",
    "register_and_qualify",
    "sim_pair",
    "train",
    "train_operator",
]

#: What the simulators report: balance I4 serial, printer M115 UUID, MACHINE_TYPE, firmware.
BALANCE_SERIAL = "1126493049"
BALANCE_MODEL = "XS205 DualRange"
PRINTER_UUID = "00000000-0000-4000-8000-000000000000"
PRINTER_MODEL = "printpharm SSE simulator"
PRINTER_FIRMWARE = "Marlin 2.1.2.1 (printpharm simulator)"
#: Every line-clearance item confirmed by the operator.
CLEARED = LineClearance.all_confirmed()
#: The certified check weight the tests register (100 g class E2).
WEIGHT = CheckWeightRecord(
    "W-100", Decimal("100"), Decimal("100.00003"), Decimal("0.05"), "E2", "CAL-2026-0142",
    date(2028, 3, 1), "", None,  # type: ignore[arg-type]
)  # fmt: skip


def train(env: Env, user_id: str, *subjects: tuple[str, str], on: date = date(2026, 1, 5)) -> None:
    """The administrator records ``user_id``'s training on each (kind, subject)."""
    assert env.admin is not None
    for kind, subject in subjects:
        record_training(env.auth, env.admin, user_id, kind, subject, on, "Tara Trainer")


def train_operator(
    env: Env, user_id: str, recipe: str = "cpm-chewable-disc", printer: str = "marlin-sse"
) -> None:
    """Train ``user_id`` on a recipe and a printer type."""
    train(env, user_id, ("recipe", recipe), ("printer", printer))


@dataclass
class SimPair:
    """Linked printer and balance simulators on two pseudo-terminals."""

    printer_port: str
    balance_port: str
    plate: Plate
    balance: Any

    @property
    def ports(self) -> tuple[str, str]:
        return self.printer_port, self.balance_port


@pytest.fixture
def sim_pair(catalog: Catalog) -> Iterator[Any]:
    """Factory: ``sim_pair(**balance_options)`` → printer and balance on pseudo-terminals.

    The balance's hand holds the 100.00003 g check weight (its true mass) unless
    ``check_weight_g`` says otherwise.
    """
    servers: list[PtyServer] = []

    def start(**balance_options: str) -> SimPair:
        plate = Plate()
        ink = catalog.ink(catalog.recipe("cpm-chewable-disc").ink)
        balance = build_balance({"check_weight_g": "100.00003", **balance_options}, plate)
        physics = {"e_units": "mm3", "process_rsd": "0", **ink_physics(ink)}
        printer = PtyServer(build_printer(physics, plate), speed=1000.0).start()
        scale = PtyServer(balance, speed=1000.0).start()
        servers.extend([printer, scale])
        return SimPair(printer.path, scale.path, plate, balance)

    yield start
    for server in servers:
        server.stop()


def register_and_qualify(
    env: Env, pharmacist: tuple[str, UserSession], *, printer_tag: str = "PR-01",
    balance_tag: str = "BAL-01", calibrated: date = date(2026, 3, 1),
) -> None:  # fmt: skip
    """Register the simulators as printer and balance, calibrate and qualify them."""
    assert env.admin is not None
    password, session = pharmacist
    add_equipment(env.auth, env.admin, "printer", printer_tag, PRINTER_UUID, PRINTER_MODEL,
                  firmware=PRINTER_FIRMWARE, location="Cleanroom 2",
                  printer_type="marlin-sse")  # fmt: skip
    add_equipment(env.auth, env.admin, "balance", balance_tag, BALANCE_SERIAL, BALANCE_MODEL,
                  location="Cleanroom 2")  # fmt: skip
    for tag, stages in ((printer_tag, ("IQ", "OQ", "PQ")), (balance_tag, ("IQ", "OQ"))):
        record_maintenance(env.auth, env.admin, tag, "calibration", calibrated, "CAL-CERT-7")
        for stage in stages:
            qualify(env.auth, env.records, session, tag, stage, calibrated, f"QP-{stage}-01",
                    password)  # fmt: skip


def check_balance(
    env: Env, operator: UserSession, balance_port: str, weight: CheckWeightRecord = WEIGHT
) -> BalanceCheckOutcome:
    """Register the check weight (if new) and run the guided check over MT-SICS."""
    assert env.admin is not None
    register_check_weight(env.auth, env.admin, weight)
    balance = Balance(open_transport(balance_port), command_timeout_s=5.0)
    try:
        return run_balance_check(env.auth, operator, balance, balance_port, weight.weight_id,
                                 prompt=lambda _text: None, wait_s=20.0)  # fmt: skip
    finally:
        balance.transport.close()

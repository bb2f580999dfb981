"""A batch whose balance link fails: silent, unplugged, or a garbled weight reply.

Over REAL pseudo-terminals (pyserial opens both simulators like USB ports), and on the
in-process simulators for line noise over many seeded replies.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.devices.balance import Balance
from printpharm.devices.printer import LinkOptions
from printpharm.devices.sim import (
    FAST_PTY_SPEED,
    BalanceSim,
    Plate,
    PrinterSim,
    PtyServer,
    build_balance,
    build_printer,
)
from printpharm.services.jobs import EventHub
from printpharm.services.run.devices import connected_devices, ink_physics
from printpharm.services.run.events import UnitStarted
from printpharm.services.run.loop import run_batch
from printpharm.services.run.recording import MemoryRecorder
from printpharm.services.run.result import AlarmKind, BatchResult
from tests.services.conftest import make_request, options

PTY_LINK = LinkOptions(ok_timeout_s=3.0, max_probes=1, resend_quiet_s=0.02)
SAFE = ["M104 S0", "M140 S0", "M107", "M84"]


@pytest.fixture
def pty_sims(catalog: Catalog) -> Iterator[Any]:
    """Factory: ``pty_sims(**balance_options)`` → (printer sim, balance sim, servers), linked."""
    servers: list[PtyServer] = []
    ink = catalog.ink(catalog.recipe("cpm-chewable-disc").ink)

    def start(**balance_options: Any) -> tuple[PrinterSim, BalanceSim, PtyServer, PtyServer]:
        plate = Plate()
        opts = {"e_units": "mm3", "process_rsd": "0", **ink_physics(ink)}
        printer_sim = build_printer(opts, plate)
        balance_sim = build_balance({k: str(v) for k, v in balance_options.items()}, plate)
        printer = PtyServer(printer_sim, speed=FAST_PTY_SPEED).start()
        balance = PtyServer(balance_sim, speed=FAST_PTY_SPEED).start()
        servers.extend([printer, balance])
        return printer_sim, balance_sim, printer, balance

    yield start
    for server in servers:
        server.stop()


def run_over_ptys(
    catalog: Catalog, pty_sims: Any, units: int, fault_at_unit_2: str | None = None, **opts: Any
) -> tuple[BatchResult, MemoryRecorder, PrinterSim, BalanceSim]:
    """Run ``units`` units over ptys; ``fault_at_unit_2`` (a BalanceFaults field) is set to
    the commands answered so far when unit 2 starts printing (its tare is done)."""
    printer_sim, balance_sim, printer, balance = pty_sims(**opts)
    request = make_request(catalog, units=units)
    recorder = MemoryRecorder()
    hub = EventHub()

    def fault(event: object) -> None:
        if fault_at_unit_2 and isinstance(event, UnitStarted) and event.n == 2:
            with balance_sim.lock:
                setattr(balance_sim.config.faults, fault_at_unit_2, balance_sim.answered)

    hub.subscribe(fault)
    with connected_devices(printer.path, balance.path, link_options=PTY_LINK) as devices:
        assert isinstance(devices.balance, Balance)
        devices.balance.stable_timeout_s = 3.0  # a silent balance is lost after 3 s, not 30
        result = run_batch(
            request, devices, hub=hub, recorder=recorder, options=options(connect_timeout_s=20.0)
        )
    return result, recorder, printer_sim, balance_sim


@pytest.mark.parametrize(
    ("fault", "lost"),
    [
        ("balance_silent_after_commands", "no answer to 'S' within 3.0 s"),
        ("balance_drop_after_commands", ""),
    ],
)
def test_a_balance_lost_mid_batch_interrupts_with_the_printer_safe_and_the_units_kept(
    catalog: Catalog, pty_sims: Any, fault: str, lost: str
) -> None:
    result, recorder, printer_sim, _ = run_over_ptys(catalog, pty_sims, 4, fault)
    assert result.status == "interrupted"
    assert [u.n for u in result.units] == [1]  # unit 2 was printed, never weighed
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.CONNECTION_LOST and alarm.unit == 2
    assert alarm.message.startswith("balance: ") and lost in alarm.message
    assert result.reason == alarm.message
    assert printer_sim.executed[-4:] == SAFE  # the printer, still there and hot, made safe
    assert printer_sim.plate.unit == 2
    kinds = recorder.kinds()
    assert kinds[0] == "batch_started" and kinds[-2:] == ["alarm", "interrupted"]
    assert kinds.count("unit_weighed") == 1  # unit 1 is on record, not lost


@pytest.mark.parametrize("nth", [2, 3, 4])
def test_a_garbled_stable_weight_is_never_recorded_as_a_unit_s_mass(
    catalog: Catalog, pty_sims: Any, nth: int
) -> None:
    # the nth stable weight reply has one digit changed: with S + SI per unit, nth=3 is
    # unit 2's S reading, 2 and 4 the SI confirmations of units 1 and 2
    result, _, _, balance_sim = run_over_ptys(
        catalog, pty_sims, 3, seed=5, balance_garble_weight_reply=nth
    )
    assert result.status == "completed", result.reason
    masses = [u.measured_mg for u in result.units]
    centre = statistics.median(masses)
    assert all(abs(m - centre) <= Decimal("0.13") for m in masses), masses  # ideal process
    assert all(u.verdict == "pass" for u in result.units)
    (warning,) = result.alarms
    unit = (nth + 1) // 2
    assert warning.kind is AlarmKind.BALANCE_ERROR and warning.action == "warn"
    assert warning.unit == unit and warning.message.startswith(f"unit {unit}: set aside 'S S ")
    assert "a garbled reply line?" in warning.message and "the run goes on" in warning.message
    assert balance_sim.weight_replies == 3 * 2 + 1  # one more SI for the unit it hit


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_line_noise_on_a_tenth_of_the_replies_never_reaches_a_unit_s_mass(
    catalog: Catalog, sim_devices: Any, seed: int
) -> None:
    request = make_request(catalog, units=8)
    devices = sim_devices(request, seed=seed, balance_sd_mg=0)
    balance_sim: BalanceSim = devices.balance.transport.inner.sim
    balance_sim.config.faults.balance_corrupt_tx_rate = 0.1  # identified: from now on
    result = run_batch(request, devices, options=options())
    assert result.status == "completed", result.reason
    masses = {u.measured_mg for u in result.units}
    assert len(masses) == 1, masses  # a noise-free balance on an ideal process
    assert len(result.units) == 8
    assert balance_sim.garbled > 0
    # what was set aside is on record as warnings (none when only tare replies were hit)
    assert all(a.kind is AlarmKind.BALANCE_ERROR and a.action == "warn" for a in result.alarms)

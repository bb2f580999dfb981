"""Every batch starts from a known printer state, on one printer that stays on (over ptys).

Old code: on the same printer, three identical batches back to back gave unit 1 at
+1.0 %, −6.7 % (recorded at flow 100 % while the firmware still had the previous
M221) and −7.6 %: the flow factor was never reset and the last unit's suck-back was
never re-primed, and the simulator ignored the ink's calibration (+1 %).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.devices.sim import FAST_PTY_SPEED, Plate, PtyServer, build_balance, build_printer
from printpharm.devices.transport import open_transport
from printpharm.services.run.devices import connected_devices, ink_physics
from printpharm.services.run.loop import run_batch
from printpharm.services.run.prepare import prepare_run
from printpharm.services.run.request import RunRequest
from printpharm.services.run.result import BatchResult
from tests.services.conftest import options

PTY_LINK = LinkOptions(ok_timeout_s=3.0, max_probes=1, resend_quiet_s=0.02)


@pytest.fixture(scope="module")
def plan(catalog: Catalog) -> RunRequest:
    """A real planned plate: 3 × 15 mg cyclophosphamide (suck-back between beads and units)."""
    return prepare_run(catalog, "cpm-chewable-disc", Decimal(15), 3).request


@pytest.fixture
def printer(plan: RunRequest) -> Iterator[tuple[PtyServer, PtyServer]]:
    """ONE printer simulator and its plate balance, kept on across the batches of a test."""
    plate = Plate()
    syringe = plan.ink.syringe
    assert syringe is not None
    physics = {
        "e_units": plan.printer_definition.e_axis,
        "diameter_mm": str(syringe.inner_diameter.value),
        **ink_physics(plan.ink),
        "process_rsd": "0",  # an ideal process: what is left is the printer's state
    }
    printer_server = PtyServer(build_printer(physics, plate), FAST_PTY_SPEED).start()
    balance_server = PtyServer(build_balance({}, plate), FAST_PTY_SPEED).start()
    yield printer_server, balance_server
    printer_server.stop()
    balance_server.stop()


def run(plan: RunRequest, ports: tuple[PtyServer, PtyServer]) -> BatchResult:
    with connected_devices(ports[0].path, ports[1].path, link_options=PTY_LINK) as devices:
        return run_batch(plan, devices, options=options(connect_timeout_s=20.0))


def test_three_identical_batches_on_one_printer_start_alike(
    plan: RunRequest, printer: tuple[PtyServer, PtyServer]
) -> None:
    results = [run(plan, printer) for _ in range(3)]
    sim = printer[0].sim
    for result in results:
        assert result.status == "completed", result.reason
        first, *others = result.units
        assert first.deviation_pct is not None
        assert abs(first.deviation_pct) < Decimal("0.1"), first  # the calibration's mass
        for unit in others:  # the first unit is printed from the same state as the others
            assert unit.deviation_pct is not None
            assert abs(unit.deviation_pct - first.deviation_pct) < Decimal("0.1")
        assert {u.flow_pct for u in result.units} == {Decimal(100)}
        assert result.printer["start_state"] == {"flow_pct": Decimal(100), "command": "M221 S100"}
    with sim.lock:
        assert sim.motion.flow_percent == 100.0
        assert sim.executed.count("M221 S100") == 6  # the run's own and the start code's


def test_a_batch_after_a_stranger_left_the_flow_changed_and_the_nozzle_sucked_back(
    plan: RunRequest, printer: tuple[PtyServer, PtyServer]
) -> None:
    # another host's job ends with M221 S93 and a 0.2 mm plunger suck-back (33 mm³)
    link = PrinterLink(open_transport(printer[0].path), PTY_LINK)
    link.connect(timeout_s=20.0)
    link.stream(["M221 S93", "M83", "G1 E-0.2 F300"])
    link.wait_for_moves()
    link.close()
    result = run(plan, printer)
    assert result.status == "completed", result.reason
    for unit in result.units:
        assert unit.deviation_pct is not None and abs(unit.deviation_pct) < Decimal("0.1"), unit
        assert unit.flow_pct == Decimal(100) and unit.material_pct == Decimal("100.00")
    sim: Any = printer[0].sim
    with sim.lock:
        start = sim.executed.index("M221 S93")
        assert "M221 S100" in sim.executed[start:]  # set before anything was printed
        assert sim.motion.flow_percent == 100.0

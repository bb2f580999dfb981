"""The run over REAL pseudo-terminals: pyserial opens the pty like a USB port (no mocks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.devices.printer import LinkOptions
from printpharm.devices.sim import FAST_PTY_SPEED, Plate, PtyServer, build_balance, build_printer
from printpharm.services.run.devices import connected_devices, ink_physics
from printpharm.services.run.loop import run_batch
from printpharm.services.run.recording import MemoryRecorder
from printpharm.services.run.result import AlarmKind
from tests.services.conftest import make_request, options

# generous: a loaded 2-core machine can delay the simulator thread by far more than its ms
PTY_LINK = LinkOptions(ok_timeout_s=3.0, max_probes=1, resend_quiet_s=0.02)


@pytest.fixture
def pty_pair(catalog: Catalog) -> Iterator[Any]:
    """Factory: ``pty_pair(**printer_options)`` → (printer server, balance server), linked.

    The printer deposits what the cyclophosphamide paste's calibration predicts, on an
    ideal process (these tests check the protocol, not statistics).
    """
    servers: list[PtyServer] = []
    ink = catalog.ink(catalog.recipe("cpm-chewable-disc").ink)

    def start(**printer_options: Any) -> tuple[PtyServer, PtyServer]:
        plate = Plate()
        opts = {"e_units": "mm3", "process_rsd": "0", **ink_physics(ink)}
        opts.update({k: str(v) for k, v in printer_options.items()})
        printer = PtyServer(build_printer(opts, plate), speed=FAST_PTY_SPEED).start()
        balance = PtyServer(build_balance({}, plate), speed=FAST_PTY_SPEED)
        servers.extend([printer, balance.start()])
        return printer, balance

    yield start
    for server in servers:
        server.stop()


def test_three_units_over_ptys_complete_and_pass(catalog: Catalog, pty_pair: Any) -> None:
    printer, balance = pty_pair()
    request = make_request(catalog, units=3)
    with connected_devices(printer.path, balance.path, link_options=PTY_LINK) as devices:
        result = run_batch(request, devices, options=options(connect_timeout_s=20.0))
    assert result.status == "completed", result.reason
    assert result.qc.verdict == "pending_content_uniformity"  # 3 units: nothing decides
    assert [u.verdict for u in result.units] == ["pass"] * 3
    assert result.printer["port"] == printer.path
    assert result.balance["serial_number"] == "1126493049"


def test_a_dropped_pty_interrupts_the_run_with_the_units_so_far(
    catalog: Catalog, pty_pair: Any
) -> None:
    printer, balance = pty_pair(drop_after=45)  # in unit 3 (see test_run.py)
    request = make_request(catalog, units=5)
    recorder = MemoryRecorder()
    with connected_devices(printer.path, balance.path, link_options=PTY_LINK) as devices:
        result = run_batch(
            request, devices, recorder=recorder, options=options(connect_timeout_s=20.0)
        )
    assert result.status == "interrupted"
    assert [u.n for u in result.units] == [1, 2]
    assert result.alarms[-1].kind is AlarmKind.CONNECTION_LOST
    assert recorder.kinds()[-1] == "interrupted"

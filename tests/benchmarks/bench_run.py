"""Print-run timings: plan + run on in-process simulators and over real ptys (printed only).

Run: ``python tests/benchmarks/bench_run.py``.
"""

from __future__ import annotations

import time
from decimal import Decimal

from printpharm.catalog import load_catalog
from printpharm.devices.sim import FAST_PTY_SPEED, Plate, PtyServer, build_balance, build_printer
from printpharm.services.run.devices import connected_devices, ink_physics, simulator_urls
from printpharm.services.run.loop import run_batch
from printpharm.services.run.prepare import prepare_run
from printpharm.services.run.request import RunRequest


def _request(units: int) -> RunRequest:
    return prepare_run(load_catalog(), "cpm-chewable-disc", Decimal(10), units).request


def _lines(request: RunRequest) -> int:
    return sum(len(u.lines) for u in request.program.units)


def bench_in_process(units: int) -> None:
    request = _request(units)
    printer_url, balance_url = simulator_urls(request.printer_definition, request.ink)
    start = time.perf_counter()
    with connected_devices(printer_url, balance_url) as devices:
        result = run_batch(request, devices)
    elapsed = time.perf_counter() - start
    print(
        f"sim:// virtual clock, {units:>2} units: {elapsed:6.3f} s wall, "
        f"{_lines(request) / elapsed:8.0f} unit lines/s, {result.status}, QC {result.qc.verdict}"
    )


def bench_pty(units: int) -> None:
    request = _request(units)
    plate = Plate()
    ink, printer_def = request.ink, request.printer_definition
    assert ink.syringe is not None
    printer_opts = {
        "e_units": printer_def.e_axis,
        "diameter_mm": str(ink.syringe.inner_diameter.value),
        **ink_physics(ink),
    }
    with (
        PtyServer(build_printer(printer_opts, plate), speed=FAST_PTY_SPEED) as printer,
        PtyServer(build_balance({}, plate), FAST_PTY_SPEED) as b,
    ):
        start = time.perf_counter()
        with connected_devices(printer.path, b.path) as devices:
            result = run_batch(request, devices)
        elapsed = time.perf_counter() - start
    print(
        f"real pty (sim ×{FAST_PTY_SPEED:.0f}), {units:>2} units: {elapsed:6.3f} s wall, "
        f"{_lines(request) / elapsed:8.0f} unit lines/s, {result.status}, QC {result.qc.verdict}"
    )


if __name__ == "__main__":
    for n in (10, 20):
        bench_in_process(n)
    bench_pty(10)

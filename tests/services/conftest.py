"""Helpers for the print-run tests: hand-made plates, linked simulators, a run request."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.catalog.schema import Recipe
from printpharm.devices.printer import LinkOptions
from printpharm.services.run.devices import connected_devices, simulator_urls
from printpharm.services.run.program import parse_plate_gcode
from printpharm.services.run.request import RunDevices, RunOptions, RunRequest

#: Simulator options under which the printer simulator answers M115 as a bench printer
#: would: a printer that says "simulator" never makes a batch for patient use (issue 13).
HARDWARE_IDENTITY = {"firmware_name": "Marlin 2.1.2.1 (bench build)", "machine_type": "Bench SSE"}

#: Short timeouts: the simulators run on a virtual clock, so nothing waits for real.
FAST_LINK = LinkOptions(ok_timeout_s=2.0, max_probes=1, resend_quiet_s=0.01, poll_s=0.05)
RUN_DAY = date(2026, 11, 22)
#: The flow of a hand-made plate's beads, mm³/s: a 0.9 × 0.6 mm bead at 7.4 mm/s.
BEAD_FLOW_MM3_S = 4.0


def plate_gcode(
    targets_mg: list[Decimal],
    mg_per_mm3: Decimal,
    mm3_per_e: Decimal = Decimal(1),
    moves_per_unit: int = 12,
    weigh_points: bool = False,
    offset_mg: Decimal = Decimal(0),
) -> str:
    """A small SSE plate in the planner's marker format, relative E (M83).

    Each unit deposits the volume the ink's calibration ``mass = a·V + b`` gives
    for its target, ``(target − offset_mg) / mg_per_mm3`` mm³, split over its
    moves; E is in units of ``mm3_per_e`` mm³. Every bead is 8 mm or more long and
    extruded at :data:`BEAD_FLOW_MM3_S` (a real bead's flow), so a head that reports
    its extrusion pressure reads what it would on a planned plate.
    """
    # what E means, as the planner writes it (the run's preflight reads the ink needed back)
    if mm3_per_e == 1:
        header = ";PRINTPHARM EXTRUSION e_units=mm3 diameter_mm=1"
    else:  # E in units of mm3_per_e mm³: a filament of that cross-section
        diameter = math.sqrt(4 * float(mm3_per_e) / math.pi)
        header = f";PRINTPHARM EXTRUSION e_units=filament_mm diameter_mm={diameter:.6f}"
    lines = ["; hand-made plate", header, "G21", "G90", "M83", "G92 E0", ""]
    for n, target in enumerate(targets_mg, start=1):
        volume_mm3 = (target - offset_mg) / mg_per_mm3  # mg / (mg/mm³)
        e_per_move = volume_mm3 / mm3_per_e / moves_per_unit
        x0 = 20 + 15 * ((n - 1) % 11)  # rows of 11 units: the plate stays on the 200 mm bed
        y0 = 20 + 15 * ((n - 1) // 11)
        lines.append(f";PRINTPHARM UNIT_START n={n} of={len(targets_mg)} target_mg={target}")
        lines.append(f"G0 X{x0} Y{y0} Z0.6 F3000")
        here = (float(x0), float(y0))
        seconds = float(volume_mm3) / moves_per_unit / BEAD_FLOW_MM3_S
        for k in range(moves_per_unit):
            there = (float(x0 + k % 3), float(y0 + 8 if k % 2 == 0 else y0))
            feed = math.dist(here, there) / seconds * 60  # mm/min
            lines.append(f"G1 X{x0 + (k % 3)} Y{there[1]:g} E{e_per_move:.6f} F{feed:.3f}")
            here = there
        lines.append(f";PRINTPHARM UNIT_END n={n}")
        lines.append("G0 Z5 F600 ; lift off the unit")
        if weigh_points:
            lines.append(f";PRINTPHARM WEIGH n={n}")
    lines += ["M104 S0", "M140 S0", "M84", "; end"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog."""
    return load_catalog()


def make_request(
    catalog: Catalog,
    recipe_id: str = "cpm-chewable-disc",
    dose_mg: Decimal = Decimal(10),
    units: int = 4,
    *,
    recipe: Recipe | None = None,
    gcode: str | None = None,
    nozzle_c: Decimal | None = Decimal(40),
    bed_c: Decimal | None = Decimal(25),
) -> RunRequest:
    """A run request for a shipped recipe with a hand-made plate on the E = mm³ simulator.

    Target ink mass per unit = dose / drug load (10 mg at 50 mg/g → 200 mg); the
    volume is what the ink's calibration gives for it, as the planner does.
    """
    recipe = recipe or catalog.recipe(recipe_id)
    ink = catalog.ink(recipe.ink)
    target = (dose_mg * 1000 / ink.weighed_drug_load().value).quantize(Decimal("0.001"))
    cal = ink.calibration
    text = gcode or plate_gcode([target] * units, cal.a.value, offset_mg=cal.b.value)
    return RunRequest(
        recipe=recipe,
        ink=ink,
        printer_definition=catalog.printer(recipe.printer),
        program=parse_plate_gcode(text),
        dose_mg=dose_mg,
        recipe_sha256=catalog.file_sha256("recipe", recipe.id),
        nozzle_c=nozzle_c,
        bed_c=bed_c,
        dose_record={"rule": "fixed"},
    )


def options(**kwargs: Any) -> RunOptions:
    """Run options for tests: a fixed day, small chunks so cancel checks happen."""
    kwargs.setdefault("today", RUN_DAY)
    kwargs.setdefault("lines_per_check", 5)
    kwargs.setdefault("connect_timeout_s", 5.0)
    return RunOptions(**kwargs)


@pytest.fixture
def sim_devices(catalog: Catalog) -> Iterator[Any]:
    """Factory: ``sim_devices(request, **sim_options)`` → RunDevices on linked fast sims.

    The printer simulator's E unit is 1 mm³ (the hand-made plates are volumetric).
    Its process is ideal (``process_rsd=0``) unless the test asks for noise: these
    tests check exact behaviour; statistics are in tests/benchmarks.
    """
    stack: list[Any] = []

    def open_(request: RunRequest, **sim_options: Any) -> RunDevices:
        opts: Mapping[str, str] = {
            "e_units": "mm3",
            "process_rsd": "0",
            **{k: str(v) for k, v in sim_options.items()},
        }
        printer_url, balance_url = simulator_urls(request.printer_definition, request.ink, opts)
        manager = connected_devices(
            printer_url, balance_url, link_options=FAST_LINK, balance_timeout_s=5.0
        )
        devices = manager.__enter__()
        stack.append(manager)
        return devices

    yield open_
    for manager in stack:
        manager.__exit__(None, None, None)

"""Warnings of a plan that do not refuse it: prime vs retraction, head clearance, the link.

Private to :mod:`printpharm.services.run.planning` (moved out to keep it within its size).
"""

from __future__ import annotations

from printpharm.catalog import ResolvedSettings
from printpharm.catalog.schema import PrinterDefinition
from printpharm.slicing.analysis import GcodeAnalysis, busiest_move_rate
from printpharm.slicing.settings import MachineSettings

__all__ = ["LINK_SHARE", "PLANNER_BLOCKS", "warnings_of"]

#: Moves a Marlin planner holds (BLOCK_BUFFER_SIZE): the host must refill it in time.
PLANNER_BLOCKS = 16
#: Share of the serial line's line rate a plan may need before it is flagged.
LINK_SHARE = 0.8


def warnings_of(
    resolved: ResolvedSettings,
    machine: MachineSettings,
    units: int,
    analysis: GcodeAnalysis,
    printer: PrinterDefinition,
) -> tuple[str, ...]:
    """The plan's warnings: settings, head clearance, then the serial link."""
    return _warnings(resolved, machine, units) + _link_check(analysis, printer)


def _warnings(resolved: ResolvedSettings, machine: MachineSettings, units: int) -> tuple[str, ...]:
    out: list[str] = []
    p = resolved.process
    if p.prime_length.value != p.retraction_length.value:
        out.append(
            f"prime_length {p.prime_length} differs from retraction_length "
            f"{p.retraction_length}; the G-code primes exactly what it retracted so that "
            "each unit's plunger balance is its dose"
        )
    if units > 1 and machine.clearance_mm < 10:
        out.append(
            f"units are printed one after the other {machine.clearance_mm:.0f} mm apart: check "
            "that the print head clears finished units"
        )
    return tuple(out)


def _link_check(analysis: GcodeAnalysis, printer: PrinterDefinition) -> tuple[str, ...]:
    """Warn when the planner could drain faster than the serial line refills it.

    Every line crosses the link as ``N<n> <command>*<cs>`` at 10 bits per byte;
    the busiest :data:`PLANNER_BLOCKS` consecutive moves at their feed rates say
    how many lines per second the printer can consume. A paste printer whose
    planner runs dry stops and starts: each stop leaves a blob.
    """
    framing = len(f"N{analysis.line_count} *255\n")
    ceiling = printer.baud / 10 / (analysis.command_bytes + framing)
    demand = busiest_move_rate(analysis.move_s, PLANNER_BLOCKS)
    if demand <= LINK_SHARE * ceiling:
        return ()
    return (
        f"the G-code's shortest moves need up to {demand:.0f} lines/s, but a "
        f"{printer.baud}-baud link to {printer.id} carries about {ceiling:.0f}: the "
        "printer's planner may run dry and the nozzle stop mid-print; use longer segments "
        "(lower speed or coarser curves) or a faster link",
    )

"""Pressure study: what the extrusion-pressure alarms catch, and what they cry wolf on.

Run: ``python tests/benchmarks/bench_pressure.py [--batches 10] [--units 8]``.

Every batch is the real run loop printing a planned plate of cyclophosphamide
chewables (15 mg, 300 mg of paste per unit) on the in-process simulators (virtual
clock) with the head's load cell and the shipped ink's limits (over 180 kPa, under
40 kPa while extruding), the recipe's alarm policy set to ``pause`` and an operator
who always continues, so that every unit is printed and weighed. Batch *i* uses seed
*i*. A clog starts at the middle unit. Columns:

- P alarms clean: pressure alarms on units with no clog (over / under): false alarms,
  except under-pressure on a unit that lost more than 10 % (an air pocket);
- clog caught: clogs whose first clogged unit got an over-pressure alarm before it
  was weighed / clogs;
- unit fails: clogged units out of tolerance once weighed (what the balance alone sees);
- light units: units more than 10 % light (air pockets) / of them with an under-pressure alarm;
- mean kPa: mean of the units' mean steady pressure (clean units).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from printpharm.catalog import load_catalog  # noqa: E402
from printpharm.services.run.devices import connected_devices, simulator_urls  # noqa: E402
from printpharm.services.run.loop import run_batch  # noqa: E402
from printpharm.services.run.prepare import prepare_run  # noqa: E402
from printpharm.services.run.request import RunOptions  # noqa: E402
from printpharm.services.run.result import AlarmKind, OperatorDecision  # noqa: E402

#: name -> simulator options (a clog, if any, starts at the middle unit)
CONDITIONS: dict[str, dict[str, str]] = {
    "defaults (SSE)": {},
    "noise 4 %": {"process_rsd": "0.04"},
    "air pockets 10 %/unit, <= 30 %": {"bubble_rate": "0.1", "bubble_loss": "0.3"},
    "clog x0.9": {"clog_factor": "0.9"},
    "clog x0.7": {"clog_factor": "0.7"},
    "clog x0.5": {"clog_factor": "0.5"},
    "full clog x0": {"clog_factor": "0"},
}


@dataclass(frozen=True)
class Outcome:
    """One batch: per unit (deviation %, over alarm, under alarm, alarm before weighing, mean)."""

    units: tuple[tuple[float, bool, bool, bool, float | None], ...]
    clog_unit: int | None


def _batch(args: tuple[str, int, int]) -> Outcome:
    name, seed, units = args
    sim = dict(CONDITIONS[name])
    clog_unit = units // 2 + 1 if "clog_factor" in sim else None
    if clog_unit is not None:
        sim["clog_unit"] = str(clog_unit)
    prepared = prepare_run(load_catalog(), "cpm-chewable-disc", Decimal(15), units)
    recipe = prepared.request.recipe.model_copy(update={"alarm_policy": "pause"})
    request = dataclasses.replace(prepared.request, recipe=recipe)
    urls = simulator_urls(request.printer_definition, request.ink, {"seed": str(seed), **sim})
    with connected_devices(*urls) as devices:
        result = run_batch(request, devices, operator=lambda _: OperatorDecision.CONTINUE,
                           options=RunOptions())  # fmt: skip
    rows = []
    for unit in result.units:
        mine = [a for a in result.alarms if a.unit == unit.n]
        over = [a for a in mine if a.kind is AlarmKind.OVER_PRESSURE]
        under = any(a.kind is AlarmKind.UNDER_PRESSURE for a in mine)
        early = bool(over) and unit.weighed_at is not None and over[0].at <= unit.weighed_at
        mean = None if unit.pressure is None else float(unit.pressure["mean_kpa"] or 0)
        rows.append((float(unit.deviation_pct or 0), bool(over), under, early, mean))
    return Outcome(tuple(rows), clog_unit)


def _line(name: str, outcomes: list[Outcome]) -> str:
    false_over = false_under = clogs = caught = fails = light = light_caught = 0
    means: list[float] = []
    for out in outcomes:
        for n, (dev, over, under, early, mean) in enumerate(out.units, start=1):
            clogged = out.clog_unit is not None and n >= out.clog_unit
            if not clogged:
                false_over += over
                false_under += under and dev > -10
                if mean is not None:
                    means.append(mean)
            if dev < -10 and not clogged:
                light += 1
                light_caught += under
            if out.clog_unit is not None and n == out.clog_unit:
                clogs += 1
                caught += early
                fails += abs(dev) > 7.5
    clog_text = f"{caught}/{clogs}" if clogs else "-"
    fails_text = f"{fails}/{clogs}" if clogs else "-"
    light_text = f"{light_caught}/{light}" if light else "-"
    mean_text = f"{statistics.fmean(means):.1f}" if means else "-"
    return (f"{name:<32} {len(outcomes):>7} {false_over:>5}/{false_under:<5} {clog_text:>11} "
            f"{fails_text:>10} {light_text:>12} {mean_text:>9}")  # fmt: skip


def main() -> int:
    """Run every condition and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.monotonic()
    print(f"{'condition':<32} {'batches':>7} {'P alarms clean':>11} {'clog caught':>11} "
          f"{'unit fails':>10} {'light units':>12} {'mean kPa':>9}")  # fmt: skip
    with multiprocessing.Pool(args.workers) as pool:
        for name in CONDITIONS:
            jobs = [(name, seed, args.units) for seed in range(args.batches)]
            print(_line(name, pool.map(_batch, jobs)), flush=True)
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Streaming over a real line speed: printpharm's PrinterLink vs Printrun's printcore.

Run: ``python tests/benchmarks/bench_link.py [--recipe ID] [--baud B] [--runs R]``
(not collected by pytest; nothing is asserted). Printrun is optional
(``pip install --no-deps printrun``; it is not a dependency of printpharm).

For each shipped recipe, one unit at a mid-range dose is planned as ``printpharm
plan`` does, and for each line rate (115 200 and 250 000 baud) the printer
simulator is served on a pseudo-terminal in a subprocess (so that it does not
compete with the host for the GIL) with that ``baud`` (10 bits per byte, both
directions), ADVANCED_OK and an 8-line command buffer. Two runs per host:

* **throughput** — the unit's moves (between its UNIT_START and UNIT_END) to a
  simulator whose planner never fills, in real time: only the line and the host
  limit the rate. Printed: lines/s acknowledged, the link's ceiling (bytes/s ÷
  the mean bytes of a framed line ``N.. cmd*cs``), and the ratio (target for
  printpharm: >= 95 %).
* **underruns** — the whole G-code (start code, unit, weigh point, end code) to
  Marlin's 16-block planner consuming every move at its feed rate, on a clock
  running ``--clock`` times real time (the host gets that many times less time
  per line than on a real printer: a pessimistic test). Printed: planner
  underruns (a move that found the planner empty mid-print) and the total stall
  (target for printpharm: 0 underruns).

Also printed per recipe: the peak rate at which the planner consumes lines (the
shortest 16 consecutive moves at their feed rates); above the ceiling no host
can keep the planner fed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from printpharm.catalog import load_catalog  # noqa: E402
from printpharm.catalog.schema import Recipe  # noqa: E402
from printpharm.devices.marlin import clean_gcode, frame_line  # noqa: E402
from printpharm.devices.printer import PrinterLink  # noqa: E402
from printpharm.devices.sim.link import BITS_PER_BYTE  # noqa: E402
from printpharm.devices.sim.motion import Motion, parse_words  # noqa: E402
from printpharm.devices.transport import open_transport  # noqa: E402
from printpharm.services.run.planning import PlanResult, plan_batch  # noqa: E402

BAUDS = (115_200, 250_000)
PLANNER_BLOCKS = 16
HUGE_PLANNER = 1_000_000
SIM_SERVER = (
    "import json, sys\n"
    "from printpharm.devices.sim import PtyServer, build_printer\n"
    "options, speed = json.loads(sys.argv[1]), float(sys.argv[2])\n"
    "sim = build_printer(options)\n"
    "server = PtyServer(sim, speed).start()\n"
    "print('printer: ' + server.path, flush=True)\n"
    "sys.stdin.readline()\n"
    "with sim.lock:\n"
    "    print(json.dumps({'underruns': sim.underruns, 'stall_s': sim.stall_s}), flush=True)\n"
    "server.stop()\n"
)


@dataclass(frozen=True)
class Run:
    """One host on one simulated link: lines acknowledged per second and planner underruns."""

    lines: int
    elapsed_s: float
    underruns: int
    stall_s: float

    @property
    def lines_per_s(self) -> float:
        return self.lines / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Simulator:
    """The printer simulator on a pty in a subprocess; ``finish()`` returns its counters."""

    def __init__(self, options: dict[str, str], speed: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SIM_SERVER, json.dumps(options), str(speed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.path = self.proc.stdout.readline().strip().partition(": ")[2]

    def finish(self) -> dict[str, float]:
        out, _ = self.proc.communicate("stats\n", timeout=60)
        return dict(json.loads(out.strip().splitlines()[-1]))


def _mid_dose(recipe: Recipe) -> Decimal:
    assert recipe.dose is not None
    low, high, step = recipe.dose.range.min, recipe.dose.range.max, recipe.dose.step.value
    return ((low + high) / 2 / step).to_integral_value() * step


def _unit_block(gcode: Sequence[str]) -> list[str]:
    start = next(i for i, line in enumerate(gcode) if line.startswith(";PRINTPHARM UNIT_START"))
    end = next(i for i, line in enumerate(gcode) if line.startswith(";PRINTPHARM UNIT_END"))
    return clean_gcode(gcode[start : end + 1])


def _mean_frame_bytes(commands: Sequence[str], first_n: int = 1) -> float:
    return statistics.fmean(len(frame_line(first_n + i, c)) + 1 for i, c in enumerate(commands))


def _peak_demand(commands: Sequence[str], plan: PlanResult, window: int) -> float:
    """Lines per second the planner consumes over its busiest ``window`` consecutive moves."""
    motion = Motion(plan.extrusion["e_units"], plan.extrusion["diameter_mm"])
    durations: list[float] = []
    for command in commands:
        code, words = parse_words(command)
        if code in ("M82", "M83", "G90", "G91"):
            motion.set_mode(code)
        elif code == "G92":
            motion.set_position(words)
        elif code in ("G0", "G1"):
            seconds, _ = motion.move(words)
            if seconds > 0:
                durations.append(seconds)
    if len(durations) < window:
        return 0.0
    sums = [sum(durations[i : i + window]) for i in range(len(durations) - window + 1)]
    return window / min(sums)


def _printpharm(path: str, commands: list[str]) -> tuple[int, float]:
    link = PrinterLink(open_transport(path))
    link.connect()
    stats = link.stream(commands)
    link.close()
    return stats.lines_acked, stats.elapsed_s


def _printcore(path: str, commands: list[str]) -> tuple[int, float] | str:
    try:
        from printrun import gcoder  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from printrun.printcore import printcore  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as exc:
        return f"not installed ({exc}); pip install --no-deps printrun"
    core = printcore(path, 115200)
    deadline = time.monotonic() + 20
    while not core.online and time.monotonic() < deadline:
        time.sleep(0.01)
    if not core.online:
        with contextlib.suppress(RuntimeError):  # its sender thread never started
            core.disconnect()
        return "did not come online within 20 s"
    sent: list[str] = []
    core.sendcb = lambda command, gline: sent.append(command)
    start = time.perf_counter()
    core.startprint(gcoder.LightGCode(commands))
    while core.printing:
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    with contextlib.suppress(RuntimeError):  # printcore may not have started its sender
        core.disconnect()
    return sum(1 for c in sent if not c.startswith("M110")), elapsed


def _run(host: str, options: dict[str, str], speed: float, commands: list[str]) -> Run | str:
    sim = Simulator(options, speed)
    try:
        outcome = (
            _printpharm(sim.path, commands)
            if host == "printpharm"
            else _printcore(sim.path, commands)
        )
    finally:
        counters = sim.finish()
    if isinstance(outcome, str):
        return outcome
    lines, elapsed = outcome
    return Run(lines, elapsed * speed, int(counters["underruns"]), float(counters["stall_s"]))


def _best(runs: list[Run | str]) -> Run | str:
    done = [r for r in runs if isinstance(r, Run)]
    return max(done, key=lambda r: r.lines_per_s) if done else str(runs[0])


def _recipe(plan: PlanResult, baud: int, clock: float, runs: int) -> None:
    gcode = plan.gcode.splitlines()
    unit, whole = _unit_block(gcode), clean_gcode(gcode)
    ceiling = baud / BITS_PER_BYTE / _mean_frame_bytes(unit)
    base = {
        "baud": str(baud),
        "bufsize": "8",
        "e_units": plan.extrusion["e_units"],
        "diameter_mm": str(plan.extrusion["diameter_mm"]),
    }
    print(f"  {baud} baud: ceiling {ceiling:6.0f} lines/s")
    for host in ("printpharm", "printcore"):
        huge = {**base, "planner_blocks": str(HUGE_PLANNER)}
        fast = _best([_run(host, huge, 1.0, unit) for _ in range(runs)])
        real = _run(host, {**base, "planner_blocks": str(PLANNER_BLOCKS)}, clock, whole)
        if isinstance(fast, str) or isinstance(real, str):
            print(f"    {host:10s}: {fast if isinstance(fast, str) else real}")
            continue
        share = fast.lines_per_s / ceiling * 100
        print(
            f"    {host:10s}: {fast.lines_per_s:6.0f} lines/s = {share:5.1f} % of the ceiling "
            f"({fast.lines} lines) | {real.underruns:4d} underruns, stall {real.stall_s:7.3f} s "
            f"({real.lines} lines, clock x{clock:g})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", action="append", help="only this recipe (repeatable)")
    parser.add_argument("--baud", type=int, action="append", help="only this rate (repeatable)")
    parser.add_argument("--runs", type=int, default=2, help="throughput runs per host (best)")
    parser.add_argument("--clock", type=float, default=10.0, help="simulator clock x real time")
    args = parser.parse_args(argv)
    catalog = load_catalog()
    recipes = [r for r in catalog.recipes() if r.dose is not None]
    if args.recipe:
        recipes = [r for r in recipes if r.id in args.recipe]
    print("printpharm streaming over a simulated serial line (10 bits per byte, both ways)")
    print("simulator: ADVANCED_OK, BUFSIZE 8; throughput: planner never full, real time;")
    print(f"underruns: {PLANNER_BLOCKS}-block planner at feed rates, clock x{args.clock:g}")
    for recipe in recipes:
        dose = _mid_dose(recipe)
        plan = plan_batch(catalog, recipe.id, dose, 1)
        unit = _unit_block(plan.gcode.splitlines())
        demand = _peak_demand(clean_gcode(plan.gcode.splitlines()), plan, PLANNER_BLOCKS)
        print(
            f"\n{recipe.id} @ {dose} mg: {len(unit)} unit lines, "
            f"{_mean_frame_bytes(unit):.1f} bytes per framed line, peak demand "
            f"{demand:.0f} lines/s ({PLANNER_BLOCKS} shortest consecutive moves)"
        )
        for baud in args.baud or BAUDS:
            _recipe(plan, baud, args.clock, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

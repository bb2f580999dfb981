"""Batch mean content error with the ink file's calibration vs calibrations fitted on site.

Run: ``python tests/benchmarks/bench_calibration.py [--batches N] [--units U] [--dose MG]
[--bias B] [--process-rsd R] [--balance-sd-mg S]`` (not collected by pytest; nothing is
asserted).

The cyclophosphamide ink file says ``mass = 1.19 mg/mm³ · V − 0.5 mg``; the simulated
paste's true calibration is ``1.19 × (1 + bias) mg/mm³ · V − 0.5 mg`` (3 % off by default),
given to the printer simulator explicitly (``mass_per_mm3``, ``mass_offset_mg``: the paste
wins over any calibration), with the simulator's realistic SSE process (``--process-rsd``,
2 % unit-to-unit by default, its drift, bubbles and start lag) and balance noise
(``--balance-sd-mg``). For each seeded batch (``--batches``, seeds 1..N) the calibration
series is printed and weighed on that paste and fitted twice — by ordinary least squares
(unweighted) and weighted 1/m̂² (relative noise, the default of a new fit) — and then a
batch of ``--units`` units of ``--dose`` mg (10 mg = 200 mg of paste) is planned and
printed on the same paste: sized with the ink file's calibration and with each fit, with
the run's flow correction off and on. The lot's assay is the label claim, so a unit's
content error is its mass error. Printed per row: how many series can plan the dose (a fit
whose 95 % prediction interval reaches outside the recipe's tolerance refuses it), the mean
and worst batch-mean error (%) over the batches that were planned, how many completed, and
how often the drift check fired (it can only with a fitted calibration).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from printpharm.catalog import load_catalog  # noqa: E402
from printpharm.core.calibration import Weighting, fit_calibration  # noqa: E402
from printpharm.errors import PreflightError  # noqa: E402
from printpharm.services.run.calibration import CalibrationInForce  # noqa: E402
from printpharm.services.run.calibration_series import plan_series, run_series  # noqa: E402
from printpharm.services.run.devices import (  # noqa: E402
    connected_devices,
    run_simulator_urls,
    simulator_urls,
)
from printpharm.services.run.loop import run_batch  # noqa: E402
from printpharm.services.run.prepare import prepare_run  # noqa: E402
from printpharm.services.run.request import RunOptions  # noqa: E402

INK, RECIPE, PRINTER = "cyclophosphamide-sse-chewable", "cpm-chewable-disc", "marlin-sse"
Outcome = tuple[float, bool, bool] | None


def _fitted(catalog: object, sim: dict[str, str]) -> dict[Weighting, CalibrationInForce]:
    """The series printed and weighed once on the paste, fitted both ways."""
    plan = plan_series(catalog, INK, PRINTER)  # type: ignore[arg-type]
    with connected_devices(*simulator_urls(plan.printer, plan.ink, sim)) as devices:
        points = run_series(plan, devices)
    volumes, masses = [float(p.volume_mm3) for p in points], [float(p.mass_mg) for p in points]
    weightings: tuple[Weighting, ...] = ("unweighted", "relative")
    return {
        w: CalibrationInForce(fit_calibration(volumes, masses, weighting=w), "site", INK, 1, 1,
                              PRINTER, status="locked")
        for w in weightings
    }  # fmt: skip


def _batch(
    catalog: object, calibration: CalibrationInForce | None, dose: Decimal, units: int,
    sim: dict[str, str], flow: bool,
) -> Outcome:  # fmt: skip
    """(batch mean error %, drift flagged, completed), or None when the plan is refused."""
    try:
        prepared = prepare_run(catalog, RECIPE, dose, units, calibration=calibration)  # type: ignore[arg-type]
    except PreflightError:  # the calibration's prediction interval is wider than the tolerance
        return None
    request = prepared.request
    target = float(request.program.units[0].target_mg)
    with connected_devices(*run_simulator_urls(request, sim)) as devices:
        result = run_batch(request, devices, options=RunOptions(flow_correction=flow))
    masses = [float(u.measured_mg) for u in result.units if u.measured_mg is not None]
    error = (statistics.fmean(masses) / target - 1) * 100
    check = result.calibration_check
    return error, bool(check and check["drift"]), result.status == "completed"


def _row(name: str, flow: bool, outcomes: list[Outcome]) -> str:
    planned = [o for o in outcomes if o is not None]
    can = f"{len(planned)}/{len(outcomes)}"
    head = f"{name:<22} {'on' if flow else 'off':<10} {can:>13}"
    if not planned:
        return head
    errors = [e for e, _, _ in planned]
    drift = sum(d for _, d, _ in planned)
    done = sum(c for _, _, c in planned)
    return (f"{head} {statistics.fmean(errors):>13.3f} {max(abs(e) for e in errors):>16.3f} "
            f"{done:>6}/{len(planned)} {drift:>8}/{len(planned)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--dose", default="10", help="dose per unit (mg)")
    parser.add_argument("--bias", default="0.03")
    parser.add_argument("--process-rsd", default="0.02", help="unit-to-unit RSD (fraction)")
    parser.add_argument("--balance-sd-mg", default="0.02", help="balance noise SD (mg)")
    args = parser.parse_args()
    catalog = load_catalog()
    file_line = catalog.ink(INK).calibration
    true_a = file_line.a.value * (1 + Decimal(args.bias))
    paste = {
        "mass_per_mm3": str(true_a),
        "mass_offset_mg": str(file_line.b.value),
        "process_rsd": args.process_rsd,
        "balance_sd_mg": args.balance_sd_mg,
    }
    names = {"unweighted": "fitted, unweighted", "relative": "fitted, weighted 1/m²"}
    rows: dict[tuple[str, bool], list[Outcome]] = {}
    for seed in range(1, args.batches + 1):
        sim = {"seed": str(seed), **paste}
        fits = _fitted(catalog, sim)
        sized: list[tuple[str, CalibrationInForce | None]] = [("ink file", None)]
        sized += [(names[w], fit) for w, fit in fits.items()]
        for name, calibration in sized:
            for flow in (False, True):
                outcome = _batch(catalog, calibration, Decimal(args.dose), args.units, sim, flow)
                rows.setdefault((name, flow), []).append(outcome)
    print(f"{args.batches} batches × {args.units} units of {args.dose} mg; true paste "
          f"{true_a} mg/mm³ · V {file_line.b.value} mg (ink file {file_line.a.value} mg/mm³, "
          f"bias {args.bias}); process RSD {args.process_rsd}, balance SD "
          f"{args.balance_sd_mg} mg")  # fmt: skip
    print(f"{'sized with':<22} {'flow corr.':<10} {'can plan dose':>13} {'mean error %':>13} "
          f"{'worst |error| %':>16} {'completed':>10} {'drift flagged':>14}")  # fmt: skip
    for (name, flow), outcomes in rows.items():
        print(_row(name, flow, outcomes))


if __name__ == "__main__":
    main()

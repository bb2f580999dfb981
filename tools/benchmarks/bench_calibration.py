"""Batch mean mass error with the ink file's calibration vs a calibration fitted on site.

Run: ``python tools/benchmarks/bench_calibration.py [--batches N] [--units U] [--bias B]
[--process-rsd R] [--balance-sd-mg S]`` (not collected by pytest; nothing is asserted).

The cyclophosphamide ink file says ``mass = 1.19 mg/mm³ · V − 0.5 mg``; the simulated
paste's true calibration is ``1.19 × (1 + bias) mg/mm³ · V − 0.5 mg`` (3 % off by default),
given to the printer simulator explicitly (``mass_per_mm3``, ``mass_offset_mg``), with the
simulator's realistic SSE process (``--process-rsd``, 2 % unit-to-unit by default, its
drift, bubbles and start lag) and balance noise (``--balance-sd-mg``). For each seeded
batch (``--batches``, seeds 1..N) the calibration series is printed and weighed on that
paste, fitted, and then a batch of ``--units`` units of 10 mg (200 mg of paste) is planned
and printed twice on the same paste: sized with the ink file's calibration and with the
fitted one, each with the run's flow correction off and on. The lot's assay is the label
claim, so a unit's content error is its mass error. Printed: the mean and worst
batch-mean error (%) over the batches, how many batches completed, and how often the drift
check fired (it can only with a fitted calibration).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from printpharm.catalog import load_catalog  # noqa: E402
from printpharm.core.calibration import fit_calibration  # noqa: E402
from printpharm.errors import PreflightError  # noqa: E402
from printpharm.services.run.calibration import CalibrationInForce  # noqa: E402
from printpharm.services.run.calibration_series import plan_series, run_series  # noqa: E402
from printpharm.services.run.devices import connected_devices, simulator_urls  # noqa: E402
from printpharm.services.run.loop import run_batch  # noqa: E402
from printpharm.services.run.prepare import prepare_run  # noqa: E402
from printpharm.services.run.request import RunOptions  # noqa: E402

INK, RECIPE, PRINTER = "cyclophosphamide-sse-chewable", "cpm-chewable-disc", "marlin-sse"


def _fitted(catalog: object, sim: dict[str, str]) -> CalibrationInForce:
    plan = plan_series(catalog, INK, PRINTER)  # type: ignore[arg-type]
    with connected_devices(*simulator_urls(plan.printer, plan.ink, sim)) as devices:
        points = run_series(plan, devices)
    line = fit_calibration(
        [float(p.volume_mm3) for p in points], [float(p.mass_mg) for p in points]
    )
    return CalibrationInForce(line, "site", INK, 1, 1, PRINTER, status="locked")


def _batch(
    catalog: object, calibration: CalibrationInForce | None, units: int, sim: dict[str, str],
    flow: bool,
) -> tuple[float, bool, bool] | None:  # fmt: skip
    """(batch mean error %, drift flagged, completed), or None when the plan is refused."""
    try:
        prepared = prepare_run(catalog, RECIPE, Decimal(10), units, calibration=calibration)  # type: ignore[arg-type]
    except PreflightError:  # the calibration's prediction interval is wider than the tolerance
        return None
    request = prepared.request
    with connected_devices(
        *simulator_urls(request.printer_definition, request.ink, sim)
    ) as devices:
        result = run_batch(request, devices, options=RunOptions(flow_correction=flow))
    masses = [float(u.measured_mg) for u in result.units if u.measured_mg is not None]
    error = (statistics.fmean(masses) / 200.0 - 1) * 100
    check = result.calibration_check
    return error, bool(check and check["drift"]), result.status == "completed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--units", type=int, default=10)
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
    rows: dict[tuple[str, bool], list[tuple[float, bool, bool] | None]] = {}
    for seed in range(1, args.batches + 1):
        sim = {"seed": str(seed), **paste}
        fitted = _fitted(catalog, sim)
        for name, calibration in (("ink file", None), ("fitted on site", fitted)):
            for flow in (False, True):
                outcome = _batch(catalog, calibration, args.units, sim, flow)
                rows.setdefault((name, flow), []).append(outcome)
    print(f"{args.batches} batches × {args.units} units of 10 mg (200 mg); true paste "
          f"{true_a} mg/mm³ · V {file_line.b.value} mg (ink file {file_line.a.value} mg/mm³, "
          f"bias {args.bias}); process RSD {args.process_rsd}, balance SD "
          f"{args.balance_sd_mg} mg")  # fmt: skip
    print(f"{'sized with':<16} {'flow corr.':<10} {'plan refused':>12} {'mean error %':>13} "
          f"{'worst |error| %':>16} {'completed':>10} {'drift flagged':>14}")  # fmt: skip
    for (name, flow), outcomes in rows.items():
        planned = [o for o in outcomes if o is not None]
        refused = f"{len(outcomes) - len(planned)}/{len(outcomes)}"
        if not planned:
            print(f"{name:<16} {'on' if flow else 'off':<10} {refused:>12}")
            continue
        errors = [e for e, _, _ in planned]
        drift = sum(d for _, d, _ in planned)
        done = sum(c for _, _, c in planned)
        print(f"{name:<16} {'on' if flow else 'off':<10} {refused:>12} "
              f"{statistics.fmean(errors):>13.3f} {max(abs(e) for e in errors):>16.3f} "
              f"{done:>6}/{len(planned)} {drift:>8}/{len(planned)}")  # fmt: skip


if __name__ == "__main__":
    main()

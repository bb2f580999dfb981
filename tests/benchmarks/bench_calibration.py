"""Batch mean mass error with the ink file's calibration vs a calibration fitted on site.

Run: ``python tests/benchmarks/bench_calibration.py [--batches N] [--units U] [--bias B]``
(not collected by pytest; nothing is asserted).

The simulated paste weighs ``1.20 mg/mm³ × (1 + bias)`` (balance option ``bias``; 3 % by
default), while the cyclophosphamide ink file says ``1.19 mg/mm³ · V − 0.5 mg``: the file
is about 4 % off. For each seeded batch (``--batches``, seeds 1..N) the calibration series
is printed and weighed on the same simulated paste (balance noise ``--noise-g``), fitted,
and then a batch of ``--units`` units of 10 mg (200 mg of paste) is planned and printed
twice: sized with the ink file's calibration and with the fitted one, each with the run's
flow correction off and on. Printed: the mean and worst batch-mean error (%) over the
batches, and how often the drift check fired (it can only with a fitted calibration).
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
) -> tuple[float, bool]:  # fmt: skip
    prepared = prepare_run(catalog, RECIPE, Decimal(10), units, calibration=calibration)  # type: ignore[arg-type]
    request = prepared.request
    with connected_devices(
        *simulator_urls(request.printer_definition, request.ink, sim)
    ) as devices:
        result = run_batch(request, devices, options=RunOptions(flow_correction=flow))
    masses = [float(u.measured_mg) for u in result.units if u.measured_mg is not None]
    error = (statistics.fmean(masses) / 200.0 - 1) * 100
    check = result.calibration_check
    return error, bool(check and check["drift"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--bias", default="0.03")
    parser.add_argument("--noise-g", default="0.00002", help="balance noise SD (g)")
    args = parser.parse_args()
    catalog = load_catalog()
    rows: dict[tuple[str, bool], list[tuple[float, bool]]] = {}
    for seed in range(1, args.batches + 1):
        sim = {"seed": str(seed), "bias": args.bias, "noise_sd_g": args.noise_g}
        fitted = _fitted(catalog, sim)
        for name, calibration in (("ink file", None), ("fitted on site", fitted)):
            for flow in (False, True):
                outcome = _batch(catalog, calibration, args.units, sim, flow)
                rows.setdefault((name, flow), []).append(outcome)
    print(f"{args.batches} batches × {args.units} units of 10 mg (200 mg); paste 1.20 mg/mm³ × "
          f"(1 + {args.bias}); balance noise {args.noise_g} g")  # fmt: skip
    print(f"{'sized with':<16} {'flow corr.':<10} {'mean error %':>13} {'worst |error| %':>16} "
          f"{'drift flagged':>14}")  # fmt: skip
    for (name, flow), outcomes in rows.items():
        errors = [e for e, _ in outcomes]
        drift = sum(d for _, d in outcomes)
        print(f"{name:<16} {'on' if flow else 'off':<10} {statistics.fmean(errors):>13.3f} "
              f"{max(abs(e) for e in errors):>16.3f} {drift:>8}/{len(outcomes)}")  # fmt: skip


if __name__ == "__main__":
    main()

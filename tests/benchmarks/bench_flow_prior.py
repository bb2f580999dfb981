"""The flow controller's noise prior: the ink file's declared RSD against the site calibration's.

Run: ``python tests/benchmarks/bench_flow_prior.py [--batches 1000] [--units 20]``.

The controller alone (:mod:`printpharm.services.run.flow_control`, no devices, as
the synthetic study of bench_closed_loop.py) on seeded batches of the shipped
cyclophosphamide chewable (200 mg of paste per unit, ±5 % validated correction
range, the ink file declaring a 2 % unit RSD), built with the run's own
:func:`~printpharm.services.run.correction.control_parameters`. A site's true
unit-to-unit scatter is 0.5×, 1× or 2× the file's 2 %. Each batch *i* first
prints a calibration series on that site (10 discs, 50–900 mm³, weighed on a
0.02 mg balance; seed ``cal-i``) fitted 1/m²-weighted as on site; then prints
the batch (seed *i*) twice with common random numbers: once with the ink file's
prior (2 %, weight 4: what the run did before) and once with the calibration's
(σ̂_rel less the balance's share, weight n − 2 = 8: what it does now).

Drift: none, a step of −2 % or −4 % from unit 9 (a new syringe, a partial clog
that stays), or a ramp of −0.3 %/unit. Columns:

- |err|: mean |unit deviation from target| (%), what a patient's unit sees;
- |mean|: mean |batch mean deviation| (%);
- RSD: within-batch unit RSD (%), root mean square over batches;
- corr/b: changes of the material factor per batch; with no drift every one of
  them is a reaction to noise (over-adjustment); ``any`` the share of batches with one;
- to-fix: step only: units from the step until a unit is printed with the step
  removed to within 1 % (median over batches; ``n/c`` batches not corrected by the end).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from printpharm.catalog import load_catalog  # noqa: E402
from printpharm.core.calibration import fit_calibration  # noqa: E402
from printpharm.services.run.calibration import CalibrationInForce  # noqa: E402
from printpharm.services.run.correction import control_parameters  # noqa: E402
from printpharm.services.run.flow_control import ControlParameters, FlowController  # noqa: E402
from printpharm.services.run.noise_prior import NoisePrior, calibration_prior  # noqa: E402
from printpharm.services.run.prepare import prepare_run  # noqa: E402
from printpharm.services.run.request import RunRequest  # noqa: E402

TARGET = 200.0  # mg of paste per unit (10 mg at 50 mg/g)
A, B = 1.2, -0.5  # the site's line, mg/mm³ and mg
VOLUMES = [50.0, 50.0, 120.0, 120.0, 300.0, 300.0, 600.0, 600.0, 900.0, 900.0]
STEP_FROM = 9
SCATTERS = (0.5, 1.0, 2.0)  # the site's true unit RSD over the ink file's
#: drift name -> (step from unit STEP_FROM, ramp per unit), fractions
DRIFTS: dict[str, tuple[float, float]] = {
    "none": (0.0, 0.0),
    "step -2 %": (-0.02, 0.0),
    "step -4 %": (-0.04, 0.0),
    "ramp -0.3 %/u": (0.0, -0.003),
}


@dataclass
class Tally:
    """Figures of one site, drift and prior over all batches."""

    abs_err: list[float] = field(default_factory=list)
    abs_mean: list[float] = field(default_factory=list)
    variances: list[float] = field(default_factory=list)
    changes: list[int] = field(default_factory=list)
    to_fix: list[int] = field(default_factory=list)
    not_fixed: int = 0

    def row(self, step: bool) -> str:
        rsd = math.sqrt(statistics.fmean(self.variances)) * 100
        any_share = sum(1 for c in self.changes if c) / len(self.changes)
        fix = "-"
        if step:
            median = f"{statistics.median(self.to_fix):.0f}" if self.to_fix else "-"
            fix = f"{median} ({self.not_fixed} n/c)"
        err, mean = statistics.fmean(self.abs_err) * 100, statistics.fmean(self.abs_mean) * 100
        changes = statistics.fmean(self.changes)
        return f"{err:6.2f} {mean:6.2f} {rsd:5.2f} {changes:6.2f} {any_share:5.0%}  {fix}"


def _site_prior(seed: int, scatter: float, request: RunRequest, balance_sd: float) -> NoisePrior:
    """The calibration series a site with this scatter weighs, and the prior it gives."""
    rng = random.Random(f"cal-{seed}")
    masses = [(A * v + B) * (1 + rng.gauss(0, scatter)) + rng.gauss(0, balance_sd) for v in VOLUMES]
    line = fit_calibration(VOLUMES, masses, weighting="relative")
    calibration = CalibrationInForce(line, "site", request.ink.id, version=1, ink_version=1)
    rsd = request.ink.variability.unit_rsd.value
    return calibration_prior(calibration, request.ink.id, rsd, balance_sd, TARGET)


def _offset(drift: tuple[float, float], k: int) -> float:
    step, ramp = drift
    return (step if k >= STEP_FROM else 0.0) + ramp * (k - 1)


def _batch(
    seed: int, params: ControlParameters, scatter: float, drift: tuple[float, float], tally: Tally
) -> None:
    """One batch: unit k deposits T·(1+b_k)·(1+e_k)·factor, weighed with the balance's noise."""
    rng = random.Random(seed)
    controller = FlowController(params)
    scale, deviations, changes, fixed_at = 1.0, [], 0, None
    for k in range(1, params.units_total + 1):
        b = _offset(drift, k)
        if drift[0] and k >= STEP_FROM and fixed_at is None:
            if abs((1 + b) * scale - 1) <= 0.01:
                fixed_at = k - STEP_FROM
        mass = TARGET * (1 + b) * (1 + rng.gauss(0, scatter)) * scale
        mass += rng.gauss(0, params.balance_sd_mg)
        deviations.append(mass / TARGET - 1)
        new = round(controller.observe(k, TARGET, mass, scale).scale, 4)
        changes += new != scale
        scale = new
    tally.abs_err.append(statistics.fmean(abs(d) for d in deviations))
    tally.abs_mean.append(abs(statistics.fmean(deviations)))
    tally.variances.append(statistics.variance(deviations))
    tally.changes.append(changes)
    if drift[0]:
        if fixed_at is None:
            tally.not_fixed += 1
        else:
            tally.to_fix.append(fixed_at)


def study(batches: int, units: int) -> None:
    """Print the table: per site and drift, the ink file's prior against the calibration's."""
    request = prepare_run(load_catalog(), "cpm-chewable-disc", Decimal(10), units).request
    base = control_parameters(request)  # the ink file's prior, as a run without a site fit
    declared = base.unit_rsd
    print(
        f"{batches} batches x {units} units per row; the ink file declares {declared:.1%} "
        f"(weight {base.prior_df:g}); steps from unit {STEP_FROM}; "
        f"balance s = {base.balance_sd_mg} mg"
    )
    print(
        "site RSD  drift          prior        prior used (median)   |err|  |mean|   RSD  corr/b"
        "   any  to-fix"
    )
    for factor in SCATTERS:
        scatter = factor * declared
        priors = [_site_prior(i, scatter, request, base.balance_sd_mg) for i in range(batches)]
        used = statistics.median(p.unit_rsd for p in priors)
        for drift_name, drift in DRIFTS.items():
            ink, site = Tally(), Tally()
            for i, prior in enumerate(priors):
                _batch(i, base, scatter, drift, ink)
                params = control_parameters(request, prior)
                _batch(i, params, scatter, drift, site)
            for name, tally, shown in (
                ("ink file", ink, f"{declared:.2%} w{base.prior_df:g}"),
                ("calibration", site, f"{used:.2%} w{priors[0].df:g}"),
            ):
                print(
                    f"{scatter:6.1%}  {drift_name:<13}  {name:<11}  {shown:<19}  "
                    f"{tally.row(bool(drift[0]))}"
                )
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--units", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    study(args.batches, args.units)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()

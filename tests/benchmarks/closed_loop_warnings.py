"""The flow controller's drift warnings, false and true, over many seeded batches.

Part of ``tests/benchmarks/bench_closed_loop.py`` (``--warning-batches``). Every
warning is an alarm a pharmacist must acknowledge, so on a batch that does not
drift each one is a false alarm. The controller alone
(:mod:`printpharm.services.run.flow_control`, no devices) prints batches of 12
and 20 units of ``(1 + b)(1 + d·(k − 1))(1 + e)(1 − bubble)``, corrected as the
run corrects them, and counts:

- on batches that do not drift (noise, bubbles, a constant offset, the
  simulator's −0.02 %/unit): batches warned (± its binomial standard error),
  warnings per batch and per 100 units, by kind (``trend`` / ``leaves_range``),
  and the median unit of the first;
- on the drifts: batches warned, the median unit of the first warning, and the
  units that fail (outside ±7.5 %) once the drift alone is beyond the validated
  correction range (±5 %), warned before they fail / all of them.

:func:`print_overcorrection_study` prints the other side of the same batches: how
often a batch with no offset to correct is given a large correction at some
unit (≥ 2 %, ≥ 3 % of material), and the units beyond ±5 % with correction on
and off (the same seeds: the process draws do not depend on the correction).
The RSD ratio of the closed-loop study is a mean over units; this is the tail a
technician sees, as in the README's first command (+3.84 % after unit 10).
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field

from printpharm.services.run.flow_control import ControlParameters, FlowController

#: The unit tolerance (±7.5 %) and the validated correction range (±5 %) of cpm-chewable-disc.
TOLERANCE = 0.075
CORRECTION = 0.05


@dataclass(frozen=True)
class SyntheticBatch:
    """What the controller did with one synthetic batch."""

    deviations: list[float]  # the units' deposits, relative to target
    warnings: list[tuple[int, str]]  # (unit, kind) of each drift warning


def synthetic_batch(
    seed: int, correct: bool, case: dict[str, float], units: int = 12
) -> SyntheticBatch:
    """The controller alone on a batch of ``(1+b)(1+d·(k−1))(1+e)(1−bubble)``.

    Each unit of ``unit_mg`` (default 200 mg) is weighed on a balance of read noise
    ``balance_mg`` (default 0.02 mg); the deviations returned are the deposit's.
    """
    rng = random.Random(seed)
    target, balance = case.get("unit_mg", 200.0), case.get("balance_mg", 0.02)
    controller = FlowController(
        ControlParameters(
            unit_rsd=case.get("declared", 0.02),
            balance_sd_mg=balance,
            offset_sd=0.01,
            drift_sd=0.005,
            correction_min=-CORRECTION,
            correction_max=CORRECTION,
            units_total=units,
        )
    )
    scale, deviations, warnings = 1.0, [], []
    for k in range(1, units + 1):
        bubble = 0.03 * (0.5 + 0.5 * rng.random()) if rng.random() < case.get("bubbles", 0) else 0
        process = (1 + case.get("bias", 0)) * (1 + case.get("drift", 0) * (k - 1))
        process *= (1 + rng.gauss(0, case.get("noise", 0.02))) * (1 - bubble)
        deviations.append(process * scale - 1)
        reading = target * process * scale + rng.gauss(0, balance)
        step = controller.observe(k, target, reading, scale)
        if step.warning is not None:
            warnings.append((k, step.warning.kind))
        if correct:
            scale = round(step.scale, 4)
    return SyntheticBatch(deviations, warnings)


#: Batches that do not drift: every drift warning on them is a false alarm.
STEADY: dict[str, dict[str, float]] = {
    "noise 2 %": {},
    "2 % + bubbles 2 %": {"bubbles": 0.02},
    "sim defaults (-0.02 %/u)": {"bubbles": 0.02, "drift": -0.0002},
    "noise 3 %, ink says 2 %": {"noise": 0.03},
    "bias +3 %": {"bias": 0.03},
    "bias -3 %": {"bias": -0.03},
}
DRIFTS: dict[str, dict[str, float]] = {
    "drift -0.4 %/unit": {"drift": -0.004},
    "drift -1 %/unit": {"drift": -0.01},
}


@dataclass
class WarningTally:
    """Warnings over the batches of one condition and batch size."""

    units: int
    batches: int = 0
    warned: int = 0
    warnings: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    first: list[int] = field(default_factory=list)
    beyond_warned: int = 0  # failing units beyond the range, after the first warning
    beyond: int = 0

    def add(self, batch: SyntheticBatch, beyond_from: int | None) -> None:
        self.batches += 1
        self.warnings += len(batch.warnings)
        self.kinds.update(kind for _, kind in batch.warnings)
        first = batch.warnings[0][0] if batch.warnings else self.units + 1
        if batch.warnings:
            self.warned += 1
            self.first.append(first)
        if beyond_from is not None:
            failing = [k for k, d in enumerate(batch.deviations, 1) if abs(d) > TOLERANCE]
            beyond = [k for k in failing if k >= beyond_from]
            self.beyond += len(beyond)
            self.beyond_warned += sum(k > first for k in beyond)

    def cells(self) -> list[str]:
        share = self.warned / self.batches
        se = math.sqrt(share * (1 - share) / self.batches)
        median = f"{statistics.median(self.first):.0f}" if self.first else "-"
        beyond = f"{self.beyond_warned}/{self.beyond}" if self.beyond else "-"
        return [
            f"{100 * share:5.1f} ± {100 * se:3.1f}",
            f"{self.warnings / self.batches:.3f}",
            f"{100 * self.warnings / (self.batches * self.units):.2f}",
            f"{self.kinds['trend']}/{self.kinds['leaves_range']}",
            median,
            beyond,
        ]


def beyond_range_from(drift: float) -> int | None:
    """The first unit whose drift alone is beyond the validated correction range."""
    if drift == 0:
        return None
    return next(k for k in range(1, 10_000) if abs(drift) * (k - 1) > CORRECTION)


def warning_study(batches: int, sizes: tuple[int, ...] = (12, 20)) -> dict[str, WarningTally]:
    """Every condition of :data:`STEADY` and :data:`DRIFTS` at each batch size, corrected."""
    results: dict[str, WarningTally] = {}
    for units in sizes:
        for name, case in {**STEADY, **DRIFTS}.items():
            tally = WarningTally(units)
            beyond = beyond_range_from(case.get("drift", 0)) if name in DRIFTS else None
            for seed in range(batches):
                tally.add(synthetic_batch(seed, True, case, units), beyond)
            results[f"{units} u, {name}"] = tally
    return results


def print_warning_study(batches: int) -> dict[str, WarningTally]:
    """Run :func:`warning_study` and print its table (false warnings first, then the drifts)."""
    print(f"drift warnings, controller alone: {batches} seeded batches per row, corrected")
    head = ["units, condition", "batches warned %", "per batch", "per 100 u",
            "trend/leaves", "first @", "beyond-range fails warned"]  # fmt: skip
    widths = [34, 16, 9, 9, 12, 7, 12]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    results = warning_study(batches)
    for name, tally in results.items():
        cells = [name, *tally.cells()]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    print()
    return results


def overcorrection(batches: int, case: dict[str, float], units: int) -> list[float]:
    """(% batches corrected >= 2 %, >= 3 %, % units beyond ±5 % on, off) for ``case``."""
    big2 = big3 = beyond_on = beyond_off = 0
    for seed in range(batches):
        on = synthetic_batch(seed, True, case, units).deviations
        off = synthetic_batch(seed, False, case, units).deviations
        largest = max(abs((1 + a) / (1 + b) - 1) for a, b in zip(on, off, strict=True))
        big2 += largest >= 0.02
        big3 += largest >= 0.03
        beyond_on += sum(abs(d) > 0.05 for d in on)
        beyond_off += sum(abs(d) > 0.05 for d in off)
    n = batches * units
    return [100 * big2 / batches, 100 * big3 / batches, 100 * beyond_on / n, 100 * beyond_off / n]


def print_overcorrection_study(batches: int) -> None:
    """Print :func:`overcorrection` for the batches with no offset at 12 and 20 units."""
    print(f"corrections of batches with no offset, controller alone: {batches} seeded batches")
    head = ["units, condition", "corrected >= 2 %", ">= 3 %", "units beyond ±5 % on/off"]
    widths = [34, 16, 8, 24]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for units in (12, 20):
        for name in ("noise 2 %", "2 % + bubbles 2 %", "sim defaults (-0.02 %/u)"):
            big2, big3, on, off = overcorrection(batches, STEADY[name], units)
            cells = [f"{units} u, {name}", f"{big2:5.2f} %", f"{big3:5.2f} %",
                     f"{on:.2f} / {off:.2f} %"]  # fmt: skip
            print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    print()

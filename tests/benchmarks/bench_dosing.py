"""Speed of the dose engine (printed, never asserted): ``python tests/benchmarks/bench_dosing.py``.

Target: a dose computation is interactive (well under 1 ms), so the GUI can
recompute on every keystroke and a batch of thousands of checks takes seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from printpharm.core.dosing import BSA_FORMULAS, body_surface_area, compute_dose


def _per_call_us(func: Callable[[], object], repeat: int = 2000) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    """Print microseconds per call for each BSA formula and typical dose rules."""
    for name in BSA_FORMULAS:
        us = _per_call_us(lambda name=name: body_surface_area("110", "18", name))
        print(f"body_surface_area {name:<13} {us:8.1f} µs/call")
    cases: dict[str, Callable[[], object]] = {
        "per_kg step 0.25": lambda: compute_dose(
            "per_kg", "0.5", weight_kg="8.4", dose_step_mg="0.25"
        ),
        "per_m2 mosteller": lambda: compute_dose(
            "per_m2", 25, height_cm=110, weight_kg=18, dose_step_mg="0.5"
        ),
        "per_m2 boyd split 50/25/25": lambda: compute_dose(
            "per_m2",
            8,
            height_cm=110,
            weight_kg=18,
            formula="boyd",
            dose_step_mg="0.5",
            split_pct=[50, 25, 25],
        ),  # fmt: skip
    }
    for label, func in cases.items():
        print(f"compute_dose {label:<28} {_per_call_us(func):8.1f} µs/call")


if __name__ == "__main__":
    main()

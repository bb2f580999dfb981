"""Catalog and calibration timings (printed, never asserted).

Run: ``python tests/benchmarks/bench_catalog.py``
"""

from __future__ import annotations

import time
from collections.abc import Callable

from printpharm.catalog import load_catalog
from printpharm.core.calibration import fit_calibration


def _per_call_ms(func: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    start = time.perf_counter()
    catalog = load_catalog()
    first_ms = (time.perf_counter() - start) * 1000
    files = len(catalog.files())
    print(f"load_catalog (first, {files} files, incl. imports' warm-up): {first_ms:8.2f} ms")
    print(f"load_catalog (warm):                          {_per_call_ms(load_catalog, 20):8.2f} ms")
    resolve_ms = _per_call_ms(lambda: catalog.resolve("cpm-chewable-disc"), 500)
    print(f"Catalog.resolve(cpm-chewable-disc):            {resolve_ms:8.3f} ms")
    volumes = [100.0 * i for i in range(1, 11)]
    masses = [1.2 * v + (-1) ** i * 0.7 for i, v in enumerate(volumes)]
    fit_ms = _per_call_ms(lambda: fit_calibration(volumes, masses), 2000)
    print(f"fit_calibration (10 points):                   {fit_ms:8.4f} ms")
    fit = fit_calibration(volumes, masses)
    fit.prediction_interval(500.0)
    pi_ms = _per_call_ms(lambda: fit.prediction_interval(500.0), 2000)
    print(f"prediction_interval (mpmath t, warm):          {pi_ms:8.4f} ms")


if __name__ == "__main__":
    main()

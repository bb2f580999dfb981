"""Time the uniformity statistics: ``python tests/benchmarks/bench_uniformity.py``.

Prints the mean wall time per call of 2.9.5 (20 units, both policies) and the
2.9.40 acceptance value (10 and 30 units, CU and MV). Target: well under 10 ms
per call, so a verdict appears instantly after the last weighing.
"""

from __future__ import annotations

import random
import timeit
from decimal import Decimal

from printpharm.core.uniformity import (
    acceptance_value,
    acceptance_value_mass_variation,
    uniformity_of_mass,
)


def main() -> None:
    rnd = random.Random(7)
    masses20 = [Decimal(rnd.randint(19000, 21000)).scaleb(-2) for _ in range(20)]
    contents30 = [Decimal(rnd.randint(900, 1100)).scaleb(-1) for _ in range(30)]
    cases = {
        "2.9.5 strict (20)": lambda: uniformity_of_mass(masses20),
        "2.9.5 gn_rounding (20)": lambda: uniformity_of_mass(masses20, policy="gn_rounding"),
        "2.9.40 CU (10)": lambda: acceptance_value(contents30[:10]),
        "2.9.40 CU (30)": lambda: acceptance_value(contents30),
        "2.9.40 MV (30)": lambda: acceptance_value_mass_variation(masses20 + masses20[:10], 99),
    }
    for name, call in cases.items():
        number = 200
        seconds = min(timeit.repeat(call, number=number, repeat=3)) / number
        print(f"{name:<24} {seconds * 1e3:8.3f} ms per call")


if __name__ == "__main__":
    main()

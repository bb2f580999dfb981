"""The simulated process is as rough as real paste, seeded, and deposits what the calibration says.

Old simulator: unit RSD 0.007 %, a clog for one unit only, ``bias`` applied by the
balance, and a bare density instead of the ink's calibration (unit 1 read +1 %).
"""

from __future__ import annotations

import dataclasses
import statistics

import pytest

from printpharm.devices.sim import (
    BALANCE_OPTIONS,
    PRINTER_OPTIONS,
    BalanceSim,
    BalanceSimConfig,
    Plate,
    PrinterSim,
    PrinterSimConfig,
    build_balance,
    build_printer,
    options_help,
)
from printpharm.errors import InputError

UNIT_MM3 = 200.0


def print_units(sim: PrinterSim, units: int, starts: int = 1) -> list[float]:
    """Print ``units`` units of 200 mm³ (E in mm³), each in ``starts`` beads; mg per unit."""
    masses = []
    per_bead = UNIT_MM3 / starts
    now = 0.0
    sim.feed(b"M83\n")
    for _ in range(units):
        before = sim.plate.deposited_mg
        sim.plate.next_unit()  # the balance's tare numbers the unit
        for b in range(starts):
            for line in (f"G0 X{b} Y0", f"G1 X{b} Y5 E{per_bead:.6f}"):
                sim.feed(f"{line}\n".encode())
                now += 10.0  # every move has long finished: nothing waits for the planner
                sim.step(now)
        masses.append(sim.plate.deposited_mg - before)
    return masses


def rsd_pct(values: list[float]) -> float:
    return 100 * statistics.stdev(values) / statistics.fmean(values)


def test_the_default_paste_varies_like_real_sse_and_filament_like_fdm() -> None:
    paste = print_units(build_printer({"seed": "4"}), 60)
    assert 1.5 < rsd_pct(paste) < 3.0  # published SSE: 1-4 %, the default is a good paste
    filament = print_units(build_printer({"seed": "4", "ink_kind": "fdm_filament"}), 60)
    assert 0.6 < rsd_pct(filament) < 1.4  # FDM drug filaments ~1 %
    again = print_units(build_printer({"seed": "4"}), 60)
    assert again == paste  # seeded: the same seed deposits the same units


def test_process_rsd_0_is_an_ideal_process_with_the_calibrated_mass() -> None:
    options = {"process_rsd": "0", "mass_per_mm3": "1.19", "mass_offset_mg": "-0.5"}
    masses = print_units(build_printer(options), 5)
    assert masses == pytest.approx([1.19 * UNIT_MM3 - 0.5] * 5, abs=1e-9)  # a·V + b per unit


def test_bias_drift_and_clogs_act_on_the_deposit() -> None:
    ideal = {"process_rsd": "0"}
    heavy = print_units(build_printer({**ideal, "bias": "0.03"}), 3)
    assert heavy == pytest.approx([UNIT_MM3 * 1.03] * 3)
    drifting = print_units(build_printer({**ideal, "drift_pct_per_unit": "-1"}), 4)
    assert drifting == pytest.approx([UNIT_MM3 * (1 - 0.01 * k) for k in range(4)])
    clogged = print_units(build_printer({**ideal, "clog_unit": "2", "clog_factor": "0"}), 4)
    assert clogged == pytest.approx([UNIT_MM3, 0.0, 0.0, 0.0])  # a full clog persists


def test_air_bubbles_make_units_light_and_starts_lose_material() -> None:
    bubbly = print_units(build_printer({"process_rsd": "0", "bubble_rate": "1"}), 10)
    assert all(UNIT_MM3 * 0.97 <= m <= UNIT_MM3 * 0.985 for m in bubbly)  # 1.5-3 % each
    lag = {"process_rsd": "0", "start_lag_mm3": "0.5"}
    one_bead = print_units(build_printer(lag), 1, starts=1)[0]
    ten_beads = print_units(build_printer(lag), 1, starts=10)[0]
    assert one_bead == pytest.approx(UNIT_MM3 - 0.5)
    assert ten_beads == pytest.approx(UNIT_MM3 - 10 * 0.5)  # lag ∝ extrusion starts


def test_the_balance_weighs_with_its_own_noise_and_drift_but_no_bias() -> None:
    with pytest.raises(InputError, match="'bias' is unknown; accepted options: "):
        build_balance({"bias": "0.03"})
    plate = Plate()
    plate.deposit(UNIT_MM3, 250.0)
    noisy = BalanceSim(BalanceSimConfig(balance_sd_mg=0.5, drift_mg_per_min=0.0), plate)
    readings = [float(noisy._reading().split()[0]) * 1000 for _ in range(200)]
    assert statistics.fmean(readings) == pytest.approx(12500 + 250, abs=0.2)
    assert 0.4 < statistics.stdev(readings) < 0.6
    drifting = BalanceSim(BalanceSimConfig(balance_sd_mg=0.0, drift_mg_per_min=0.6), plate)
    drifting.step(0.0)
    start = drifting.gross_g()
    drifting.step(600.0)  # ten minutes
    assert (drifting.gross_g() - start) * 1000 == pytest.approx(6.0)


def test_every_config_field_is_an_option_of_the_same_name() -> None:
    def names(config: object) -> set[str]:
        found: set[str] = set()
        for f in dataclasses.fields(config):  # type: ignore[arg-type]
            value = getattr(config, f.name)
            found |= names(value) if dataclasses.is_dataclass(value) else {f.name}
        return found

    assert names(PrinterSimConfig()) <= set(PRINTER_OPTIONS)
    assert names(BalanceSimConfig()) <= set(BALANCE_OPTIONS)
    text = options_help()
    for option in ("process_rsd", "drift_pct_per_unit", "bias", "clog_unit", "clog_factor",
                   "bubble_rate", "balance_sd_mg", "seed"):  # fmt: skip
        assert option in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"wobble": "1"}, "'wobble' is unknown; accepted options: "),
        ({"process_rsd": "lots"}, "process_rsd='lots' is not a valid number"),
        ({"process_rsd": "0.9"}, "process_rsd=0.9: must be in 0.0..0.5"),
        ({"clog_factor": "2"}, "clog_factor=2.0: must be in 0.0..1.0"),
        ({"clog_unit": "0"}, "clog_unit=0: must be >= 1"),
        ({"ink_kind": "jelly"}, "ink_kind='jelly'"),
    ],
)
def test_bad_options_are_refused_with_what_is_accepted(
    options: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        build_printer(options)
    assert message in str(caught.value)

"""The calibration series: volumes over the ink's range, one plate, every disc weighed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.catalog import Catalog
from printpharm.core.calibration import fit_calibration
from printpharm.errors import BalanceUnstable, InputError
from printpharm.services.run.calibration_series import levels_text, plan_series, run_series
from printpharm.services.run.devices import connected_devices, simulator_urls

CPM, PLACEBO, PRINTER = "cyclophosphamide-sse-chewable", "placebo-sse-calibration", "marlin-sse"


def test_the_series_spans_the_inks_range_log_spaced_in_alternating_order(catalog: Catalog) -> None:
    plan = plan_series(catalog, CPM, PRINTER)
    low, high = (float(x) for x in (catalog.ink(CPM).calibration.volume_range.min,
                                    catalog.ink(CPM).calibration.volume_range.max))  # fmt: skip
    levels = plan.levels_mm3
    assert levels[0] == low and levels[-1] == high and len(levels) == 5  # the recipe's 5 levels
    ratios = [b / a for a, b in zip(levels, levels[1:], strict=False)]
    assert ratios == pytest.approx([ratios[0]] * 4)  # evenly spaced on a log scale
    assert len(plan.volumes_mm3) == 10 and len(plan.program.units) == 10
    first, second = plan.volumes_mm3[:5], plan.volumes_mm3[5:]
    assert list(second) == list(reversed(first))  # replicates in the other order
    for level, volume in zip(levels, first, strict=True):  # the G-code's volume, 4 decimals
        assert float(volume) == pytest.approx(level, rel=5e-4) and volume == volume.quantize(
            Decimal("0.0001")
        )
    assert plan.nozzle_c == Decimal(40)  # the ink's own temperature, inside its window
    assert levels_text(plan) == "5 volumes × 2 discs: 50, 103, 212, 437, 900 mm³"


def test_a_range_the_disc_cannot_hold_is_narrowed_and_said(catalog: Catalog) -> None:
    plan = plan_series(catalog, PLACEBO, PRINTER, replicates=1)
    assert plan.levels_mm3[0] == 40 and 1000 < plan.levels_mm3[-1] < 1200
    assert plan.notes[0].startswith("the ink's range 40–1200 mm³ is narrowed to 40–")
    chosen = plan_series(catalog, PLACEBO, PRINTER, volumes_mm3=[300, 100, 600], replicates=3)
    assert chosen.levels_mm3 == (100, 300, 600) and len(chosen.volumes_mm3) == 9
    with pytest.raises(InputError, match="print 1 to 10 discs"):
        plan_series(catalog, PLACEBO, PRINTER, replicates=0)
    with pytest.raises(InputError, match="not a calibration series recipe"):
        plan_series(catalog, PLACEBO, PRINTER, recipe_id="cpm-chewable-disc")


def test_every_disc_is_weighed_and_the_simulator_physics_is_recovered(catalog: Catalog) -> None:
    plan = plan_series(catalog, CPM, PRINTER)
    seen = []
    ideal = {"seed": "4", "bias": "0.03", "process_rsd": "0"}  # a noise-free process
    urls = simulator_urls(plan.printer, plan.ink, ideal)
    with connected_devices(*urls) as devices:
        points = run_series(plan, devices, on_point=seen.append)
    assert list(points) == seen and [p.n for p in points] == list(range(1, 11))
    assert all(p.raw.startswith("S S") for p in points)
    fit = fit_calibration([float(p.volume_mm3) for p in points], [float(p.mass_mg) for p in points])
    # the simulated paste: the ink's 1.19 mg/mm³ × 1.03 (bias on the deposit), its −0.5 mg
    # offset per unit; balance noise 0.02 mg
    assert fit.a_mg_per_mm3 == pytest.approx(1.19 * 1.03, rel=1e-4)
    assert fit.b_mg == pytest.approx(-0.5, abs=0.05) and fit.residual_sd_mg is not None
    assert fit.residual_sd_mg < 0.05


@pytest.mark.parametrize("nth", [5, 6])  # disc 3's S reading, and its SI confirmation
def test_a_garbled_weight_reply_never_enters_the_fit(catalog: Catalog, nth: int) -> None:
    plan = plan_series(catalog, CPM, PRINTER)
    ideal = {"seed": "4", "process_rsd": "0", "balance_garble_weight_reply": str(nth)}
    with connected_devices(*simulator_urls(plan.printer, plan.ink, ideal)) as devices:
        points = run_series(plan, devices)
    fit = fit_calibration([float(p.volume_mm3) for p in points], [float(p.mass_mg) for p in points])
    assert fit.a_mg_per_mm3 == pytest.approx(1.19, rel=1e-4)
    (garbled,) = [p for p in points if p.set_aside]  # kept for the record, not fitted
    assert garbled.n == 3 and "set aside" not in garbled.raw and len(garbled.set_aside) == 1
    assert fit.residual_sd_mg is not None and fit.residual_sd_mg < 0.05


def test_a_failing_balance_stops_the_series_and_makes_the_printer_safe(catalog: Catalog) -> None:
    from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer

    plan = plan_series(catalog, CPM, PRINTER, volumes_mm3=[100, 200], replicates=1)
    plate = Plate()
    printer = build_printer({"e_units": "plunger_mm", "diameter_mm": "14.5"}, plate)
    balance = build_balance({"never_settles": "1", "stable_timeout_s": "1"}, plate)
    with PtyServer(printer, speed=1000.0) as p_port, PtyServer(balance, speed=1000.0) as b_port:
        with connected_devices(p_port.path, b_port.path, balance_timeout_s=5.0) as devices:
            with pytest.raises(BalanceUnstable):
                run_series(plan, devices, connect_timeout_s=20.0)
    assert plate.deposited_mm3 > 0  # it had heated and purged before the first tare
    assert printer.hotend.target_c == 0 and printer.bed.target_c == 0  # heaters off after abort

"""The simulators deposit what the calibration in force predicts: planning and simulation agree.

A site calibration locked for the cyclophosphamide paste is 3 % steeper than the ink
file's (1.19 → 1.2257 mg/mm³). A batch planned with it is printed over pseudo-terminals
on simulators built from the workstation's ``device_urls`` (the path the print page
takes): each unit must weigh its target and the calibration check must find no drift.
Before the simulators followed the calibration in force they deposited the ink file's
1.19 mg/mm³, so every unit came out ~3 % light and the batch was flagged "calibration
drift: recalibrate" although nothing had drifted (the last test reproduces that).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest

from printpharm.catalog import Catalog
from printpharm.core.calibration import fit_calibration
from printpharm.devices.printer import LinkOptions
from printpharm.devices.sim import (
    FAST_PTY_SPEED,
    Plate,
    PtyServer,
    build_balance,
    build_printer,
    parse_sim_url,
)
from printpharm.services.run.calibration import CalibrationInForce
from printpharm.services.run.correction import control_parameters
from printpharm.services.run.devices import connected_devices, simulator_urls
from printpharm.services.run.flow_control import FlowController
from printpharm.services.run.loop import run_batch
from printpharm.services.run.prepare import prepare_run
from printpharm.services.run.request import RunDevices
from printpharm.services.run.result import BatchResult
from printpharm.services.station.batch import PlannedBatch, device_urls
from tests.services._lot_fixtures import INK
from tests.services.conftest import options

PTY_LINK = LinkOptions(ok_timeout_s=3.0, max_probes=1, resend_quiet_s=0.02)
RECIPE = "cpm-chewable-disc"
FILE_A, FILE_B = 1.19, -0.5  # the ink file's calibration
SITE_A = FILE_A * 1.03  # the paste as fitted on site: 3 % heavier per mm³
#: The print page's configured simulators: an ideal process (these tests check physics).
SIM = ("sim://printer?process_rsd=0&seed=4", "sim://balance?seed=4")


@pytest.fixture(scope="module")
def site() -> CalibrationInForce:
    """The locked site calibration: 10 discs of the paste, ±0.2 %, fitted 1/m²-weighted."""
    volumes = [50.0, 50.0, 120.0, 120.0, 300.0, 300.0, 600.0, 600.0, 900.0, 900.0]
    masses = [(SITE_A * v + FILE_B) * (1.002 if i % 2 else 0.998) for i, v in enumerate(volumes)]
    line = fit_calibration(volumes, masses, weighting="relative")
    assert line.a_mg_per_mm3 == pytest.approx(SITE_A, rel=1e-3)
    return CalibrationInForce(line, "site", INK, 3, 1, "marlin-sse", status="locked")


def _planned(catalog: Catalog, calibration: CalibrationInForce) -> PlannedBatch:
    prepared = prepare_run(catalog, RECIPE, Decimal(10), 6, calibration=calibration)
    plan, request = prepared.plan, prepared.request
    # device_urls reads the plan and the request; the screens' views are not needed here
    return PlannedBatch(str(request.batch_id), None, Decimal(10), {}, plan, (), None, request)  # type: ignore[arg-type]


@contextmanager
def _over_ptys(urls: tuple[str, str]) -> Iterator[RunDevices]:
    """The simulators the URLs describe, served over pseudo-terminals on one plate."""
    plate = Plate()
    (_, printer_opts), (_, balance_opts) = parse_sim_url(urls[0]), parse_sim_url(urls[1])
    printer = PtyServer(build_printer(printer_opts, plate), speed=FAST_PTY_SPEED).start()
    balance = PtyServer(build_balance(balance_opts, plate), speed=FAST_PTY_SPEED).start()
    try:
        with connected_devices(printer.path, balance.path, link_options=PTY_LINK) as devices:
            yield devices
    finally:
        printer.stop()
        balance.stop()


def _run(batch: PlannedBatch, urls: tuple[str, str]) -> BatchResult:
    with _over_ptys(urls) as devices:
        result = run_batch(batch.request, devices, options=options(connect_timeout_s=20.0))
    assert result.status == "completed", result.reason
    return result


def test_a_locked_calibration_3_pct_off_the_ink_file_plans_and_weighs_consistently(
    catalog: Catalog, site: CalibrationInForce
) -> None:
    batch = _planned(catalog, site)
    prediction = batch.request.prediction
    assert prediction is not None and prediction.calibration is site
    urls = device_urls(catalog, batch, *SIM)
    assert f"mass_per_mm3={site.line.a_mg_per_mm3!r}" in urls[0]  # the calibration's slope
    result = _run(batch, urls)
    deviations = [float(u.deviation_pct) for u in result.units]
    assert max(abs(d) for d in deviations) < 0.5, deviations  # each unit at its target
    assert abs(sum(deviations) / len(deviations)) < 0.2  # no systematic departure
    check = result.calibration_check
    assert check is not None and check["drift"] is False, check
    assert check["text"].startswith("no calibration drift")
    assert abs(check["mean_departure_mg"]) <= check["limit_mg"]
    assert [a.kind.value for a in result.alarms] == []  # no drift warning, no alarm
    assert [c.applied_pct for c in result.corrections] == []  # nothing to correct


def test_a_paste_given_explicitly_still_overrides_the_calibration(
    catalog: Catalog, site: CalibrationInForce
) -> None:
    """``mass_per_mm3`` as an option models a paste unlike every calibration (benchmarks)."""
    batch = _planned(catalog, site)
    printer_url, _ = device_urls(
        catalog, batch, SIM[0] + f"&mass_per_mm3={FILE_A}&mass_offset_mg={FILE_B}", SIM[1]
    )
    _, opts = parse_sim_url(printer_url)
    assert (opts["mass_per_mm3"], opts["mass_offset_mg"]) == (str(FILE_A), str(FILE_B))


def test_the_ink_files_physics_under_a_site_plan_come_out_3_pct_light_and_drift(
    catalog: Catalog, site: CalibrationInForce
) -> None:
    """What the simulators did before they followed the calibration in force."""
    batch = _planned(catalog, site)
    request = batch.request
    _, balance_url = device_urls(catalog, batch, *SIM)
    printer_url, _ = simulator_urls(
        request.printer_definition, request.ink, {"process_rsd": "0", "seed": "4"},
        plate=parse_sim_url(balance_url)[1]["plate"],
    )  # fmt: skip
    result = _run(batch, (printer_url, balance_url))
    assert float(result.units[0].deviation_pct) == pytest.approx(-100 * (1 - 1 / 1.03), abs=0.3)
    check = result.calibration_check
    assert check is not None and check["drift"] is True and check["mean_departure_mg"] < -2


def test_the_flow_controller_starts_from_the_calibrations_predicted_mass(
    catalog: Catalog, site: CalibrationInForce
) -> None:
    """Unit 1 is judged against the calibration in force: offset 0, nothing to correct.

    The controller works on ln(measured / (target · factor)) from a prior offset of 0
    at factor 1 (flow 100 %, E × 1). The plan sized every unit's volume with the
    calibration in force, so the target *is* that calibration's predicted mass of the
    printed volume (to the slicer's 0.03 %): 100 % means "as the calibration
    predicts", not a bare density. A unit weighing the prediction moves nothing; one
    weighing the ink file's 3 % less is an offset the controller sees.
    """
    batch = _planned(catalog, site)
    request, prediction = batch.request, batch.request.prediction
    assert prediction is not None and request.ink.dried_drug_load is None  # in line = plan
    for unit in request.program.units:
        assert prediction.mass_mg / float(unit.target_mg) == pytest.approx(1, abs=3e-4)
    target = float(request.program.units[0].target_mg)
    on_calibration = FlowController(control_parameters(request)).observe(
        1, target, prediction.mass_mg, 1.0
    )
    assert abs(on_calibration.process_deviation) < 3e-4 and on_calibration.scale == 1.0
    assert not on_calibration.corrected and abs(on_calibration.estimate) < 3e-4
    ink_file_mass = FILE_A * prediction.volume_mm3 + FILE_B  # what the file's density gives
    off = FlowController(control_parameters(request)).observe(1, target, ink_file_mass, 1.0)
    assert off.process_deviation == pytest.approx(FILE_A / SITE_A - 1, abs=1e-3)

"""The flow controller's noise prior: the site calibration's measured scatter, else the ink file's.

Before, the controller always started from the ink file's declared ``unit_rsd``
(2 % for the SSE paste) with 4 pseudo-observations, even when the site had
weighed its own discs and measured a different scatter. Now a calibration fitted
on site gives the prior its σ̂_rel (less the balance's share) with its n − 2
degrees of freedom (capped), and the run records which prior it used and why.
tests/benchmarks/bench_flow_prior.py measures what it changes.
"""

from __future__ import annotations

import dataclasses
import math
import re
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.catalog.schema import Quantity
from printpharm.core.calibration import LinearCalibration, fit_calibration
from printpharm.services.jobs import EventHub
from printpharm.services.run.calibration import CalibrationInForce
from printpharm.services.run.correction import control_parameters, noise_prior
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.devices import simulator_urls
from printpharm.services.run.events import RunStarted
from printpharm.services.run.loop import run_batch
from printpharm.services.run.noise_prior import (
    INK_FILE_PRIOR_DF,
    MAX_CALIBRATION_DF,
    MIN_UNIT_RSD,
    site_unit_rsd,
)
from printpharm.services.run.prepare import prepare_run
from printpharm.services.run.request import RunDevices, RunRequest
from printpharm.storage.repositories import unit_of_work
from tests.services._lot_fixtures import INK
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import make_request, options
from tests.services.test_calibration_physics import _over_ptys as over_ptys
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

RECIPE = "cpm-chewable-disc"
A, B = 1.2, -0.5  # the paste's line (mg/mm³, mg)
VOLUMES = [50.0, 50.0, 120.0, 120.0, 300.0, 300.0, 600.0, 600.0, 900.0, 900.0]


def _discs(scatter: float, volumes: list[float] = VOLUMES) -> list[float]:
    """Disc masses on the line, alternately ``scatter`` heavy and light (a pair per volume)."""
    return [(A * v + B) * (1 + scatter if i % 2 else 1 - scatter) for i, v in enumerate(volumes)]


def _site(line: LinearCalibration, version: int = 3) -> CalibrationInForce:
    return CalibrationInForce(line, "site", INK, version, 1, "marlin-sse", status="locked")


@pytest.fixture(scope="module")
def site() -> CalibrationInForce:
    """A locked site calibration: 10 discs of the paste, ±1 % (half the ink file's 2 %)."""
    return _site(fit_calibration(VOLUMES, _discs(0.01), weighting="relative"))


def _request(catalog: Catalog, calibration: CalibrationInForce | None) -> RunRequest:
    return prepare_run(catalog, RECIPE, Decimal(10), 6, calibration=calibration).request


def _with_balance_sd(request: RunRequest, sd_mg: str) -> RunRequest:
    """The request with a recipe whose in-line balance reads with ``sd_mg`` of noise."""
    recipe = request.recipe
    control = recipe.control.model_copy(
        update={"balance_sd": Quantity(value=Decimal(sd_mg), unit="mg")}
    )
    return dataclasses.replace(request, recipe=recipe.model_copy(update={"control": control}))


# -- where the prior comes from -----------------------------------------------------------


def test_a_site_calibration_gives_the_prior_its_measured_scatter_and_degrees_of_freedom(
    catalog: Catalog, site: CalibrationInForce
) -> None:
    request = _request(catalog, site)
    params = control_parameters(request)
    fitted = site.line.residual_sd_rel
    assert fitted is not None and fitted == pytest.approx(0.01 * math.sqrt(10 / 8), rel=1e-3)
    assert float(request.ink.variability.unit_rsd.value) / 100 == 0.02  # the file says 2 %
    # the balance (0.02 mg on 60–1100 mg discs) takes almost nothing off: ≈ 1.12 %, not 2 %
    assert params.unit_rsd == pytest.approx(fitted, rel=1e-3) and params.unit_rsd < fitted
    assert params.prior_df == site.line.n - 2 == 8
    prior = noise_prior(request)
    assert (prior.source, prior.calibration_df, prior.unit_rsd) == (
        "calibration",
        8,
        params.unit_rsd,
    )


def test_a_calibration_of_many_discs_does_not_freeze_the_estimate(catalog: Catalog) -> None:
    volumes = VOLUMES * 20
    line = fit_calibration(volumes, _discs(0.01, volumes), weighting="relative")
    params = control_parameters(_request(catalog, _site(line)))
    assert line.n - 2 == 198 and params.prior_df == MAX_CALIBRATION_DF
    assert INK_FILE_PRIOR_DF < params.prior_df < line.n - 2


def test_a_calibration_of_few_discs_weighs_only_its_own_degrees_of_freedom(
    catalog: Catalog,
) -> None:
    volumes = [50.0, 300.0, 900.0, 900.0]
    line = fit_calibration(volumes, _discs(0.01, volumes), weighting="relative")
    assert control_parameters(_request(catalog, _site(line))).prior_df == 2


@pytest.mark.parametrize("planned", [True, False], ids=["ink-file-line", "no-prediction"])
def test_without_a_site_calibration_the_ink_files_value_as_before(
    catalog: Catalog, planned: bool
) -> None:
    request = _request(catalog, None) if planned else make_request(catalog)
    if planned:
        assert request.prediction is not None
        assert request.prediction.calibration.source == "ink_file"
    params = control_parameters(request)
    assert params.unit_rsd == float(request.ink.variability.unit_rsd.value) / 100 == 0.02
    assert params.prior_df == INK_FILE_PRIOR_DF == 4.0
    prior = noise_prior(request)
    assert prior.source == "ink_file" and prior.calibration_df is None
    assert prior.text.startswith(f"noise prior 2.00 % from the ink file ({request.ink.id}")


# -- the balance's share of the calibration's scatter --------------------------------------


def test_the_balances_share_comes_off_the_calibrations_scatter(
    catalog: Catalog, site: CalibrationInForce
) -> None:
    """σ̂_rel holds the balance's read noise too; the controller adds the balance itself."""
    request = _with_balance_sd(_request(catalog, site), "0.5")  # a coarse balance, 0.5 mg
    params = control_parameters(request)
    fitted = site.line.residual_sd_rel
    assert fitted is not None
    # the balance's relative variance at the discs' own masses (fitted, 1/m̂² weights)
    predicted = [site.line.mass_for_volume(v) for v in VOLUMES]
    balance_rel2 = 0.5**2 * sum(1 / m**2 for m in predicted) / len(predicted)
    assert params.unit_rsd**2 == pytest.approx(fitted**2 - balance_rel2, rel=1e-3)
    assert params.unit_rsd < 0.95 * fitted  # a visible share, not double-counted
    assert params.balance_sd_mg == 0.5  # the controller still adds the balance per unit
    prior = noise_prior(request)
    assert prior.balance_rsd == pytest.approx(math.sqrt(balance_rel2), rel=1e-3)
    assert "less the balance's" in prior.text


def test_a_balance_that_explains_all_the_scatter_leaves_the_floor_not_zero(
    catalog: Catalog, site: CalibrationInForce
) -> None:
    request = _with_balance_sd(_request(catalog, site), "20")
    params = control_parameters(request)
    assert params.unit_rsd == MIN_UNIT_RSD  # positive: the controller needs σ > 0


def test_an_unweighted_fits_scatter_is_read_at_the_units_mass() -> None:
    """σ̂ in mg (constant noise): the balance's s² comes off, the rest relative to the unit."""
    line = fit_calibration(VOLUMES, [A * v + B + (1.0 if i % 2 else -1.0) for i, v in
                                     enumerate(VOLUMES)])  # fmt: skip
    assert line.residual_sd_mg == pytest.approx(math.sqrt(10 / 8), rel=1e-6)
    found = site_unit_rsd(line, 0.5, 200.0)
    assert found is not None
    fitted, balance, deposit = found
    assert (fitted, balance) == pytest.approx((math.sqrt(10 / 8) / 200, 0.5 / 200))
    assert deposit == pytest.approx(math.sqrt(10 / 8 - 0.25) / 200)


# -- what the run records -------------------------------------------------------------------


def _over_ptys(request: RunRequest) -> AbstractContextManager[RunDevices]:
    """The request's simulators (ideal process) served over pseudo-terminals on one plate."""
    opts = {"process_rsd": "0", "seed": "4"}
    urls = simulator_urls(
        request.printer_definition,
        request.ink,
        opts,
        calibration=request.prediction.calibration,  # type: ignore[union-attr]
    )
    return over_ptys(urls)


def test_the_batch_record_and_the_run_say_which_prior_and_why(
    env: Env, catalog: Catalog, site: CalibrationInForce
) -> None:
    _, session = env.make_user("tech1", "technician")
    request = _request(catalog, site)
    hub, started = EventHub(), []
    hub.subscribe(lambda e: started.append(e) if isinstance(e, RunStarted) else None)
    with _over_ptys(request) as devices:
        result = run_batch(
            request,
            devices,
            hub=hub,
            recorder=DatabaseRecorder(env.auth, session),
            options=options(connect_timeout_s=20.0),
        )
    assert result.status == "completed", result.reason
    recorded: dict[str, Any] = dict(result.recipe["flow_noise_prior"])
    text = recorded["text"]
    assert re.fullmatch(r"noise prior 1\.1\d % from calibration v3 \(n=10, 8 df, weight 8\)", text)
    assert recorded["source"] == "calibration" and recorded["calibration_df"] == 8
    assert recorded["unit_rsd"] == Decimal(repr(noise_prior(request).unit_rsd))
    assert [e.noise_prior for e in started] == [text]
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.batches.get(result.batch_id)
    assert row is not None
    assert row.details["recipe"]["flow_noise_prior"]["text"] == text
    create = next(
        e
        for e in env.events(batch_id=result.batch_id)
        if (e.record_type, e.action) == ("batch", "create")
    )
    assert create.new()["recipe"]["flow_noise_prior"]["text"] == text

"""After a batch: the weighed masses against the calibration's prediction (drift → recalibrate)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from printpharm.catalog import Catalog
from printpharm.core.calibration import fit_calibration
from printpharm.core.calibration_checks import DRIFT_MESSAGE
from printpharm.services.run.calibration import (
    CalibrationInForce,
    MassPrediction,
    calibration_check,
)
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.devices import connected_devices, simulator_urls
from printpharm.services.run.loop import run_batch
from printpharm.services.run.prepare import prepare_run
from printpharm.services.run.recording import BatchRecorder, NullRecorder
from printpharm.services.run.result import BatchResult, UnitRecord
from printpharm.storage.repositories import unit_of_work
from tests.services._lot_fixtures import INK, make_team
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import options
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

VOLUMES = [50.0, 50.0, 150.0, 150.0, 450.0, 450.0, 900.0, 900.0]


@pytest.fixture(scope="module")
def site() -> CalibrationInForce:
    """The simulator's physics (1.20 mg/mm³, no offset) fitted from 8 discs, ±0.05 mg."""
    masses = [1.2 * v + (0.05 if i % 2 else -0.05) for i, v in enumerate(VOLUMES)]
    line = fit_calibration(VOLUMES, masses)
    return CalibrationInForce(line, "site", INK, 7, 1, "marlin-sse", status="locked")


@pytest.fixture
def run(catalog: Catalog) -> Iterator[object]:
    def go(
        calibration: CalibrationInForce | None, recorder: BatchRecorder, **sim: str
    ) -> BatchResult:
        prepared = prepare_run(
            catalog, "cpm-chewable-disc", Decimal(10), 4, calibration=calibration
        )
        request = prepared.request
        paste = {"mass_per_mm3": "1.2", "mass_offset_mg": "0", "process_rsd": "0"}
        urls = simulator_urls(
            request.printer_definition, request.ink, {"seed": "5", **paste, **sim}
        )
        with connected_devices(*urls) as devices:
            return run_batch(request, devices, recorder=recorder, options=options())

    yield go


def test_a_batch_that_weighs_as_predicted_shows_no_drift(site: CalibrationInForce, run) -> None:  # type: ignore[no-untyped-def]
    result = run(site, NullRecorder())
    assert result.status == "completed"
    check = result.calibration_check
    assert check is not None and check["drift"] is False and check["version"] == 7
    assert abs(check["mean_departure_mg"]) <= check["limit_mg"] < Decimal("0.2")
    assert check["text"].startswith("no calibration drift — the 4 unit(s) weighed")
    assert result.recipe["calibration"]["version"] == 7  # the record names the calibration


def test_a_systematic_departure_records_drift_and_audits_it(
    env: Env, catalog: Catalog, site: CalibrationInForce, run
) -> None:  # type: ignore[no-untyped-def]
    team = make_team(env)
    recorder = DatabaseRecorder(env.auth, team["tech1"][1])
    result = run(site, recorder, bias="0.03")  # the paste now weighs 3 % more per mm³
    assert result.status == "completed"  # every unit inside ±7.5 %: only drift tells
    check = result.calibration_check
    assert check is not None and check["drift"] is True
    assert check["mean_departure_mg"] > 3 and check["text"].startswith(DRIFT_MESSAGE)
    (event,) = [e for e in env.events(batch_id=result.batch_id) if e.action == "drift"]
    assert (event.record_type, event.record_id, event.user_id) == ("calibration", "CAL-v7", "tech1")
    assert event.reason == check["text"]
    with unit_of_work(env.db, make_context(), write=False) as uow:
        finish = [e for e in uow.events(batch_id=result.batch_id) if e.action == "finish"][-1]
    assert finish.new()["calibration_check"]["drift"] is True


def test_the_ink_files_calibration_cannot_tell_drift_from_scatter(run) -> None:  # type: ignore[no-untyped-def]
    result = run(None, NullRecorder(), bias="0.03")
    assert result.calibration_check is None
    assert result.recipe["calibration"]["source"] == "ink_file"


def test_units_printed_with_a_corrected_e_factor_are_predicted_at_that_factor(
    site: CalibrationInForce,
) -> None:
    """The flow controller scales E words: a unit printed at ×0.97 is predicted 3 % lighter."""
    volume = 250.0
    prediction = MassPrediction(site, volume, site.line.mass_for_volume(volume), None)

    def unit(n: int, e_scale: str, measured: float) -> UnitRecord:
        return UnitRecord(
            n, Decimal(300), Decimal(repr(round(measured, 4))), None, "pass", Decimal("7.5"),
            Decimal(100), e_scale=Decimal(e_scale),
        )  # fmt: skip

    at_097 = [unit(n, "0.97", 0.97 * 1.2 * volume) for n in range(1, 5)]
    check = calibration_check(prediction, "completed", at_097)
    assert check is not None and check["drift"] is False  # as the calibration predicts at ×0.97
    assert abs(check["mean_departure_mg"]) < Decimal("0.1")
    as_planned = [unit(n, "1", 0.97 * 1.2 * volume) for n in range(1, 5)]
    check = calibration_check(prediction, "completed", as_planned)
    assert check is not None and check["drift"] is True  # 3 % light at the planned volume

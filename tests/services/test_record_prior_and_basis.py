"""The batch record (PDF and CSV) states the flow controller's noise prior and the mass basis.

Before, a run recorded ``recipe.flow_noise_prior`` (which unit-to-unit noise the
flow controller started from, and why) but neither the PDF an inspector reads
offline nor the CSV said so; and the record's calibration line called the ink
file's prediction for an ink that dries "predicted unit mass 233.33 mg" while
every unit was weighed wet in line at 280 mg (the record's ``mass_basis`` knew).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from printpharm.catalog import Catalog
from printpharm.core.calibration import fit_calibration
from printpharm.core.dose_report import dose_record
from printpharm.core.dosing import compute_dose
from printpharm.services.records._batch_csv import calibration_text
from printpharm.services.records.export import build_view
from printpharm.services.records.flow_prior_text import NOISE_PRIOR_NOT_RECORDED, noise_prior_text
from printpharm.services.records.record_view import BatchRecordView
from printpharm.services.records.render import render_record
from printpharm.services.run.calibration import CalibrationInForce
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.loop import run_batch
from printpharm.services.run.noise_prior import calibration_prior
from printpharm.services.run.planning import plan_batch
from printpharm.services.run.prepare import prepare_run
from printpharm.storage.repositories import unit_of_work
from tests.services._lot_fixtures import INK
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import options
from tests.services.test_flow_prior import VOLUMES, _discs, _over_ptys
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def _record(
    env: Env, catalog: Catalog, recipe: str, dose: str, cal: CalibrationInForce | None
) -> BatchRecordView:
    """Print two units on the simulators, recorded; the batch record's view."""
    _, session = env.make_user("tech1", "technician")
    request = prepare_run(catalog, recipe, Decimal(dose), 2, calibration=cal).request
    with _over_ptys(request) as devices:
        result = run_batch(request, devices, recorder=DatabaseRecorder(env.auth, session),
                           options=options(connect_timeout_s=20.0))  # fmt: skip
    assert result.status == "completed", result.reason
    with unit_of_work(env.db, make_context(), write=False) as uow:
        return build_view(uow, result.batch_id, "insp")


def _pdf_text(view: BatchRecordView, tmp_path: Path) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(render_record(view, "pdf"))
    reader = pypdf.PdfReader(str(path))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _csv_rows(view: BatchRecordView) -> dict[str, str]:
    rows = csv.reader(io.StringIO(render_record(view, "csv").decode()))
    return {r[1]: r[2] for r in rows if r[0] == "batch"}


def _without_prior(view: BatchRecordView) -> BatchRecordView:
    """The record as a batch made before runs recorded the prior."""
    details = dict(view.batch.details)
    details["recipe"] = {k: v for k, v in details["recipe"].items() if k != "flow_noise_prior"}
    return dataclasses.replace(view, batch=dataclasses.replace(view.batch, details=details))


def test_the_record_names_a_site_calibrations_noise_prior(
    env: Env, catalog: Catalog, tmp_path: Path
) -> None:
    line = fit_calibration(VOLUMES, _discs(0.01), weighting="relative")
    site = CalibrationInForce(line, "site", INK, 3, 1, "marlin-sse", status="locked")
    view = _record(env, catalog, "cpm-chewable-disc", "10", site)
    stored = view.batch.details["recipe"]["flow_noise_prior"]
    rsd = Decimal(str(stored["unit_rsd"])) * 100
    sentence = (
        rf"noise prior {rsd:.2f} % unit RSD from the site calibration v3 \(n = 10, weight 8\), "
        r"its measured 1\.\d\d % less the balance's share 0\.\d{3} %"
    )
    text = _pdf_text(view, tmp_path)
    assert re.search(r"Flow control " + sentence, text), text
    assert re.fullmatch(sentence, _csv_rows(view)["flow_noise_prior"])


def test_the_record_names_the_ink_files_prior_and_why(
    env: Env, catalog: Catalog, tmp_path: Path
) -> None:
    view = _record(env, catalog, "cpm-chewable-disc", "10", None)
    sentence = (
        f"noise prior 2.00 % unit RSD declared by the ink file {INK} "
        "(weight 4; no calibration fitted on site in force)"
    )
    text = _pdf_text(view, tmp_path)
    assert f"Flow control {sentence}" in text, text[text.find("Flow control") :][:400]
    assert _csv_rows(view)["flow_noise_prior"] == sentence
    older = _without_prior(view)
    assert f"Flow control {NOISE_PRIOR_NOT_RECORDED}" in _pdf_text(older, tmp_path)
    assert _csv_rows(older)["flow_noise_prior"] == NOISE_PRIOR_NOT_RECORDED


@pytest.mark.parametrize(
    ("recipe", "dose", "words"),
    [
        ("sildenafil-caplet", "7", "predicted printlet mass once dried 233.33 mg"),
        ("cpm-chewable-disc", "10", "predicted unit mass 200.00 mg"),
    ],
)
def test_the_calibration_line_names_the_mass_basis_of_an_ink_that_dries(
    env: Env, catalog: Catalog, tmp_path: Path, recipe: str, dose: str, words: str
) -> None:
    view = _record(env, catalog, recipe, dose, None)
    assert view.calibration["mass_basis"] == "weighed printlet"
    assert words in _pdf_text(view, tmp_path)
    assert words in _csv_rows(view)["calibration"]


def test_a_prior_raised_to_its_floor_says_so() -> None:
    line = fit_calibration(VOLUMES, _discs(0.01), weighting="relative")
    site = CalibrationInForce(line, "site", INK, 3, 1, "marlin-sse", status="locked")
    prior = calibration_prior(site, INK, Decimal(2), balance_sd_mg=50.0, unit_mass_mg=200.0)
    recipe = {"flow_noise_prior": prior.record(), "calibration": site.record(), "ink": {"id": INK}}
    text = noise_prior_text(recipe)
    assert text.startswith("noise prior 0.10 % unit RSD from the site calibration v3 (n = 10, ")
    assert text.endswith("(raised to the floor of 0.10 %)"), text


def test_a_site_fit_for_an_ink_that_dries_predicts_the_wet_unit_on_the_record(
    catalog: Catalog,
) -> None:
    ink = catalog.ink(catalog.recipe("sildenafil-caplet").ink)
    a, b = float(ink.calibration.a.value), float(ink.calibration.b.value)
    masses = [(a * v + b) * (1.005 if i % 2 else 0.995) for i, v in enumerate(VOLUMES)]
    line = fit_calibration(VOLUMES, masses, weighting="relative")
    site = CalibrationInForce(line, "site", ink.id, 2, 1, "marlin-sse", status="locked")
    cal = plan_batch(catalog, "sildenafil-caplet", Decimal(7), 1, calibration=site).prediction
    assert cal is not None
    record = cal.record()
    assert "predicted unit mass as dispensed (wet, weighed in line) 280." in calibration_text(
        record, dries=True
    )
    older = {k: v for k, v in record.items() if k != "mass_basis"}  # before mass_basis existed
    assert "predicted unit mass as dispensed" in calibration_text(older, dries=True)
    assert "; predicted unit mass 280." in calibration_text(record, dries=False)


def test_the_bsa_row_shows_the_rounded_bsa_the_dose_was_computed_from(
    env: Env, catalog: Catalog, tmp_path: Path
) -> None:
    """20 mg/m² with the BSA rounded to 2 dp: the dose is 20 × 0.76 = 15.2 → 15 mg, and the
    record's BSA row showed only the unrounded 0.7619 m² (the PDF's explanation had it)."""
    result = compute_dose(
        "per_m2", "20", height_cm="110", weight_kg="19", bsa_round_dp=2, dose_step_mg="0.5"
    )
    assert result.final_dose_mg == Decimal(15)
    _, session = env.make_user("tech1", "technician")
    request = prepare_run(catalog, "cpm-chewable-disc", result.final_dose_mg, 2,
                          dose_record=dose_record(result)).request  # fmt: skip
    with _over_ptys(request) as devices:
        run = run_batch(request, devices, recorder=DatabaseRecorder(env.auth, session),
                        options=options(connect_timeout_s=20.0))  # fmt: skip
    assert run.status == "completed", run.reason
    with unit_of_work(env.db, make_context(), write=False) as uow:
        view = build_view(uow, run.batch_id, "insp")
    text = _pdf_text(view, tmp_path)
    assert "BSA 0.7619 m² (Mosteller), rounded to 2 dp before dosing: 0.76 m²" in text, text

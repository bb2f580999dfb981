"""Content uniformity of a batch: random units, results tied to them, AV, release gate."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from printpharm.core.sampling import select_units
from printpharm.errors import InputError, RecordError, SignatureError, UniformityInputError
from printpharm.services.records.batches import BatchRecordsService
from printpharm.services.records.content_uniformity import (
    CuEntry,
    CuService,
    parse_cu_csv,
)
from printpharm.services.records.export import BatchExportService
from printpharm.services.run.qc import PENDING_CU, with_content_uniformity
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import UnitReading
from printpharm.storage.repositories import unit_of_work
from tests.services._lot_fixtures import Team, make_team
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

AT = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
VECTORS = {
    c["id"]: c
    for c in json.loads(Path("/work/shared/vectors/av_2_9_40_vectors.json").read_text())["cases"]
}
#: 10 mg per 200 mg unit (50 mg/g, 5 % w/w): content uniformity is needed
LOW_DOSE = {"recipe": {"id": "cpm", "form": "tablet", "ink": {"drug_load_mg_per_g": "50"}}}
#: The run's QC as the run records it for such a batch (its ``finish`` event)
RUN_QC = {"verdict": PENDING_CU, "reason": "not a pass: 2.9.40 content uniformity", "tests": []}


@pytest.fixture
def team(env: Env) -> Team:
    return make_team(env)


def _batch(env: Env, units: int, batch_id: str = "B-CU", details: Any = None) -> str:
    with unit_of_work(env.db, make_context()) as uow:
        uow.batches.create(batch_id, Decimal(10), units, "tech1", AT, False, details or LOW_DOSE)
        uow.batches.set_status(batch_id, "printing")
        for n in range(1, units + 1):
            uow.batches.add_unit(
                batch_id, UnitReading(n, Decimal(200), Decimal(200) + n % 3, "mg", AT, True)
            )
        uow.batches.set_status(batch_id, "completed")
        uow.audit.append(AuditEntry("batch", "finish", batch_id, "tech1", "Tess Tech",
                                    new={"qc": RUN_QC}, batch_id=batch_id))  # fmt: skip
        uow.audit.append(  # the library's authorisation: a batch for patient use (issue 13)
            AuditEntry(
                "batch", "authorise", batch_id, batch_id=batch_id,
                new={"patient_use": True, "recipe_version": "cpm@v1", "ink_version": "i1@v1",
                     "dose_mg": "10", "mode": "locked", "problems": []},
            )
        )  # fmt: skip
    return batch_id


def _enter(cu: CuService, team: Team, batch: str, units: tuple[int, ...], values: list[Any]) -> Any:
    entries = [CuEntry(n, Decimal(str(v)), "pct") for n, v in zip(units, values, strict=True)]
    return cu.enter(team["tech1"][1], batch, entries, "HPLC-UV, SOP QC-12", "Ann Analyst")


def test_units_are_chosen_at_random_recorded_and_re_derivable(env: Env, team: Team) -> None:
    batch = _batch(env, 12)
    cu = CuService(env.auth)
    assert cu.status(team["tech1"][1], batch).state == "SELECT"
    sample = cu.select(team["tech1"][1], batch)
    assert sample.stage == 1 and len(sample.units) == 10 and len(sample.seed) == 32
    assert sample.units == select_units(range(1, 13), 10, sample.seed)  # anyone can re-derive
    (event,) = env.events(action="select")
    assert event.new()["units"] == list(sample.units) and event.new()["seed"] == sample.seed
    other = cu.select(team["tech1"][1], _batch(env, 12, "B-CU-2"))
    assert other.seed != sample.seed  # a fresh, unpredictable seed each time
    with pytest.raises(InputError, match="enter the results of the units chosen first"):
        cu.select(team["tech1"][1], batch)


def test_results_for_units_that_were_not_chosen_are_refused(env: Env, team: Team) -> None:
    batch = _batch(env, 12)
    cu = CuService(env.auth)
    _, tech = team["tech1"]
    with pytest.raises(InputError, match="no units were chosen for assay yet"):
        cu.enter(tech, batch, [CuEntry(1, Decimal(100), "pct")], "HPLC")
    sample = cu.select(tech, batch)
    (left_out,) = [n for n in range(1, 13) if n not in sample.units][:1]
    with pytest.raises(InputError, match=rf"unit\(s\) \[{left_out}\] were not chosen"):
        cu.enter(tech, batch, [CuEntry(left_out, Decimal(100), "pct")], "HPLC")
    refused = [e for e in env.events(batch_id=batch) if e.action == "results-refused"]
    assert [e.new()["units"] for e in refused] == [[1], [left_out]]
    assert cu.status(tech, batch).results == ()  # nothing was stored


def test_release_is_refused_until_the_content_uniformity_passed(env: Env, team: Team) -> None:
    batch = _batch(env, 10)
    batches = BatchRecordsService(env.auth, env.records)
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    batches.review(sup2, batch, "sup2", pw2, "record reviewed")
    with pytest.raises(SignatureError, match="needs content uniformity before release"):
        batches.dispose(sup1, batch, "released", "sup1", pw1)
    cu = CuService(env.auth)
    sample = cu.select(team["tech1"][1], batch)
    half = sample.units[:5]
    status = _enter(cu, team, batch, half, [100] * 5)
    assert status.state == "PENDING" and status.missing == sample.units[5:]
    batches.review(sup2, batch, "sup2", pw2, "reviewed again")  # the choice changed the record
    with pytest.raises(SignatureError, match="results missing"):
        batches.dispose(sup1, batch, "released", "sup1", pw1)
    vector = VECTORS["a02_mean_in_window"]
    status = _enter(cu, team, batch, sample.units[5:], vector["stage1_contents_pct"][5:])
    values = [Decimal(100)] * 5 + [Decimal(str(v)) for v in vector["stage1_contents_pct"][5:]]
    assert status.state == "PASS" and status.av is not None
    assert [r.content_pct for r in status.results] == values
    with pytest.raises(SignatureError, match="no valid review"):  # the assays changed the record
        batches.dispose(sup1, batch, "released", "sup1", pw1)
    batches.review(sup2, batch, "sup2", pw2, "record and assays reviewed")
    batches.dispose(sup1, batch, "released", "sup1", pw1, "meets specification")
    view = BatchExportService(env.auth, env.db).view(sup1, batch)
    assert view.cu is not None and view.cu.state == "PASS"
    assert view.qc["verdict"] == "pass" and view.qc["tests"][-1]["result"] == "PASS"


def test_a_failed_content_uniformity_blocks_release(env: Env, team: Team) -> None:
    batch = _batch(env, 10)
    cu = CuService(env.auth)
    sample = cu.select(team["tech1"][1], batch)
    poor = [60, 140, 60, 140, 60, 140, 60, 140, 60, 140]
    assert _enter(cu, team, batch, sample.units, poor).state == "STAGE2_REQUIRED"
    with pytest.raises(InputError, match="stage 2 assays 20 units, but only 0"):
        cu.select(team["tech1"][1], batch)  # 10 units printed: stage 2 is impossible
    batches = BatchRecordsService(env.auth, env.records)
    pw2, sup2 = team["sup2"]
    batches.review(sup2, batch, "sup2", pw2, "reviewed")
    with pytest.raises(SignatureError, match="needs content uniformity"):
        batches.dispose(team["sup1"][1], batch, "released", "sup1", team["sup1"][0])


@pytest.mark.parametrize("case", ["a15_stage2_pass", "a06_usp_faq_stage2_fail"])
def test_stage_two_assays_twenty_more_units_as_the_vectors_say(
    env: Env, team: Team, case: str
) -> None:
    vector = VECTORS[case]
    batch = _batch(env, 32)
    cu = CuService(env.auth)
    first = cu.select(team["tech1"][1], batch)
    status = _enter(cu, team, batch, first.units, vector["stage1_contents_pct"])
    assert status.state == "STAGE2_REQUIRED"
    second = cu.select(team["tech1"][1], batch)
    assert (
        second.stage == 2 and len(second.units) == 20 and not set(second.units) & set(first.units)
    )
    status = _enter(cu, team, batch, second.units, vector["stage2_additional_contents_pct"])
    assert status.av is not None and status.av.final == vector["expected"]["final"]
    expected_av = vector["expected"]["stage2"]["AV_reported_1dp"]
    assert str(status.av.stage2.av_reported_1dp) == expected_av  # type: ignore[union-attr]
    assert status.state == ("PASS" if vector["expected"]["final"] == "PASS_STAGE2" else "FAIL")


def test_contents_in_mg_are_converted_to_label_claim(env: Env, team: Team) -> None:
    batch = _batch(env, 10)
    cu = CuService(env.auth)
    sample = cu.select(team["tech1"][1], batch)
    entries = [CuEntry(n, Decimal("9.87"), "mg") for n in sample.units]
    status = cu.enter(team["tech1"][1], batch, entries, "HPLC")
    assert {(r.content_pct, r.content_mg) for r in status.results} == {
        (Decimal("98.7"), Decimal("9.87"))
    }
    with pytest.raises(RecordError, match="never overwritten"):
        cu.enter(team["tech1"][1], batch, entries[:1], "HPLC")


def test_a_batch_where_mass_variation_applies_needs_no_content_uniformity(
    env: Env, team: Team
) -> None:
    # 100 mg in a 200 mg unit (500 mg/g, 50 % w/w)
    details = {"recipe": {"id": "x", "ink": {"drug_load_mg_per_g": "500"}}}
    with unit_of_work(env.db, make_context()) as uow:
        uow.batches.create("B-MV", Decimal(100), 2, "tech1", AT, False, details)
    cu = CuService(env.auth)
    status = cu.status(team["tech1"][1], "B-MV")
    assert status.state == "NOT_NEEDED" and status.passed and "mass variation allowed" in status.why
    with unit_of_work(env.db, make_context()) as uow:
        uow.batches.set_status("B-MV", "printing")
        uow.batches.set_status("B-MV", "completed")
    with pytest.raises(InputError, match="does not need content uniformity"):
        cu.select(team["tech1"][1], "B-MV")


def test_too_few_units_for_content_uniformity_is_said(env: Env, team: Team) -> None:
    batch = _batch(env, 4)
    with pytest.raises(InputError, match="stage 1 assays 10 units, but only 4"):
        CuService(env.auth).select(team["tech1"][1], batch)


def test_result_files_are_checked() -> None:
    assert parse_cu_csv("unit,content_mg\n3,9.9\n7,10.1\n") == [
        CuEntry(3, Decimal("9.9"), "mg"),
        CuEntry(7, Decimal("10.1"), "mg"),
    ]
    for text, message in (
        ("3,99\n", "must name the columns"),
        ("unit,content_pct\nx,99\n", "is not a unit number"),
        ("unit,content_pct\n3,abc\n", "is not a number >= 0"),
        ("unit,content_pct\n3,99\n3,98\n", r"unit\(s\) \[3\] are given more than once"),
    ):
        with pytest.raises(UniformityInputError, match=message):
            parse_cu_csv(text)


def test_a_pending_verdict_becomes_the_content_uniformity_verdict() -> None:
    run_qc = {"verdict": "pass", "reason": "passed: local", "tests": [{"test": "local"}]}
    pending = with_content_uniformity(run_qc, {"result": "PENDING", "reason": "results missing"})
    assert pending["verdict"] == PENDING_CU
    passed = with_content_uniformity(pending, {"result": "PASS", "reason": "AV 2.8"})
    assert passed["verdict"] == "pass" and [t["test"] for t in passed["tests"]] == [
        "local",
        "2.9.40-cu",
    ]
    failed = with_content_uniformity(run_qc, {"result": "FAIL", "reason": "AV 16.4"})
    assert failed["verdict"] == "fail"
    other = {"verdict": PENDING_CU, "reason": "awaiting CU", "tests": []}
    assert with_content_uniformity(other, {"result": "PASS", "reason": "ok"})["verdict"] == "pass"
    broken = {"verdict": "fail", "reason": "2.9.5 failed", "tests": []}
    assert with_content_uniformity(broken, {"result": "PASS", "reason": "ok"})["verdict"] == "fail"


def test_local_spec_only_stands_until_the_content_uniformity_decides() -> None:
    """Where the site allowed release on the local specification, CU results still decide."""
    local = {"verdict": "local_spec_only", "reason": "released on the local spec", "tests": []}
    waiting = with_content_uniformity(local, {"result": "PENDING", "reason": "results missing"})
    assert waiting["verdict"] == "local_spec_only"
    assert with_content_uniformity(local, {"result": "PASS", "reason": "AV 2.8"})["verdict"] == (
        "pass"
    )
    assert with_content_uniformity(local, {"result": "FAIL", "reason": "AV 16.4"})["verdict"] == (
        "fail"
    )

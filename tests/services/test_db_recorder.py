"""A simulated print run recorded in the database: batch, units, alarms, audit events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import PermissionDenied
from printpharm.services.run.db_recorder import DatabaseRecorder, plain
from printpharm.services.run.loop import run_batch
from printpharm.services.run.recording import BatchRecorder
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import make_request, options
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def test_plain_keeps_exact_values() -> None:
    assert plain({"a": 0.1, "b": (Decimal("1.50"),)}) == {
        "a": Decimal("0.1"),
        "b": [Decimal("1.50")],
    }


def test_a_completed_run_is_a_batch_record_with_its_audit_trail(
    env: Env, catalog: Catalog, sim_devices: Any
) -> None:
    _, session = env.make_user("tech1", "technician", "Tess Tech")
    recorder = DatabaseRecorder(env.auth, session)
    assert isinstance(recorder, BatchRecorder)
    request = make_request(catalog, units=4)
    result = run_batch(request, sim_devices(request, seed=3), recorder=recorder, options=options())
    assert result.status == "completed"
    batch_id = result.batch_id
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.batches.get(batch_id)
        report = uow.verify_chain()
    assert row is not None and report.ok
    assert (row.status, row.version, row.created_by) == ("completed", 5, "tech1")
    assert row.target_dose_mg == request.dose_mg and not row.research_mode
    assert [u.unit_index for u in row.units] == [1, 2, 3, 4]
    for stored, unit in zip(row.units, result.units, strict=True):
        assert stored.raw_reading == unit.measured_mg and stored.reading_unit == "mg"
        assert stored.raw_line == unit.raw_reading and stored.target_mass_mg == unit.target_mg
    actions = [(e.record_type, e.action) for e in env.events(batch_id=batch_id)]
    assert actions[0] == ("batch", "create") and actions[-1] == ("batch", "finish")
    assert actions.count(("unit", "create")) == 4
    assert all(e.user_id == "tech1" for e in env.events(batch_id=batch_id))
    finish = env.events(batch_id=batch_id)[-1].new()
    assert finish["status"] == "completed" and finish["qc"]["verdict"] == result.qc.verdict


def test_each_unit_keeps_its_material_factor_and_the_reason_and_warnings_are_alarms(
    env: Env, catalog: Catalog, sim_devices: Any
) -> None:
    _, session = env.make_user("tech1", "technician")
    request = make_request(catalog, units=12)
    devices = sim_devices(request, drift_pct_per_unit=-0.8)
    result = run_batch(
        request, devices, recorder=DatabaseRecorder(env.auth, session), options=options()
    )
    assert result.corrections and any(a.action == "warn" for a in result.alarms)
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.batches.get(result.batch_id)
        alarms = uow.alarms.unacknowledged()
    assert row is not None
    for stored, unit in zip(row.units, result.units, strict=True):
        assert stored.e_scale == unit.e_scale and stored.flow_correction == Decimal(100)
        assert stored.correction_reason == unit.correction_reason
    assert row.units[-1].e_scale is not None and row.units[-1].e_scale > 1
    warning = next(a for a in alarms if a.kind == "run.drift_warning")
    assert warning.severity == "warn" and "trending" in warning.message
    flows = [e.new() for e in env.events(batch_id=result.batch_id) if e.record_type == "flow"]
    assert [f["reason"] for f in flows] == [c.reason for c in result.corrections]


def test_an_interrupted_run_keeps_what_was_done(
    env: Env, catalog: Catalog, sim_devices: Any
) -> None:
    _, session = env.make_user("tech1", "technician")
    request = make_request(catalog, units=5)
    devices = sim_devices(request, drop_after=45)
    result = run_batch(
        request, devices, recorder=DatabaseRecorder(env.auth, session), options=options()
    )
    assert result.status == "interrupted"
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.batches.get(result.batch_id)
        alarms = uow.alarms.unacknowledged()
    assert row is not None and row.status == "interrupted"
    assert [u.unit_index for u in row.units] == [1, 2]
    assert [(a.kind, a.batch_id) for a in alarms] == [("run.connection_lost", result.batch_id)]


def test_only_roles_that_print_can_record(env: Env) -> None:
    _, session = env.make_user("insp1", "inspector")
    with pytest.raises(PermissionDenied, match="print.run"):
        DatabaseRecorder(env.auth, session)

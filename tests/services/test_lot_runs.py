"""A recorded run binds one released, in-date lot of the ink version printed, with ink enough.

Each refusal (quarantined, rejected, expired, another ink, another ink version, too
little left) stops the run before anything is printed and is audited; a run from a
released lot records each unit's content (mass × the lot's assay), moves the lot to
in use and takes what the batch used from it.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import PreflightError
from printpharm.services.control.library import LibraryService
from printpharm.services.control.lots import LotService
from printpharm.services.control.print_authority import NO_LOT, begin_recorded_run
from printpharm.services.run.ink_capacity import InkRequirement
from printpharm.services.run.loop import run_batch
from printpharm.services.run.lot import InkNeed, ink_required, ink_used
from printpharm.services.run.planning import plan_batch
from printpharm.services.run.request import RunRequest
from printpharm.storage.repositories import unit_of_work
from tests.services._equipment_fixtures import CLEARED
from tests.services._lot_fixtures import INK, Team, entry, lock_items, make_team, released_lot
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import make_request
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

TODAY = date(2026, 3, 29)  # the test clock's day
# 4 units of 200 mg (10 mg at 50 mg/g) at 1.20 g/mL: 0.167 mL each (rounded up to µL), a
# 0.030 mL purge and the syringe's 0.5 mL dead volume; 0.667 + 0.030 + 0.5 = 1.197 mL in all
PLATE = InkRequirement(4, Decimal("0.167"), Decimal("0.030"), Decimal("0.5"), Decimal("1.197"),
                       None, None)  # fmt: skip
NEED = InkNeed(PLATE, Decimal(200), Decimal("1.20"))


@pytest.fixture
def team(env: Env, catalog: Catalog) -> Team:
    people = make_team(env)
    lock_items(env, people, catalog, ("recipe", "cpm-chewable-disc"), ("ink", INK),
               ("ink", "minoxidil-sse"))  # fmt: skip
    return people


def _request(catalog: Catalog, batch_id: str = "B-LOT-1") -> RunRequest:
    return dataclasses.replace(make_request(catalog), batch_id=batch_id, ink_need=NEED)


def _refusal(env: Env, team: Team, catalog: Catalog, lot: str) -> str:
    _, tech = team["tech1"]
    with pytest.raises(PreflightError) as caught:
        begin_recorded_run(env.auth, tech, _request(catalog), lot=lot, clearance=CLEARED)
    (refused,) = [e for e in env.events(batch_id="B-LOT-1") if e.action == "print-refused"]
    assert refused.reason == str(caught.value) and refused.user_id == "tech1"
    return str(caught.value)


def test_a_quarantined_lot_is_refused(env: Env, team: Team, catalog: Catalog) -> None:
    LotService(env.auth, env.records).add(team["tech1"][1], entry())
    message = _refusal(env, team, catalog, "L-2026-001")
    assert "ink_lot: lot L-2026-001 is quarantine: it must be released by a pharmacist" in message


def test_a_rejected_lot_is_refused(env: Env, team: Team, catalog: Catalog) -> None:
    service = released_lot(env, team)
    pw2, sup2 = team["sup2"]
    service.reject(sup2, "L-2026-001", "sup2", pw2, "container leaked")
    assert "lot L-2026-001 is rejected: it may not be used" in _refusal(
        env, team, catalog, "L-2026-001"
    )


def test_an_expired_lot_is_refused_and_marked_expired(
    env: Env, team: Team, catalog: Catalog
) -> None:
    service = released_lot(env, team)
    env.clock.advance(15 * 24 * 3600)  # prepared 28 March, 14 days' stability
    team["tech1"] = (team["tech1"][0], env.auth.login("tech1", team["tech1"][0]))
    message = _refusal(env, team, catalog, "L-2026-001")
    assert "is expired" in message and "past its beyond-use date 2026-04-11" in message
    pw2 = team["sup2"][0]
    assert service.show(env.auth.login("sup2", pw2), "L-2026-001").lot.status == "expired"


def test_a_lot_of_another_ink_is_refused(env: Env, team: Team, catalog: Catalog) -> None:
    released_lot(env, team, "L-MIN-7", ink_id="minoxidil-sse")
    message = _refusal(env, team, catalog, "L-MIN-7")
    assert f"lot L-MIN-7 is of ink minoxidil-sse; this batch prints {INK}" in message


def test_a_lot_of_another_ink_version_is_refused(env: Env, team: Team, catalog: Catalog) -> None:
    _, sup1 = team["sup1"]
    changes = {"storage": "Store at 2–8 °C; 10 days."}
    LibraryService(env.auth, env.records).edit(sup1, "ink", INK, 1, changes, "shorter storage")
    released_lot(env, team, "L-V2", ink_version=2)
    message = _refusal(env, team, catalog, "L-V2")
    assert f"lot L-V2 is of {INK} v2; the ink this batch prints is v1" in message


def test_a_lot_without_enough_ink_left_is_refused(env: Env, team: Team, catalog: Catalog) -> None:
    released_lot(env, team, quantity=Decimal("0.5"))
    message = _refusal(env, team, catalog, "L-2026-001")
    assert "has 0.5 mL left; this batch needs 1.197 mL (4 × 0.167 mL (deposit and primes) + " in (
        message
    )
    assert "0.03 mL purge + 0.5 mL dead volume): the largest batch the lot holds is 0 unit(s)" in (
        message
    )


def test_the_lot_must_hold_the_syringes_dead_volume_too(
    env: Env, team: Team, catalog: Catalog
) -> None:
    # 0.9 mL holds the 4 units and the purge (0.697 mL) but not the 0.5 mL that stays in the
    # syringe: (0.9 - 0.5 - 0.030) / 0.167 = 2.2, so 2 units fit
    released_lot(env, team, quantity=Decimal("0.9"))
    message = _refusal(env, team, catalog, "L-2026-001")
    assert "has 0.9 mL left; this batch needs 1.197 mL" in message
    assert "the largest batch the lot holds is 2 unit(s)" in message
    # a lot kept in grams: 1.2 g at 1.20 g/mL = 1 mL; (1 - 0.530) / 0.167 = 2.8, so 2
    assert NEED.units_fitting(Decimal("1.2"), "g") == 2


def test_the_lot_checks_the_ink_the_plan_computed(catalog: Catalog) -> None:
    """One computation: the lot's need is the plan's ``ink_required_ml`` (dead volume included)."""
    plan = plan_batch(catalog, "cpm-chewable-disc", Decimal(10), 4)
    need = ink_required(plan, catalog.ink(INK))
    assert need.requirement is plan.ink and need.amount("mL") == plan.ink.total_ml
    assert need.record()["dead_volume"] == Decimal("0.5") == plan.ink.dead_volume_ml
    assert need.amount("g") == (plan.ink.total_ml * Decimal("1.20")).quantize(
        Decimal("0.001"), rounding=ROUND_CEILING
    )


def test_a_run_from_a_released_lot_records_contents_and_consumes_the_lot(
    env: Env, team: Team, catalog: Catalog, sim_devices: Any
) -> None:
    service = released_lot(env, team)
    _, tech = team["tech1"]
    request = _request(catalog)
    recorded = begin_recorded_run(env.auth, tech, request, lot="L-2026-001", clearance=CLEARED)
    assert NO_LOT not in recorded.authorisation.problems
    result = run_batch(request, sim_devices(request, seed=3), recorder=recorded.recorder,
                       options=recorded.options(today=TODAY, lines_per_check=5))  # fmt: skip
    assert result.status == "completed"
    for unit in result.units:  # 49.2 ± 0.8 mg/g assayed
        assert unit.measured_mg is not None
        assert unit.content_mg == (unit.measured_mg * Decimal("0.0492")).quantize(Decimal("0.0001"))
        assert unit.content_uncertainty_mg == (unit.measured_mg * Decimal("0.0008")).quantize(
            Decimal("0.0001")
        )
    lot_record = result.recipe["ink"]["lot_record"]
    assert (lot_record["lot"], lot_record["status_at_printing"]) == ("L-2026-001", "released")
    assert lot_record["assay"]["measured"] is True
    masses = [u.measured_mg for u in result.units if u.measured_mg is not None]
    used = ink_used(NEED, masses, True, "mL", Decimal("1.20"))
    lot = service.show(tech, "L-2026-001").lot
    assert lot.status == "in_use" and lot.quantity_remaining == Decimal(20) - used
    actions = [e.action for e in env.events(batch_id=result.batch_id, record_type="ink_lot")]
    assert actions == ["in-use", "consume"]
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.batches.get(result.batch_id)
    assert row is not None and row.details["recipe"]["ink"]["lot"] == "L-2026-001"


def test_the_flow_controller_corrects_a_lot_run_and_each_content_follows_the_weighed_mass(
    env: Env, team: Team, catalog: Catalog, sim_devices: Any
) -> None:
    """A deposit 3 % heavy: the controller scales the last unit; contents stay mass × assay."""
    released_lot(env, team)
    _, tech = team["tech1"]
    request = _request(catalog, "B-LOT-BIAS")
    recorded = begin_recorded_run(env.auth, tech, request, lot="L-2026-001", clearance=CLEARED)
    result = run_batch(request, sim_devices(request, bias=0.03), recorder=recorded.recorder,
                       options=recorded.options(today=TODAY))  # fmt: skip
    assert result.status == "completed" and result.corrections
    first, last = result.units[0], result.units[-1]
    assert first.e_scale == 1 and last.e_scale < 1
    for unit in result.units:
        assert unit.measured_mg is not None
        assert unit.content_mg == (unit.measured_mg * Decimal("0.0492")).quantize(Decimal("0.0001"))
    assert first.content_mg is not None and last.content_mg is not None
    dose = request.dose_mg * Decimal("0.984")  # 49.2 of the 50 mg/g label claim
    assert abs(last.content_mg - dose) < abs(first.content_mg - dose)
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.batches.get(result.batch_id)
    assert row is not None
    assert [u.e_scale for u in row.units] == [u.e_scale for u in result.units]


def test_a_recorded_run_without_a_lot_is_not_for_patient_use(
    env: Env, team: Team, catalog: Catalog
) -> None:
    _, tech = team["tech1"]
    recorded = begin_recorded_run(env.auth, tech, _request(catalog), clearance=CLEARED)
    assert not recorded.authorisation.patient_use and NO_LOT in recorded.authorisation.problems
    assert "example lot from the ink file — training only" in NO_LOT


def test_the_ink_a_run_used_is_the_purge_line_and_the_weighed_units() -> None:
    masses = [Decimal(200), Decimal("201.2")]
    # 401.2 mg + 30 mm³ × 1.20 mg/mm³ = 437.2 mg, rounded up to the next mg
    assert ink_used(NEED, masses, True, "g", Decimal("1.20")) == Decimal("0.438")
    # stopped after two units: the unit in progress counts as planned (200 mg)
    assert ink_used(NEED, masses, False, "g", Decimal("1.20")) == Decimal("0.638")
    # the need adds the dead volume, which stays in the syringe (not taken from the lot)
    assert NEED.amount("mL") == Decimal("1.197") and NEED.amount("g") == Decimal("1.437")

"""A calibration series on real ports passes the equipment gates of a recorded run (issue 14 §1).

The printer and balance are the simulators on pseudo-terminals answering as bench
devices (M115 UUID, MT-SICS I4), so they count as real equipment: unregistered,
unqualified or unchecked, the series is refused before a disc is printed, and the
refusal is audited. A printer that says it is a simulator is exempt, and the
calibration fitted from it is training-only (issue 12 §2).
"""

from __future__ import annotations

from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import PreflightError
from printpharm.services.control.calibration_run import CalibrationRun, SeriesOrder
from printpharm.services.control.equipment import add_equipment, suspend
from tests.services._equipment_fixtures import check_balance, register_and_qualify, sim_pair
from tests.services._lot_fixtures import INK, Team, lock_items, make_team
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template

__all__ = ["clock", "db", "db_spec", "env", "sim_pair", "sqlite_template"]

PRINTER = "marlin-sse"
#: Three levels, one disc each: enough to see the gates and a fit, quick on the simulators.
SMALL = {"volumes_mm3": (100.0, 250.0, 400.0), "replicates": 1}


@pytest.fixture
def team(env: Env, catalog: Catalog) -> Team:
    people = make_team(env)
    lock_items(env, people, catalog, ("ink", INK))
    return people


def _order(ports: tuple[str, str], **changes: Any) -> SeriesOrder:
    values: dict[str, Any] = {"printer_port": ports[0], "balance_port": ports[1], **SMALL}
    values.update(changes)
    return SeriesOrder(INK, PRINTER, **values)


def _measure(env: Env, team: Team, catalog: Catalog, order: SeriesOrder) -> Any:
    runner = CalibrationRun(env.auth, env.records, catalog)
    return runner.measure(team["tech1"][1], order, connect_timeout_s=5.0)


def test_an_unregistered_balance_and_printer_refuse_the_series_before_anything_is_printed(
    env: Env, team: Team, catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    with pytest.raises(PreflightError, match=r"the calibration series is refused: "
                       r"balance_registered: .*not registered"):  # fmt: skip
        _measure(env, team, catalog, _order(pair.ports))
    assert pair.plate.deposited_mm3 == 0.0
    (refused,) = env.events(action="series-refused")
    assert refused.record_type == "calibration" and refused.record_id == f"{INK}@{PRINTER}"
    assert refused.user_id == "tech1" and "balance_registered" in (refused.reason or "")


def test_a_balance_without_todays_check_or_a_suspended_printer_is_refused(
    env: Env, team: Team, catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    register_and_qualify(env, team["sup1"])
    with pytest.raises(PreflightError, match="balance_check: balance BAL-01: no passed routine "
                       "check valid today"):  # fmt: skip
        _measure(env, team, catalog, _order(pair.ports))
    assert pair.plate.deposited_mm3 == 0.0
    assert check_balance(env, team["tech1"][1], pair.balance_port).passed
    suspend(env.auth, team["tech1"][1], "PR-01", "syringe holder cracked")
    with pytest.raises(PreflightError, match="printer_qualified: printer PR-01 .*syringe holder"):
        _measure(env, team, catalog, _order(pair.ports))
    assert pair.plate.deposited_mm3 == 0.0  # refused at M115, before heating and the purge
    reasons = [e.reason or "" for e in env.events(action="series-refused")]
    assert len(reasons) == 2 and "syringe holder cracked" in reasons[-1]


def test_a_printer_that_is_not_the_one_bound_is_refused(
    env: Env, team: Team, catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    register_and_qualify(env, team["sup1"])
    add_equipment(env.auth, env.admin, "printer", "PR-02",  # type: ignore[arg-type]
                  "11111111-2222-4333-8444-555555555555", "Other SSE")  # fmt: skip
    assert check_balance(env, team["tech1"][1], pair.balance_port).passed
    with pytest.raises(PreflightError, match="printer_identity: printer PR-02 is registered with "
                       "UUID 11111111-2222-4333-8444-555555555555, the printer on"):  # fmt: skip
        _measure(env, team, catalog, _order(pair.ports, printer_asset="PR-02"))
    assert pair.plate.deposited_mm3 == 0.0


def test_qualified_equipment_is_recorded_with_the_series_and_it_is_not_training(
    env: Env, team: Team, catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    register_and_qualify(env, team["sup1"])
    assert check_balance(env, team["tech1"][1], pair.balance_port).passed
    measured = _measure(env, team, catalog, _order(pair.ports, printer_asset="PR-01"))
    assert len(measured.points) == 3 and measured.training_only is False
    passed = {c.name for c in measured.checks}
    assert {"balance_registered", "balance_identity", "balance_qualified", "balance_check",
            "minimum_weight", "printer_identity", "printer_qualified", "printer_type",
            "cleaning"} <= passed  # fmt: skip
    assert all(c.passed for c in measured.checks)
    equipment = measured.context["equipment"]
    assert equipment["printer"]["asset_tag"] == "PR-01"
    assert equipment["balance"]["asset_tag"] == "BAL-01"
    assert measured.context["simulated"] is False


def test_a_printer_that_identifies_as_a_simulator_makes_a_training_only_calibration(
    env: Env, team: Team, catalog: Catalog
) -> None:
    from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer
    from printpharm.services.run.devices import ink_physics

    plate = Plate()  # the simulators with their own identity: they say what they are
    physics = {"e_units": "plunger_mm", "diameter_mm": "14.5", **ink_physics(catalog.ink(INK))}
    printer = build_printer(physics, plate)
    balance = build_balance({"model": "printpharm simulated balance"}, plate)
    with PtyServer(printer, speed=1000.0) as p, PtyServer(balance, speed=1000.0) as b:
        # unregistered, on real ports, but simulators: exempt from the register as a
        # recorded run's are, and the calibration fitted from them is training-only
        six = (100.0, 160.0, 250.0, 400.0, 630.0, 900.0)  # the site's minimum of 6 points
        measured = _measure(env, team, catalog, _order((p.path, b.path), volumes_mm3=six))
    assert measured.training_only is True and measured.context["simulated"] is True
    assert {c.name for c in measured.checks} >= {"balance_simulated"}
    record = CalibrationRun(env.auth, env.records, catalog).store(team["tech1"][1], measured)
    assert record.context["simulated"] is True


def test_a_batch_sized_with_a_training_calibration_is_never_released_for_a_patient() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from printpharm.services.records.export import patient_use
    from printpharm.storage.batches import BatchRow

    class Authorised:  # the authorisation recorded before printing said "for patient use"
        action = "authorise"

        @staticmethod
        def new() -> dict[str, Any]:
            return {"patient_use": True, "recipe_version": "r v1", "ink_version": "i v1",
                    "dose_mg": "15", "mode": "locked"}  # fmt: skip

    label = f"calibration v1 (locked, fitted on the built-in simulators: training only): {INK}"
    calibration = {"source": "site", "version": 1, "simulated": True, "label": label}
    row = BatchRow("B-1", Decimal(15), 10, "completed", 1, False, "tech1",
                   datetime(2026, 3, 29, tzinfo=UTC),
                   details={"recipe": {"calibration": calibration}})  # fmt: skip
    use, why = patient_use(row, [Authorised()])  # type: ignore[list-item]
    assert not use and why.startswith(label) and "never sizes a patient's dose" in why
    real = {**calibration, "simulated": False}
    row.details["recipe"]["calibration"] = real
    assert patient_use(row, [Authorised()])[0] is True  # type: ignore[list-item]


def test_a_cytotoxic_calibration_series_soils_the_printer_for_the_cleaning_gate(
    env: Env, team: Team, catalog: Catalog, sim_pair: Any
) -> None:
    """Discs of a cytotoxic paste leave the residue tablets do: the next use needs a cleaning.

    Before, only batches counted, so after calibrating the cyclophosphamide paste the
    next series (or a batch of another API) passed the cleaning gate uncleaned.
    """
    from printpharm.services.control.cleaning import log_cleaning
    from printpharm.services.control.site_settings import change_setting

    pair = sim_pair()
    register_and_qualify(env, team["sup1"])
    tech = team["tech1"][1]
    assert check_balance(env, tech, pair.balance_port).passed
    first = _measure(env, team, catalog, _order(pair.ports, printer_asset="PR-01"))
    (cleaning,) = [c for c in first.checks if c.name == "cleaning"]
    assert cleaning.passed and "nothing printed on it yet" in cleaning.detail
    (use,) = env.events(action="create", record_type="printer_use")
    assert use.record_id == "PR-01" and use.user_id == "tech1"
    assert use.new()["api"] == "cyclophosphamide" and use.new()["cytotoxic"] is True
    deposited = pair.plate.deposited_mm3
    with pytest.raises(PreflightError, match=r"cleaning: printer PR-01 last printed calibration "
                       r"series of cyclophosphamide-sse-chewable \(cyclophosphamide, cytotoxic\) "
                       r"and no cleaning by the site's cytotoxic procedure"):  # fmt: skip
        _measure(env, team, catalog, _order(pair.ports, printer_asset="PR-01"))
    assert pair.plate.deposited_mm3 == deposited  # refused before heating
    change_setting(env.auth, env.admin, "cleaning.cytotoxic_procedure", "SOP-CYTO-2",  # type: ignore[arg-type]
                   "hazardous drugs SOP", "correct-horse-42-battery")  # fmt: skip
    env.clock.advance(60)
    # the cleaning itself knows the last use was cytotoxic: the plain SOP is refused
    with pytest.raises(Exception, match="follows the site's cytotoxic procedure SOP-CYTO-2"):
        log_cleaning(env.auth, tech, "PR-01", "SOP-CLN-1", "nozzle, holder, plate")
    log_cleaning(env.auth, tech, "PR-01", "SOP-CYTO-2", "nozzle, holder, plate",
                 checked_by="sup2", checker_password=team["sup2"][0])  # fmt: skip
    env.clock.advance(60)
    again = _measure(env, team, catalog, _order(pair.ports, printer_asset="PR-01"))
    (cleaning,) = [c for c in again.checks if c.name == "cleaning"]
    assert cleaning.passed and "after calibration series of" in cleaning.detail
    assert "checked by sup2" in cleaning.detail

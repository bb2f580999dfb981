"""Issue 14: a recorded run refuses equipment, people and rooms that are not ready.

The printer and the balance are the simulators served on real pseudo-terminals
(so they count as real devices, identified by M115 UUID and MT-SICS I4), linked
through one plate. Each refusal is a test; the last test runs the whole gate.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import AuthenticationFailed, PermissionDenied, PreflightError
from printpharm.services.control.equipment import (
    add_equipment,
    list_equipment,
    qualify,
    suspend,
)
from printpharm.services.control.print_authority import begin_recorded_run
from printpharm.services.control.site_settings import change_setting
from printpharm.services.run.devices import connected_devices
from printpharm.services.run.loop import run_batch
from tests.services._equipment_fixtures import (
    BALANCE_SERIAL,
    CLEARED,
    PRINTER_FIRMWARE,
    check_balance,
    register_and_qualify,
    sim_pair,
    train_operator,
)
from tests.services._records_fixtures import ADMIN_PW, Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import FAST_LINK, make_request

__all__ = ["clock", "db", "db_spec", "env", "sim_pair", "sqlite_template"]


@pytest.fixture
def team(env: Env) -> dict[str, Any]:
    """A technician (trained on the CPM recipe and the SSE printer) and two pharmacists."""
    people = {}
    for user_id, role in (("tech1", "technician"), ("sup1", "supervisor"), ("sup2", "supervisor")):
        password, session = env.make_user(user_id, role, user_id.title())
        env.enrol(user_id, password, session) if role == "supervisor" else None
        people[user_id] = (password, session)
    train_operator(env, "tech1")
    return people


def _run(
    env: Env, team: dict[str, Any], catalog: Catalog, ports: tuple[str, str], batch: str
) -> Any:
    request = dataclasses.replace(make_request(catalog, units=2), batch_id=batch)
    recorded = begin_recorded_run(env.auth, team["tech1"][1], request, clearance=CLEARED)
    options = recorded.options(lines_per_check=5, connect_timeout_s=5.0)
    with connected_devices(*ports, link_options=FAST_LINK, balance_timeout_s=5.0) as devices:
        return run_batch(request, devices, recorder=recorded.recorder, options=options)


def _next_day(env: Env, team: dict[str, Any], days: int) -> None:
    """Move the clock on and log everybody in again (the sessions timed out)."""
    env.clock.advance(timedelta(days=days).total_seconds())
    env.admin = env.auth.login("admin", ADMIN_PW)
    for user_id, (password, _) in list(team.items()):
        team[user_id] = (password, env.auth.login(user_id, password))


def _ready(env: Env, team: dict[str, Any], pair: Any) -> None:
    register_and_qualify(env, team["sup1"])
    outcome = check_balance(env, team["tech1"][1], pair.balance_port)
    assert outcome.passed, (outcome.repeatability, outcome.accuracy)


def test_an_unqualified_printer_is_refused_before_anything_is_printed(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    _ready(env, team, pair)
    suspend(env.auth, team["tech1"][1], "PR-01", "syringe holder cracked")
    with pytest.raises(PreflightError, match="printer_qualified: printer PR-01 .*taken out of "
                       "service: syringe holder cracked"):  # fmt: skip
        _run(env, team, catalog, pair.ports, "B-susp")
    assert pair.plate.deposited_mm3 == 0.0
    refused = env.events(batch_id="B-susp", action="print-refused")
    assert refused and "syringe holder cracked" in (refused[-1].reason or "")
    add_equipment(
        env.auth, env.admin, "printer", "PR-02", "11111111-2222-4333-8444-555555555555", "Other SSE"
    )  # type: ignore[arg-type]
    (view,) = [
        v for v in list_equipment(env.auth, env.admin, "printer") if v.device.asset_tag == "PR-02"
    ]  # type: ignore[arg-type]
    assert view.status.state == "out of service"
    assert "not qualified: IQ, OQ, PQ not approved" in view.status.text


def test_qualification_is_signed_by_a_pharmacist_never_an_administrator(
    env: Env, team: dict[str, Any]
) -> None:
    add_equipment(env.auth, env.admin, "balance", "BAL-09", "999", "XS205")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied, match="sign.approved"):
        qualify(env.auth, env.records, env.admin, "BAL-09", "IQ",  # type: ignore[arg-type]
                env.clock().date(), "QP-IQ", "correct-horse-42-battery")  # fmt: skip
    password, sup = team["sup1"]
    view = qualify(
        env.auth, env.records, sup, "BAL-09", "IQ", env.clock().date(), "QP-IQ", password
    )
    (iq,) = [e for e in view.events if e.kind == "IQ"]
    assert iq.signature_id is not None and iq.recorded_by == "sup1"
    (sig,) = env.records.signatures(sup, "equipment", "BAL-09")
    assert sig.meaning == "approved" and sig.id == iq.signature_id


def test_an_overdue_calibration_stops_the_run(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    _ready(env, team, pair)
    _next_day(env, team, 366)  # calibrated 2026-03-01, valid 365 days
    check_balance(env, team["tech1"][1], pair.balance_port)  # checked today, but...
    with pytest.raises(PreflightError, match="EXPIRED on 2027-03-01"):
        _run(env, team, catalog, pair.ports, "B-overdue")
    assert pair.plate.deposited_mm3 == 0.0


def test_a_balance_that_is_not_the_one_registered_is_refused(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    _ready(env, team, pair)
    with env.auth.uow() as uow:  # the register says another model for this serial number
        device_id = uow.equipment.by_tag("BAL-01")
        assert device_id is not None
        uow.equipment.update(device_id, model="XS204 DeltaRange")
    with pytest.raises(PreflightError, match="balance_identity: balance BAL-01 .*model "
                       "'XS205 DualRange', registered 'XS204 DeltaRange'"):  # fmt: skip
        _run(env, team, catalog, pair.ports, "B-other")


def test_no_balance_check_today_is_refused(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    register_and_qualify(env, team["sup1"])
    with pytest.raises(PreflightError, match="balance_check: balance BAL-01: no passed routine "
                       "check valid today \\(never checked\\)"):  # fmt: skip
        _run(env, team, catalog, pair.ports, "B-nocheck")
    check_balance(env, team["tech1"][1], pair.balance_port)
    _next_day(env, team, 1)  # a check is valid the day it was made
    with pytest.raises(PreflightError, match="no passed routine check valid today \\(last check "):
        _run(env, team, catalog, pair.ports, "B-stale")
    assert pair.plate.deposited_mm3 == 0.0


def test_a_unit_below_the_balance_minimum_weight_is_refused(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair(balance_sd_mg="0.5")  # s ≈ 0.5 mg: minimum weight ≈ 1 g
    register_and_qualify(env, team["sup1"])
    outcome = check_balance(env, team["tech1"][1], pair.balance_port)
    assert outcome.passed and outcome.record.minimum_weight_mg > 500
    with pytest.raises(PreflightError, match="minimum_weight: lightest unit 200.000 mg is BELOW "
                       "the balance's minimum weight"):  # fmt: skip
        _run(env, team, catalog, pair.ports, "B-light")
    assert pair.plate.deposited_mm3 == 0.0


def test_an_untrained_operator_is_refused(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    request = dataclasses.replace(make_request(catalog, units=2), batch_id="B-untrained")
    _, sup = team["sup1"]  # a pharmacist, not trained on the recipe or printer
    with pytest.raises(PreflightError, match="training_recipe: sup1 has no in-date training "
                       "record for recipe cpm-chewable-disc"):  # fmt: skip
        begin_recorded_run(env.auth, sup, request, clearance=CLEARED)
    assert env.events(batch_id="B-untrained", action="authorise") == []
    assert pair.plate.deposited_mm3 == 0.0


def test_line_clearance_is_needed_and_a_second_person_where_the_site_says(
    env: Env, team: dict[str, Any], catalog: Catalog
) -> None:
    request = dataclasses.replace(make_request(catalog, units=2), batch_id="B-lc")
    tech = team["tech1"][1]
    with pytest.raises(PreflightError, match="line clearance not confirmed: The previous batch"):
        begin_recorded_run(env.auth, tech, request, clearance=None)
    change_setting(env.auth, env.admin, "line_clearance.second_person", "required",  # type: ignore[arg-type]
                   "SOP LC-3", "correct-horse-42-battery")  # fmt: skip
    with pytest.raises(PreflightError, match="needs a second person's check"):
        begin_recorded_run(env.auth, tech, request, clearance=CLEARED)
    checked = dataclasses.replace(CLEARED, checked_by="tech1", checker_password="x")
    with pytest.raises(PermissionDenied, match="cannot also check it"):
        begin_recorded_run(env.auth, tech, request, clearance=checked)
    checked = dataclasses.replace(CLEARED, checked_by="sup2", checker_password=team["sup2"][0])
    recorded = begin_recorded_run(env.auth, tech, request, clearance=checked)
    (check,) = [c for c in recorded.recorded_checks if c.name == "line_clearance"]
    assert "checked by Sup2 (sup2)" in check.detail
    (event,) = env.events(batch_id="B-lc", action="line-clearance")
    assert event.new()["checked_by"] == "sup2" and len(event.new()["items"]) == 4


def test_a_printer_is_cleaned_after_a_cytotoxic_batch_before_the_next(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    from printpharm.services.control.cleaning import log_cleaning

    pair = sim_pair()
    _ready(env, team, pair)
    first = _run(env, team, catalog, pair.ports, "B-1")
    assert first.status == "completed"
    with pytest.raises(
        PreflightError,
        match="cleaning: printer PR-01 last printed batch B-1 "
        "\\(cyclophosphamide, cytotoxic\\) and no cleaning by the site's cytotoxic",
    ):
        _run(env, team, catalog, pair.ports, "B-2")
    tech, (sup_pw, _) = team["tech1"][1], team["sup2"]
    env.clock.advance(60)  # the batch has finished: cleaning starts
    with pytest.raises(Exception, match="declared no cytotoxic cleaning procedure"):
        log_cleaning(env.auth, tech, "PR-01", "SOP-CLN-7", "nozzle, holder, plate",
                     checked_by="sup2", checker_password=sup_pw)  # fmt: skip
    change_setting(env.auth, env.admin, "cleaning.cytotoxic_procedure", "SOP-CYTO-2",  # type: ignore[arg-type]
                   "hazardous drugs SOP", "correct-horse-42-battery")  # fmt: skip
    with pytest.raises(Exception, match="needs a second person's check"):
        log_cleaning(env.auth, tech, "PR-01", "SOP-CYTO-2", "nozzle, holder, plate")
    with pytest.raises(AuthenticationFailed) as wrong:  # the one second-person rule: cut echo
        log_cleaning(env.auth, tech, "PR-01", "SOP-CYTO-2", "nozzle, holder, plate",
                     checked_by=" " + "s" * 100, checker_password=sup_pw)  # fmt: skip
    assert "(100 characters)" in str(wrong.value) and len(str(wrong.value)) < 200
    entry = log_cleaning(env.auth, tech, "PR-01", "SOP-CYTO-2", "nozzle, holder, plate",
                         checked_by="sup2", checker_password=sup_pw)  # fmt: skip
    assert entry.cytotoxic and entry.checked_by == "sup2"
    second = _run(env, team, catalog, pair.ports, "B-2")
    assert second.status == "completed"
    (cleaned,) = [c for c in second.preflight if c["name"] == "cleaning"]
    assert "checked by sup2" in cleaned["detail"] and "after batch B-1" in cleaned["detail"]


def test_a_recorded_batch_keeps_what_the_gates_found(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    _ready(env, team, pair)
    result = _run(env, team, catalog, pair.ports, "B-ok")
    assert result.status == "completed" and len(result.units) == 2
    names = {c["name"]: c for c in result.preflight}
    for name in ("training_recipe", "training_printer", "line_clearance", "balance_registered",
                 "balance_identity", "balance_qualified", "balance_check", "minimum_weight",
                 "printer_identity", "printer_qualified", "printer_type", "cleaning"):  # fmt: skip
        assert names[name]["passed"], name
    with env.auth.uow(write=False) as uow:
        row = uow.batches.get("B-ok")
        assert row is not None
        controls = row.details["controls"]
        assert uow.batches.last_on_printer(uow.equipment.by_tag("PR-01") or 0) == row
    assert controls["equipment"]["printer"]["asset_tag"] == "PR-01"
    assert controls["equipment"]["balance"]["serial_number"] == BALANCE_SERIAL
    assert controls["balance_check"]["weight"]["certificate"] == "CAL-2026-0142"
    assert controls["product"] == {
        "api": "cyclophosphamide",
        "cytotoxic": True,
        "ink": "cyclophosphamide-sse-chewable",
        "lot": "EXAMPLE",
        "stability_days": 14,
        "storage": catalog.recipe("cpm-chewable-disc").storage,
    }
    assert controls["line_clearance"]["confirmed_by"] == "tech1"
    assert [t["kind"] for t in controls["training"]] == ["recipe", "printer"]


def test_a_printer_with_other_firmware_an_unqualified_head_or_type_is_refused(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_pair: Any
) -> None:
    pair = sim_pair()
    _ready(env, team, pair)
    add_equipment(env.auth, env.admin, "print_head", "HEAD-01", "SY-4411", "10 mL syringe head",  # type: ignore[arg-type]
                  mounted_on="PR-01")  # fmt: skip
    with env.auth.uow() as uow:
        device_id = uow.equipment.by_tag("PR-01")
        assert device_id is not None
        uow.equipment.update(device_id, firmware="Marlin 2.1.3", printer_type="marlin-fdm")
    with pytest.raises(PreflightError) as refused:
        _run(env, team, catalog, pair.ports, "B-fw")
    text = str(refused.value)
    assert (
        "printer_identity: printer PR-01 (#00000000-0000-4000-8000-000000000000): firmware "
        f"{PRINTER_FIRMWARE!r}, registered 'Marlin 2.1.3'" in text
    )
    assert (
        "print_head_qualified: print head HEAD-01 on PR-01: out of service: not qualified" in text
    )
    assert "printer_type: printer PR-01 is a marlin-fdm; the recipe needs marlin-sse" in text
    assert pair.plate.deposited_mm3 == 0.0

"""Issue 10, finding 1: a dose that rounding moves outside its tolerance is refused everywhere,
unless a pharmacist signs an override bound to the entry (audited, on the record and banners).

Hydrocortisone FDM, 0.075 mg/kg × 10 kg = 0.75 mg, rounded to the 0.5 mg step → 1 mg (+33 %):
before, the run completed and only the JSON said ``within_rounding_tolerance: false``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.core.dose_report import dose_record
from printpharm.core.dosing import compute_dose
from printpharm.errors import (
    AuthenticationFailed,
    DesignSpaceError,
    InputError,
    PermissionDenied,
    PreflightError,
)
from printpharm.services.control.dose_override import find_override, sign_override
from printpharm.services.control.print_authority import authorise_request, begin_recorded_run
from printpharm.services.records.export import BatchExportService, record_to_csv, record_to_json
from printpharm.services.run.loop import run_batch
from printpharm.services.run.lot import ink_required
from printpharm.services.run.planning import plan_batch
from printpharm.services.run.request import RunRequest
from tests.services._equipment_fixtures import CLEARED, train_operator
from tests.services._lot_fixtures import lock_items, make_team, released_lot
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import make_request, options

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

HC = "hydrocortisone-fdm-tablet"


def _record(amount: str, weight: str = "10") -> dict[str, Any]:
    result = compute_dose("per_kg", amount, weight_kg=weight, dose_step_mg="0.5")
    return {"patient_id": "P-0042", "prescriber": "Dr Ortega", **dose_record(result)}


def _request(catalog: Catalog, record: dict[str, Any], batch_id: str = "B-HC-1") -> RunRequest:
    request = make_request(
        catalog, HC, Decimal(record["final_dose_mg"]), units=2,
        nozzle_c=Decimal(185), bed_c=Decimal(60),
    )  # fmt: skip
    return dataclasses.replace(request, dose_record=record, batch_id=batch_id)


@pytest.fixture
def people(env: Env) -> dict[str, tuple[str, Any]]:
    team = {
        "tech1": env.make_user("tech1", "technician", "Tess Tech"),
        "tech2": env.make_user("tech2", "technician", "Toni Tech"),
        "sup1": env.make_user("sup1", "supervisor", "Sue Super"),
    }
    train_operator(env, "tech1", HC, "marlin-fdm")  # a recorded run needs a trained operator
    return team


def test_the_refused_dose_is_not_printed_until_a_pharmacist_signs(
    env: Env, people: dict[str, tuple[str, Any]], catalog: Catalog, sim_devices: Any
) -> None:
    record = _record("0.075")
    assert record["final_dose_mg"] == Decimal("1.0000")
    request = _request(catalog, record)
    _, tech = people["tech1"]
    refused = authorise_request(env.auth, tech, request)
    assert not refused.allowed and refused.refusal is not None
    assert "gives 1 mg (+33.33 %), outside the ±10 % rounding tolerance" in refused.refusal
    assert "refused without a pharmacist's signed dose override" in refused.refusal
    with pytest.raises(DesignSpaceError, match=r"\+33.33 %"):
        begin_recorded_run(env.auth, tech, request, clearance=CLEARED)
    (event,) = env.events(action="print-refused")
    assert "+33.33 %" in (event.reason or "")

    pw_sup, _ = people["sup1"]
    done = sign_override(env.auth, tech, HC, record, "sup1", pw_sup, "protocol: round up")
    assert (done.pharmacist_id, done.entered_by, done.reason) == (
        "sup1",
        "tech1",
        "protocol: round up",
    )
    (signed,) = env.events(action="dose-override")
    assert (signed.user_id, signed.record_type, signed.reason) == ("sup1", "dose", done.reason)
    assert signed.new()["content_sha256"] == done.content_sha256 == signed.record_id

    allowed = authorise_request(env.auth, tech, request)
    assert allowed.allowed and allowed.dose_override == done
    recorded = begin_recorded_run(env.auth, tech, request, clearance=CLEARED)
    (applied,) = env.events(action="dose-override-applied")
    assert applied.batch_id == "B-HC-1" and applied.new()["pharmacist_id"] == "sup1"
    run_options = recorded.options(today=options().today, lines_per_check=5)
    result = run_batch(
        request, sim_devices(request), recorder=recorded.recorder, options=run_options
    )
    assert result.status == "completed"
    check = next(c for c in result.preflight if c["name"] == "dose_rounding")
    assert check["passed"] and "override signed by Sue Super (sup1): protocol" in check["detail"]

    view = BatchExportService(env.auth, env.db).view(people["sup1"][1], "B-HC-1")
    assert view.dose_override == done
    statement = done.describe()
    assert statement.startswith("DOSE OVERRIDE signed by Sue Super (sup1) at ")
    assert record_to_json(view)["derived"]["dose_override"]["statement"] == statement
    assert statement in record_to_csv(view)


def test_the_override_and_the_ink_lot_are_on_the_same_record(
    env: Env, catalog: Catalog, sim_devices: Any
) -> None:
    """A batch printed under a dose override from a recorded lot: the record shows both."""
    team = make_team(env)
    train_operator(env, "tech1", HC, "marlin-fdm")
    lock_items(env, team, catalog, ("ink", "hydrocortisone-fdm"))
    released_lot(env, team, "L-HC-1", ink_id="hydrocortisone-fdm", quantity=Decimal(250),
                 quantity_unit="g", container="250 g spool")  # fmt: skip
    record = _record("0.075")
    plan = plan_batch(catalog, HC, Decimal(1), 2)
    need = ink_required(plan, catalog.ink("hydrocortisone-fdm"))
    request = dataclasses.replace(_request(catalog, record), ink_need=need)
    (pw1, _), (_, tech) = team["sup1"], team["tech1"]
    done = sign_override(env.auth, tech, HC, record, "sup1", pw1, "protocol: round up")
    recorded = begin_recorded_run(env.auth, tech, request, lot="L-HC-1", clearance=CLEARED)
    assert recorded.authorisation.dose_override == done
    run_options = recorded.options(today=env.clock().date(), lines_per_check=5)
    result = run_batch(
        request, sim_devices(request), recorder=recorded.recorder, options=run_options
    )
    assert result.status == "completed"
    checks = {c["name"]: c for c in result.preflight}
    assert checks["dose_rounding"]["passed"] and checks["ink_lot"]["passed"]
    assert "lot L-HC-1 of hydrocortisone-fdm v1 released" in checks["ink_lot"]["detail"]
    assert request.ink_need is not None  # the spool's grams hold the plan's mL (with dead volume)
    needed = request.ink_need.amount("g")
    assert needed == (request.ink_need.requirement.total_ml * Decimal("1.25")).quantize(
        Decimal("0.001"), rounding=ROUND_CEILING
    )  # 1.25 g/cm³, the filament's density
    assert (
        f"250 g left >= {needed} g needed (units, purge and dead volume)"
        in (checks["ink_lot"]["detail"])
    )
    view = BatchExportService(env.auth, env.db).view(team["sup1"][1], "B-HC-1")
    assert view.dose_override == done and view.lot["lot"] == "L-HC-1"
    rows = {r[1]: r[2] for r in csv.reader(io.StringIO(record_to_csv(view))) if r[0] == "batch"}
    assert rows["dose_override"] == done.describe() and rows["ink_lot"] == "L-HC-1"
    assert rows["ink_lot_label"] == "lot L-HC-1 (released)"
    assert "mg/g (assayed; HPLC-UV, SOP QC-12, Ann Analyst)" in rows["ink_lot_assay"]
    data = record_to_json(view)
    assert data["derived"]["dose_override"]["statement"] == done.describe()
    assert data["batch"]["details"]["recipe"]["ink"]["lot_record"]["lot"] == "L-HC-1"


def test_an_override_is_bound_to_the_entry(
    env: Env, people: dict[str, tuple[str, Any]], catalog: Catalog
) -> None:
    record = _record("0.07")  # 0.7 mg → 0.5 mg, −28.57 %
    assert "gives 0.5 mg (-28.57 %)" in record["rounding_refusal"]
    pw_sup, _ = people["sup1"]
    sign_override(env.auth, people["tech1"][1], HC, record, "sup1", pw_sup, "low dose wanted")
    assert find_override(env.auth, HC, record) is not None
    for changed in (
        {**record, "patient_id": "P-0043"},
        _record("0.07", weight="10.2"),
        {**record, "final_dose_mg": Decimal(1)},
    ):
        assert find_override(env.auth, HC, changed) is None
    assert find_override(env.auth, "cpm-chewable-disc", record) is None


def test_technicians_cannot_override_and_nobody_overrides_their_own_entry(
    env: Env, people: dict[str, tuple[str, Any]]
) -> None:
    record = _record("0.075")
    (pw_tech1, tech1), (pw_tech2, _), (pw_sup, sup1) = (
        people[k] for k in ("tech1", "tech2", "sup1")
    )
    with pytest.raises(PermissionDenied, match="tech2 may not override a dose .*dose.override"):
        sign_override(env.auth, tech1, HC, record, "tech2", pw_tech2, "why")
    with pytest.raises(PermissionDenied, match="cannot also override its dose"):
        sign_override(env.auth, tech1, HC, record, "tech1", pw_tech1, "why")
    with pytest.raises(PermissionDenied, match="cannot also override its dose"):
        sign_override(env.auth, sup1, HC, record, "sup1", pw_sup, "my own entry")
    with pytest.raises(AuthenticationFailed, match="dose override: wrong user ID or password"):
        sign_override(env.auth, tech1, HC, record, "sup1", "not-the-password", "why")
    with pytest.raises(InputError, match="needs a reason"):
        sign_override(env.auth, tech1, HC, record, "sup1", pw_sup, "  ")
    within = _record("0.1")  # 1 mg exactly: nothing to override
    with pytest.raises(InputError, match="nothing to override"):
        sign_override(env.auth, tech1, HC, within, "sup1", pw_sup, "why")
    assert env.events(action="dose-override") == []


def test_a_training_run_refuses_the_dose_in_preflight(catalog: Catalog, sim_devices: Any) -> None:
    request = _request(catalog, _record("0.075"))
    devices = sim_devices(request)
    with pytest.raises(PreflightError, match=r"dose_rounding: .*\+33.33 %.*training run"):
        run_batch(request, devices, options=options())
    forged = {"content_sha256": "0" * 64, "pharmacist_name": "X", "pharmacist_id": "x"}
    with pytest.raises(PreflightError, match="signed for another entry"):
        run_batch(request, devices, options=options(dose_override=forged))


def test_a_dose_exactly_ten_percent_off_needs_no_override(
    catalog: Catalog, sim_devices: Any
) -> None:
    result = compute_dose("fixed", "5", dose_step_mg="4.5")  # 4.5 mg, exactly −10.0 %
    plate = make_request(catalog, HC, Decimal("4.5"), units=1, nozzle_c=Decimal(185),
                         bed_c=Decimal(60))  # fmt: skip
    request = dataclasses.replace(plate, dose_record=dose_record(result))
    outcome = run_batch(request, sim_devices(request), options=options())
    check = next(c for c in outcome.preflight if c["name"] == "dose_rounding")
    assert check["passed"] and outcome.status == "completed"

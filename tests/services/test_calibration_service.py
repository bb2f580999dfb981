"""Calibrations: fitted by a pharmacist, refused with reasons, signed by another, in force."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import CalibrationError, InputError, PermissionDenied, RecordError
from printpharm.services.control.calibration import CalibrationService, FitRequest
from printpharm.services.control.calibration_criteria import criteria_in_force
from printpharm.services.control.site_settings import change_setting
from printpharm.storage.repositories import unit_of_work
from tests.services._lot_fixtures import INK, Team, lock_items, make_team, released_lot
from tests.services._records_fixtures import (
    ADMIN_PW,
    Env,
    clock,
    db,
    db_spec,
    env,
    sqlite_template,
)
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

PRINTER = "marlin-sse"
VOLUMES = (60, 60, 120, 120, 240, 240, 480, 480, 840, 840)
#: 1.19 mg/mm³ − 0.4 mg with ±0.3 mg of scatter: R² ≈ 1, s ≈ 0.3 mg (0.1 % of the mean)
POINTS = tuple(
    (Decimal(v), Decimal(str(round(1.19 * v - 0.4 + (0.3 if i % 2 else -0.3), 2))))
    for i, v in enumerate(VOLUMES)
)


@pytest.fixture
def team(env: Env, catalog: Catalog) -> Team:
    people = make_team(env)
    lock_items(env, people, catalog, ("ink", INK))
    return people


@pytest.fixture
def service(env: Env) -> CalibrationService:
    return CalibrationService(env.auth, env.records)


def _fit(service: CalibrationService, team: Team, **changes: object) -> int:
    values: dict[str, object] = {"ink_id": INK, "printer_type": PRINTER, "points": POINTS}
    values.update(changes)
    return service.fit(team["sup1"][1], FitRequest(**values)).version  # type: ignore[arg-type]


def _sign(service: CalibrationService, team: Team, version: int, who: str = "sup2") -> None:
    password, session = team[who]
    service.validate(session, version, who, password, "OQ series reviewed")
    service.lock(session, version, who, password)


def test_a_fit_is_stored_as_a_draft_of_the_locked_ink_version(
    env: Env, team: Team, service: CalibrationService
) -> None:
    version = _fit(service, team, context={"recipe": "calibration-series"})
    view = service.show(team["insp"][1], version)
    record = view.record
    assert (record.status, record.ink_version, record.fitted_by) == ("draft", 1, "sup1")
    assert record.a_mg_per_mm3 == pytest.approx(Decimal("1.19"), abs=Decimal("0.001"))
    assert view.line.n == 10 and view.line.r2 is not None and view.line.r2 > 0.9999
    assert record.context == {"recipe": "calibration-series"}
    (created,) = [e for e in env.events(record_type="calibration") if e.action == "create"]
    assert created.record_id == f"CAL-v{version}" and created.user_id == "sup1"
    assert created.new()["criteria"]["min_points"] == 6
    with pytest.raises(PermissionDenied, match="calibration.run"):
        service.fit(team["insp"][1], FitRequest(INK, PRINTER, POINTS))
    assert service.fit(team["tech1"][1], FitRequest(INK, PRINTER, POINTS)).fitted_by == "tech1"


def test_a_fit_failing_the_criteria_is_refused_with_every_reason_and_audited(
    env: Env, team: Team, service: CalibrationService
) -> None:
    scattered = tuple((v, m + (Decimal(25) if i % 2 else Decimal(-25))) for i, (v, m) in
                      enumerate(POINTS[:4]))  # fmt: skip
    # the OLS figures (the weighted fit's refusal: test_calibration_weighting.py)
    with pytest.raises(CalibrationError) as caught:
        _fit(service, team, points=scattered, weighting="unweighted")
    text = str(caught.value)
    assert text.startswith(f"calibration fit of {INK}@{PRINTER} refused: 4 points; the site")
    assert "R² 0.665676 is below the minimum 0.995" in text and "residual SD" in text
    assert "the volumes span 2.00× (60.0–120.0 mm³)" in text
    (refused,) = [e for e in env.events(record_type="calibration") if e.action == "fit-refused"]
    assert refused.reason is not None and "4 points" in refused.reason
    assert len(refused.new()["points"]) == 4
    assert service.list(team["insp"][1]) == []  # nothing stored
    change_setting(env.auth, env.admin, "calibration.min_points", "4", "small OQ series", ADMIN_PW)
    change_setting(
        env.auth, env.admin, "calibration.min_volume_ratio", "2", "narrow range", ADMIN_PW
    )
    with pytest.raises(CalibrationError) as again:
        _fit(service, team, points=scattered, weighting="unweighted")
    assert str(again.value).split("refused: ")[1].startswith("R² 0.665676 is below")
    assert "span" not in str(again.value) and "residual SD" in str(again.value)
    with pytest.raises(CalibrationError, match="at least 3 prints"):
        _fit(service, team, points=POINTS[:2])


def test_the_decimal_criteria_are_changed_as_every_site_setting_is(env: Env) -> None:
    """Through change_setting: limits, exact text, the same value refused, audited, in force."""
    key = "calibration.min_r2"
    with pytest.raises(InputError, match=r"must be a number from 0.9 to 1$"):
        change_setting(env.auth, env.admin, key, "0.85", "looser", ADMIN_PW)
    with pytest.raises(InputError, match="must be a number from 0.9 to 1"):
        change_setting(env.auth, env.admin, key, "1e-3", "looser", ADMIN_PW)
    stored = change_setting(env.auth, env.admin, key, " 0.9980 ", "tighter OQ", ADMIN_PW)
    assert stored.value == "0.998"  # exact text, never a float
    with pytest.raises(InputError, match=r"calibration.min_r2 is already 0.998; nothing"):
        change_setting(env.auth, env.admin, key, "0.998", "again", ADMIN_PW)
    (event,) = [e for e in env.events(record_type="setting") if e.record_id == key]
    assert (event.action, event.reason, event.new()) == ("create", "tighter OQ", "0.998")
    with unit_of_work(env.db, make_context(), write=False) as uow:
        assert criteria_in_force(uow).min_r2 == Decimal("0.998")


def test_two_pharmacists_validate_and_lock_never_the_one_who_fitted(
    env: Env, team: Team, service: CalibrationService
) -> None:
    version = _fit(service, team)
    pw1, sup1 = team["sup1"]
    with pytest.raises(PermissionDenied, match="segregation of duties"):
        service.validate(sup1, version, "sup1", pw1)
    pw2, sup2 = team["sup2"]
    with pytest.raises(RecordError, match="only a validated calibration can be locked"):
        service.lock(sup2, version, "sup2", pw2)
    assert service.in_force(INK, 1, PRINTER) is None  # a draft is never in force
    _sign(service, team, version)
    in_force = service.in_force(INK, 1, PRINTER)
    assert in_force is not None and in_force.version == version and in_force.fitted
    assert in_force.label == f"calibration v{version} (locked): {INK} v1 on {PRINTER}"
    view = service.show(sup1, version)
    assert [s.meaning for s in view.signatures] == ["approved", "approved"]
    assert (view.record.validated_by, view.record.locked_by) == ("sup2", "sup2")
    newer = _fit(service, team)
    _sign(service, team, newer)
    assert service.show(sup1, version).record.status == "retired"  # superseded
    assert service.in_force(INK, 1, PRINTER).version == newer  # type: ignore[union-attr]
    actions = [e.action for e in env.events(record_type="calibration")]
    assert actions.count("retire") == 1 and actions.count("lock") == 2
    service.retire(sup2, newer, "syringe type changed")
    assert service.in_force(INK, 1, PRINTER) is None
    with pytest.raises(InputError, match="reason is required"):
        service.retire(sup2, version, " ")


def test_the_most_specific_lock_is_in_force(
    env: Env, team: Team, service: CalibrationService
) -> None:
    released_lot(env, team, "L-1")
    generic = _fit(service, team)
    for_lot = _fit(service, team, lot_number="L-1")
    for version in (generic, for_lot):
        _sign(service, team, version)
    assert service.in_force(INK, 1, PRINTER).version == generic  # type: ignore[union-attr]
    assert service.in_force(INK, 1, PRINTER, lot_number="L-1").version == for_lot  # type: ignore[union-attr]
    assert service.in_force(INK, 1, PRINTER, lot_number="L-2").version == generic  # type: ignore[union-attr]
    assert (
        service.in_force(INK, 2, PRINTER) is None and service.in_force(INK, None, PRINTER) is None
    )
    assert service.in_force(INK, 1, "marlin-fdm") is None


def test_a_lot_must_be_a_released_lot_of_the_ink_version(
    env: Env, team: Team, service: CalibrationService
) -> None:
    from printpharm.services.control.lots import LotService
    from tests.services._lot_fixtures import entry

    LotService(env.auth, env.records).add(team["tech1"][1], entry("Q-1"))
    with pytest.raises(RecordError, match="Q-1 is quarantine: only a released lot"):
        _fit(service, team, lot_number="Q-1")
    with pytest.raises(RecordError, match="is not recorded"):
        _fit(service, team, lot_number="NOPE")
    with pytest.raises(RecordError, match="v3 does not exist in the library"):
        _fit(service, team, ink_version=3)
    with pytest.raises(RecordError, match="not in the equipment register"):
        _fit(service, team, printer_asset="PR-77")


def test_a_calibration_bound_to_one_printer_applies_only_to_it(
    env: Env, team: Team, service: CalibrationService
) -> None:
    from printpharm.services.control.equipment import add_equipment

    assert env.admin is not None
    add_equipment(env.auth, env.admin, "printer", "PR-01", "SN-1", "SSE", printer_type=PRINTER)
    add_equipment(env.auth, env.admin, "printer", "FDM-1", "SN-2", "FDM", printer_type="marlin-fdm")
    with pytest.raises(RecordError, match="FDM-1 is a marlin-fdm, not a marlin-sse"):
        _fit(service, team, printer_asset="FDM-1")
    version = _fit(service, team, printer_asset="PR-01")
    _sign(service, team, version)
    assert service.in_force(INK, 1, PRINTER, printer_asset="PR-01").version == version  # type: ignore[union-attr]
    for other in (None, "PR-02"):
        with pytest.raises(InputError, match="bound to the printers PR-01: name the printer"):
            service.in_force(INK, 1, PRINTER, printer_asset=other)

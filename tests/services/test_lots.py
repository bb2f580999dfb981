"""Ink lots: recorded in quarantine, assayed, released by a pharmacist (never the preparer)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from printpharm.catalog import Catalog
from printpharm.core.ink_lots import BulkAssay
from printpharm.errors import AuthenticationFailed, InputError, PermissionDenied, RecordError
from printpharm.services.control.lots import LotService
from tests.services._lot_fixtures import ASSAY, INK, Team, entry, lock_items, make_team
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


@pytest.fixture
def team(env: Env) -> Team:
    return make_team(env)


@pytest.fixture
def lots(env: Env, team: Team, catalog: Catalog) -> LotService:
    lock_items(env, team, catalog, ("ink", INK))
    return LotService(env.auth, env.records)


def test_a_lot_is_recorded_in_quarantine_for_the_locked_ink_version(
    env: Env, team: Team, lots: LotService
) -> None:
    _, tech = team["tech1"]
    lot = lots.add(tech, entry())
    assert (lot.status, lot.ink_id, lot.ink_version) == ("quarantine", INK, 1)
    assert lot.prepared_by == "tech1" and lot.recorded_by == "tech1"
    assert lot.beyond_use_date == date(2026, 3, 28) + timedelta(days=14)  # the ink's stability
    assert lot.quantity_remaining == lot.quantity == Decimal(20) and lot.quantity_unit == "mL"
    (created,) = [e for e in env.events(record_type="ink_lot") if e.action == "create"]
    assert created.user_id == "tech1" and created.new()["stability_days"] == 14
    with pytest.raises(RecordError, match="never reused"):
        lots.add(tech, entry())


def test_the_site_may_shorten_the_beyond_use_date_but_never_lengthen_it(
    team: Team, lots: LotService
) -> None:
    _, tech = team["tech1"]
    shorter = lots.add(tech, entry("L-SHORT", beyond_use_date=date(2026, 4, 4)))
    assert shorter.beyond_use_date == date(2026, 4, 4)
    with pytest.raises(InputError, match="may shorten it, never lengthen it"):
        lots.add(tech, entry("L-LONG", beyond_use_date=date(2026, 4, 12)))
    with pytest.raises(InputError, match="has passed"):
        lots.add(tech, entry("L-OLD", prepared_on=date(2026, 3, 1)))


def test_bad_entries_are_named(team: Team, lots: LotService) -> None:
    _, tech = team["tech1"]
    with pytest.raises(InputError) as caught:
        lots.add(tech, entry(quantity=Decimal(0), quantity_unit="L", container=" "))
    message = str(caught.value)
    assert "quantity 0 must be positive" in message and "'L' is not mL or g" in message
    assert "container" in message
    with pytest.raises(RecordError, match="no locked version"):
        lots.add(tech, entry("L-HC", ink_id="hydrocortisone-fdm"))
    with pytest.raises(InputError, match="not an active user"):
        lots.add(tech, entry("L-X", prepared_by="nobody"))


def test_who_may_add_release_and_read(team: Team, lots: LotService) -> None:
    _, insp = team["insp"]
    with pytest.raises(PermissionDenied, match="lots.add"):
        lots.add(insp, entry())
    lots.add(team["tech1"][1], entry())
    assert [v.lot.lot_number for v in lots.list(insp)] == ["L-2026-001"]  # read-only
    pw_t, tech = team["tech1"]
    with pytest.raises(PermissionDenied, match="lots.release"):
        lots.release(tech, "L-2026-001", "tech1", pw_t)


def test_release_needs_an_assay_and_a_pharmacist_who_did_not_prepare_it(
    env: Env, team: Team, lots: LotService
) -> None:
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    lots.add(sup1, entry(assay=None))  # sup1 prepared it
    with pytest.raises(RecordError, match="no bulk assay"):
        lots.release(sup2, "L-2026-001", "sup2", pw2)
    lots.record_assay(sup1, "L-2026-001", ASSAY, Decimal("1.21"))
    with pytest.raises(PermissionDenied, match="segregation of duties"):
        lots.release(sup1, "L-2026-001", "sup1", pw1)
    assert lots.show(sup1, "L-2026-001").lot.status == "quarantine"
    signature = lots.release(sup2, "L-2026-001", "sup2", pw2, "assay 98.4 % of label claim")
    view = lots.show(sup2, "L-2026-001")
    assert view.lot.status == "released" and view.lot.density_g_per_ml == Decimal("1.21")
    assert [s.meaning for s in view.signatures] == ["released"] == [signature.meaning]
    actions = [e.action for e in env.events(record_type="ink_lot")]
    assert actions == ["create", "assay", "signature-refused", "sign", "release"]
    with pytest.raises(RecordError, match="only a lot in quarantine"):
        lots.release(sup2, "L-2026-001", "sup2", pw2)
    with pytest.raises(RecordError, match="only be recorded in quarantine"):
        lots.record_assay(sup1, "L-2026-001", ASSAY)


def test_reject_needs_a_reason_and_a_signature(env: Env, team: Team, lots: LotService) -> None:
    pw2, sup2 = team["sup2"]
    lots.add(team["tech1"][1], entry())
    with pytest.raises(InputError, match="reason"):
        lots.reject(sup2, "L-2026-001", "sup2", pw2, " ")
    with pytest.raises(AuthenticationFailed):
        lots.reject(sup2, "L-2026-001", "sup2", pw2 + "x", "visible phase separation")
    assert lots.show(sup2, "L-2026-001").lot.status == "quarantine"
    lots.reject(sup2, "L-2026-001", "sup2", pw2, "visible phase separation")
    lot = lots.show(sup2, "L-2026-001").lot
    assert (lot.status, lot.status_reason) == ("rejected", "visible phase separation")


def test_a_lot_past_its_beyond_use_date_shows_expired_and_cannot_be_released(
    env: Env, team: Team, lots: LotService
) -> None:
    pw2, sup2 = team["sup2"]
    lots.add(team["tech1"][1], entry())
    env.clock.advance(16 * 24 * 3600)  # the 14-day stability runs out
    sup2 = env.auth.login("sup2", pw2)
    assert lots.list(sup2)[0].status_today == "expired"
    assert lots.list(sup2, status="expired")[0].lot.status == "quarantine"  # not yet written
    with pytest.raises(RecordError, match="past its beyond-use date"):
        lots.release(sup2, "L-2026-001", "sup2", pw2)
    assert lots.show(sup2, "L-2026-001").lot.status == "expired"
    (expired,) = [e for e in env.events(record_type="ink_lot") if e.action == "expire"]
    assert expired.new() == {"status": "expired"}


def test_an_assay_outside_plausible_limits_is_refused() -> None:
    with pytest.raises(InputError, match="outside 50–150 %"):
        BulkAssay("pct_label_claim", Decimal(160), "HPLC")
    with pytest.raises(InputError, match="analytical method"):
        BulkAssay("mg_per_g", Decimal(50), " ")

"""Issue 13's separation of duties on the records of issues 12 and 14 (both back-ends).

An administrator signs no lot release and approves no equipment qualification, as for
batches: not with their own account, not with a supervisor account they created, and
not as a pharmacist whose password they reset — until a second administrator has
verified that person's identity again.
"""

from __future__ import annotations

from datetime import date

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import PermissionDenied, SignatureError
from printpharm.services.control.equipment import (
    add_equipment,
    find_device,
    qualify,
    view_device,
)
from printpharm.services.control.lots import LotService
from tests.services._lot_fixtures import INK, Team, entry, lock_items, make_team
from tests.services._records_fixtures import (
    ADMIN_PW,
    Env,
    clock,
    db,
    db_spec,
    env,
    pw,
    sqlite_template,
)

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

LOT = "L-DUTY-1"
ON = date(2026, 3, 20)


@pytest.fixture
def team(env: Env) -> Team:
    return make_team(env)


@pytest.fixture
def lots(env: Env, team: Team, catalog: Catalog) -> LotService:
    """The CPM ink locked, a lot in quarantine (tech1), a balance in the register."""
    lock_items(env, team, catalog, ("ink", INK))
    service = LotService(env.auth, env.records)
    service.add(team["tech1"][1], entry(LOT))
    assert env.admin is not None
    add_equipment(env.auth, env.admin, "balance", "BAL-01", "1126493049", "XS205 DualRange")
    return service


def _status(env: Env, lots: LotService, team: Team) -> str:
    return lots.show(team["sup2"][1], LOT).lot.status


def _stages(env: Env) -> list[str]:
    """The balance's signed records (its qualification stages), oldest first."""
    with env.auth.uow(write=False) as uow:
        return [e.kind for e in view_device(uow, find_device(uow, "BAL-01")).events]


def _release(lots: LotService, who: tuple[str, object], user_id: str) -> None:
    password, session = who
    lots.release(session, LOT, user_id, password, "assay within specification")  # type: ignore[arg-type]


def _qualify(env: Env, who: tuple[str, object], stage: str = "IQ") -> None:
    password, session = who
    qualify(env.auth, env.records, session, "BAL-01", stage, ON, f"QP-{stage}-01", password)  # type: ignore[arg-type]


def test_an_administrator_neither_releases_a_lot_nor_approves_a_qualification(
    env: Env, team: Team, lots: LotService
) -> None:
    admin = (ADMIN_PW, env.admin)
    with pytest.raises(PermissionDenied):
        _release(lots, admin, "admin")
    with pytest.raises(PermissionDenied, match="administrator may not sign"):
        _qualify(env, admin)
    assert _status(env, lots, team) == "quarantine" and _stages(env) == []
    _release(lots, team["sup1"], "sup1")  # a pharmacist may
    _qualify(env, team["sup1"])
    assert _status(env, lots, team) == "released" and _stages(env) == ["IQ"]


def test_a_pharmacist_account_an_administrator_made_cannot_sign_on_their_word_alone(
    env: Env, team: Team, lots: LotService
) -> None:
    """The red team's path, on lots and equipment: make a supervisor, verify it, sign."""
    assert env.admin is not None
    password, fake = env.make_user("sup.x", "supervisor", "Not A Person")
    with pytest.raises(PermissionDenied, match="created the account of sup.x"):
        env.accounts.verify_identity(env.admin, "sup.x", "I saw them")
    env.accounts.acknowledge_signature(fake, password)
    with pytest.raises(SignatureError, match="not enrolled"):
        _release(lots, (password, fake), "sup.x")
    with pytest.raises(SignatureError, match="not enrolled"):
        _qualify(env, (password, fake))
    assert _status(env, lots, team) == "quarantine" and _stages(env) == []


def test_a_password_reset_by_an_administrator_stops_lot_and_qualification_signatures(
    env: Env, team: Team, lots: LotService
) -> None:
    """The administrator who resets a pharmacist's password cannot then sign as them."""
    assert env.admin is not None
    temporary = env.accounts.reset_password(env.admin, "sup1", "forgot it")
    session = env.auth.login("sup1", temporary)
    new_password = pw("sup1") + "-2"
    env.accounts.change_password(session, temporary, new_password)
    sup1 = (new_password, session)
    with pytest.raises(SignatureError, match="not enrolled"):
        _release(lots, sup1, "sup1")
    with pytest.raises(SignatureError, match="not enrolled"):
        _qualify(env, sup1)
    with pytest.raises(PermissionDenied):  # nor may the resetting administrator re-verify
        env.accounts.verify_identity(env.admin, "sup1", "seen")
    assert _status(env, lots, team) == "quarantine" and _stages(env) == []
    env.enrol("sup1", new_password, session)  # a second administrator checks the person
    _release(lots, sup1, "sup1")
    _qualify(env, sup1)
    assert _status(env, lots, team) == "released" and _stages(env) == ["IQ"]

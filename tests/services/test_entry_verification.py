"""OPS-01/OPS-03: a batch is for patient use only after a second person verified its entry."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import AuthenticationFailed, PermissionDenied
from printpharm.services.control.entry_verification import (
    NOT_VERIFIED,
    entry_verifier,
    verify_entry,
)
from printpharm.services.control.library import LibraryService
from printpharm.services.control.lots import LotService
from printpharm.services.control.print_authority import (
    NO_LOT,
    authorise_request,
    begin_recorded_run,
    bind_lot,
)
from tests.services._equipment_fixtures import CLEARED, train_operator
from tests.services._lot_fixtures import entry
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import make_request
from tests.services.test_library import INK, RECIPE, Team, _lock, lib, team

__all__ = ["clock", "db", "db_spec", "env", "lib", "sqlite_template", "team"]


def _locked_library(env: Env, lib: LibraryService, team: Team, catalog: Catalog) -> None:
    lib.import_catalog(team["sup1"][1], catalog)
    _lock(lib, team, "recipe", RECIPE, 1)
    _lock(lib, team, "ink", INK, 1)


def test_the_second_person_check_decides_patient_use(
    env: Env, lib: LibraryService, team: Team, catalog: Catalog
) -> None:
    _locked_library(env, lib, team, catalog)
    request = dataclasses.replace(make_request(catalog, dose_mg=Decimal(10)), batch_id="B-1")
    _, tech = team["tech1"]
    lots = LotService(env.auth, env.records)
    lots.add(tech, entry())
    lots.release(team["sup2"][1], "L-2026-001", "sup2", team["sup2"][0])
    lot = bind_lot(env.auth, tech, request, "L-2026-001")
    assert lot.check.passed
    unbound = authorise_request(env.auth, tech, request)
    assert unbound.problems == (NOT_VERIFIED, NO_LOT) and not unbound.patient_use
    before = authorise_request(env.auth, tech, request, lot)
    assert before.allowed and not before.patient_use and before.problems == (NOT_VERIFIED,)
    assert before.decision is not None and not before.decision.patient_use

    pw1, _ = team["sup1"]
    done = verify_entry(env.auth, tech, request, "sup1", pw1)
    assert (done.verifier_id, done.entered_by) == ("sup1", "tech1")
    after = authorise_request(env.auth, tech, request, lot)
    assert after.patient_use and after.problems == ()
    (event,) = env.events(action="verify-entry")
    assert event.user_id == "sup1" and event.batch_id == "B-1"
    assert event.new()["content_sha256"] == done.content_sha256
    assert event.new()["dose_mg"] == "10" and event.new()["units"] == 4

    # the verification is bound to the entry: another dose or unit count is not verified
    for changed in (
        dataclasses.replace(request, dose_mg=Decimal("10.5")),
        dataclasses.replace(request, dose_record={"rule": "per-kg"}),
        dataclasses.replace(make_request(catalog, dose_mg=Decimal(10), units=5), batch_id="B-1"),
    ):
        assert entry_verifier(env.auth, changed) is None
        assert not authorise_request(env.auth, tech, changed, lot).patient_use

    # the recorded run carries the decision into the batch's authorisation event
    train_operator(env, "tech1")
    recorded = begin_recorded_run(env.auth, tech, request, lot="L-2026-001", clearance=CLEARED)
    assert recorded.authorisation.patient_use
    (authorised,) = env.events(action="authorise")
    assert authorised.new()["patient_use"] is True


def test_nobody_verifies_their_own_entry_and_only_pharmacists_verify(
    env: Env, team: Team, catalog: Catalog
) -> None:
    request = dataclasses.replace(make_request(catalog), batch_id="B-2")
    pw_tech, tech = team["tech1"]
    pw_sup1, sup1 = team["sup1"]
    with pytest.raises(PermissionDenied, match="cannot also verify it"):
        verify_entry(env.auth, tech, request, "tech1", pw_tech)
    with pytest.raises(PermissionDenied, match="cannot also verify it"):
        verify_entry(env.auth, sup1, request, "sup1", pw_sup1)  # a pharmacist's own entry
    _, other_tech = env.make_user("tech2", "technician", "Toni Tech")
    with pytest.raises(PermissionDenied, match="tech1 may not verify an entry .*prescription"):
        verify_entry(env.auth, other_tech, request, "tech1", pw_tech)
    with pytest.raises(AuthenticationFailed, match="second-person check: wrong user ID or pass"):
        verify_entry(env.auth, tech, request, "sup1", "not-the-password")
    assert env.events(action="verify-entry") == []
    assert [e.user_id for e in env.events(action="login-failed")] == ["sup1"]
    assert entry_verifier(env.auth, request) is None

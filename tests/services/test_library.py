"""The validated recipe library: import, edit, validate/lock by e-signature, locked mode."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.errors import (
    DesignSpaceError,
    InputError,
    PermissionDenied,
    PreflightError,
    RecordError,
)
from printpharm.services.access.auth import UserSession
from printpharm.services.access.signatures import Meaning, SignableRecord
from printpharm.services.control._locked_mode import NOT_FOR_PATIENT_USE, LockedMode
from printpharm.services.control.library import LibraryService, model_from_content
from printpharm.services.records.export import BatchExportService
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.loop import run_batch
from printpharm.storage.library import library
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import make_request, options
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

RECIPE = "cpm-chewable-disc"
INK = "cyclophosphamide-sse-chewable"
Team = dict[str, tuple[str, UserSession]]


@pytest.fixture
def team(env: Env) -> Team:
    people = {
        "sup1": env.make_user("sup1", "supervisor", "Sue Super"),
        "sup2": env.make_user("sup2", "supervisor", "Sam Second"),
        "tech1": env.make_user("tech1", "technician", "Tess Tech"),
    }
    for user_id, (password, session) in people.items():
        env.enrol(user_id, password, session)
    return people


@pytest.fixture
def lib(env: Env) -> LibraryService:
    return LibraryService(env.auth, env.records)


def _lock(lib: LibraryService, team: Team, kind: str, item: str, version: int) -> None:
    pw2, sup2 = team["sup2"]
    lib.validate(sup2, kind, item, version, "sup2", pw2, "IQ/OQ/PQ report 12")  # type: ignore[arg-type]
    lib.lock(sup2, kind, item, version, "sup2", pw2)  # type: ignore[arg-type]


def _changed_root(tmp_path: Path, speed: str) -> Path:
    root = tmp_path / "data"
    base = Path(load_catalog().root)
    for sub in ("inks", "recipes", "gcode"):
        shutil.copytree(base / sub, root / sub)
    path = root / "recipes" / f"{RECIPE}.toml"
    text = path.read_text(encoding="utf-8")
    old = 'print_speed = { value = 6, unit = "mm/s" }'
    assert old in text
    path.write_text(text.replace(old, f'print_speed = {{ value = {speed}, unit = "mm/s" }}'))
    return root


def test_import_is_hashed_and_idempotent(
    env: Env, lib: LibraryService, team: Team, catalog: Catalog
) -> None:
    _, sup1 = team["sup1"]
    first = lib.import_catalog(sup1, catalog)
    assert {o.action for o in first} == {"created"}
    assert len(first) == len(catalog.recipes()) + len(catalog.inks())
    cpm = next(o for o in first if o.item_id == RECIPE)
    assert cpm.file_sha256 == catalog.file_sha256("recipe", RECIPE) and cpm.status == "draft"
    again = lib.import_catalog(sup1, catalog)
    assert {o.action for o in again} == {"unchanged"}
    assert len(lib.versions("recipe", RECIPE)) == 1
    stored = lib.get("recipe", RECIPE, 1)
    assert stored.intact() and model_from_content("recipe", stored.content["model"]) == (
        catalog.recipe(RECIPE)
    )
    imports = env.events(record_type="recipe", action="import")
    assert len(imports) == len(catalog.recipes())
    assert imports[0].user_id == "sup1"


def test_a_changed_shipped_file_becomes_a_new_draft_never_overwriting_a_lock(
    lib: LibraryService, team: Team, catalog: Catalog, tmp_path: Path
) -> None:
    _, sup1 = team["sup1"]
    lib.import_catalog(sup1, catalog)
    _lock(lib, team, "recipe", RECIPE, 1)
    locked = lib.get("recipe", RECIPE, 1)
    changed = load_catalog(_changed_root(tmp_path, "7"))
    outcomes = {o.item_id: o for o in lib.import_catalog(sup1, changed)}
    assert outcomes[RECIPE].action == "new-draft" and outcomes[RECIPE].version == 2
    assert outcomes[INK].action == "unchanged"
    assert lib.get("recipe", RECIPE, 1) == locked  # untouched, still locked
    assert lib.get("recipe", RECIPE, 2).status == "draft"
    assert lib.get("recipe", RECIPE, 2).content["model"]["process"]["print_speed"]["value"] == "7"


def test_validate_and_lock_need_a_supervisor_signature(
    env: Env, lib: LibraryService, team: Team, catalog: Catalog
) -> None:
    _, sup1 = team["sup1"]
    pw_t, tech = team["tech1"]
    lib.import_catalog(sup1, catalog)
    with pytest.raises(PermissionDenied, match="library.validate"):
        lib.validate(tech, "recipe", RECIPE, 1, "tech1", pw_t)
    pw2, sup2 = team["sup2"]
    with pytest.raises(RecordError, match="only a validated version can be locked"):
        lib.lock(sup2, "recipe", RECIPE, 1, "sup2", pw2)
    sig = lib.validate(sup2, "recipe", RECIPE, 1, "sup2", pw2, "OQ passed")
    assert sig.meaning == Meaning.APPROVED and "validation of recipe" in (sig.comment or "")
    lib.lock(sup2, "recipe", RECIPE, 1, "sup2", pw2)
    v = lib.get("recipe", RECIPE, 1)
    assert v.status == "locked"
    record = SignableRecord(
        "recipe_version", v.record_id, 1, {"content_sha256": v.content_sha256, "step": "locked"}
    )
    sigs = env.records.signatures(sup2, "recipe_version", v.record_id)
    assert [env.records.verify_signature(s, record).ok for s in sigs] == [False, True]
    actions = [e.action for e in env.events(record_type="recipe", record_id=v.record_id)]
    assert actions == ["import", "validate", "lock"]


def test_edits_make_versions_and_the_editor_cannot_sign_them(
    env: Env, lib: LibraryService, team: Team, catalog: Catalog
) -> None:
    pw1, sup1 = team["sup1"]
    lib.import_catalog(sup1, catalog)
    _lock(lib, team, "recipe", RECIPE, 1)
    speed = {"process.print_speed": {"value": Decimal("7"), "unit": "mm/s"}}
    v2 = lib.edit(sup1, "recipe", RECIPE, 1, speed, "slower clogs less")
    v3 = lib.edit(
        sup1, "recipe", RECIPE, 2, {"tolerances.unit_mass.value": Decimal("5")}, "tighter"
    )
    assert (v2.version, v3.version, v3.content["based_on"]) == (2, 3, 2)
    values = [
        (v.status, v.content["model"]["process"]["print_speed"]["value"],
         v.content["model"]["tolerances"]["unit_mass"]["value"])
        for v in lib.versions("recipe", RECIPE)
    ]  # fmt: skip
    assert values == [("locked", "6", "7.5"), ("draft", "7", "7.5"), ("draft", "7", "5")]
    with pytest.raises(PermissionDenied, match="segregation of duties"):
        lib.validate(sup1, "recipe", RECIPE, 3, "sup1", pw1)
    _lock(lib, team, "recipe", RECIPE, 3)
    statuses = [v.status for v in lib.versions("recipe", RECIPE)]
    assert statuses == ["retired", "draft", "locked"]
    (modify,) = env.events(record_type="recipe", action="modify", record_id=f"{RECIPE}@v2")
    assert modify.reason == "slower clogs less" and modify.old()["version"] == 1
    with pytest.raises(InputError, match="reason"):
        lib.edit(sup1, "recipe", RECIPE, 3, speed, " ")
    with pytest.raises(InputError, match="print_speed"):
        lib.edit(sup1, "recipe", RECIPE, 3, {"process.print_speed.value": Decimal(900)}, "x")


def test_the_database_refuses_to_change_or_delete_a_version(
    env: Env, lib: LibraryService, team: Team, catalog: Catalog
) -> None:
    _, sup1 = team["sup1"]
    lib.import_catalog(sup1, catalog)
    _lock(lib, team, "ink", INK, 1)
    for sql in (
        "UPDATE ink_versions SET content_json = '{}' WHERE ink_id = :i",
        "UPDATE ink_versions SET status = 'draft' WHERE ink_id = :i",
        "DELETE FROM ink_versions WHERE ink_id = :i",
        "UPDATE recipe_versions SET content_sha256 = 'x' WHERE recipe_id = :r",
    ):
        with pytest.raises(Exception, match="never changes|append-only"):
            with env.db.engine.begin() as conn:
                conn.exec_driver_sql(sql.replace(":i", f"'{INK}'").replace(":r", f"'{RECIPE}'"))
    with unit_of_work(env.db, make_context()) as uow:
        with pytest.raises(RecordError, match="cannot become draft"):
            library(uow).set_status("ink", INK, 1, "draft")
    assert lib.get("ink", INK, 1).status == "locked"


def test_locked_mode_refuses_what_is_not_validated(
    env: Env, lib: LibraryService, team: Team, catalog: Catalog
) -> None:
    gate = LockedMode(env.auth)
    _, sup1 = team["sup1"]
    _, tech = team["tech1"]
    recipe, ink = catalog.recipe(RECIPE), catalog.ink(INK)
    lib.import_catalog(sup1, catalog)
    with pytest.raises(DesignSpaceError, match="not a locked library version"):
        gate.authorise_batch(tech, recipe, ink, Decimal(10))
    assert not gate.lock_policy()(recipe, catalog.file_sha256("recipe", RECIPE)).locked
    _lock(lib, team, "recipe", RECIPE, 1)
    with pytest.raises(DesignSpaceError, match=f"ink {INK}"):
        gate.authorise_batch(tech, recipe, ink, Decimal(10))
    _lock(lib, team, "ink", INK, 1)
    ok = gate.authorise_batch(tech, recipe, ink, Decimal(10))
    assert ok.patient_use and ok.recipe_version == f"{RECIPE} v1" and ok.mode == "locked"
    status = gate.lock_policy()(recipe, catalog.file_sha256("recipe", RECIPE))
    assert status.locked and status.version == f"library:{RECIPE} v1"
    with pytest.raises(DesignSpaceError, match="outside the validated range 5–40 mg"):
        gate.authorise_batch(tech, recipe, ink, Decimal("40.5"))
    with pytest.raises(DesignSpaceError, match="step of 0.5 mg"):
        gate.authorise_batch(tech, recipe, ink, Decimal("10.2"))
    with pytest.raises(DesignSpaceError, match="read-only"):
        gate.authorise_batch(tech, recipe, ink, Decimal(10), {"print_speed": 1})
    faster = recipe.model_copy(update={"alarm_policy": "pause"})
    with pytest.raises(DesignSpaceError, match="not a locked library version"):
        gate.authorise_batch(tech, faster, ink, Decimal(10))


def test_research_mode_batches_are_not_for_patient_use_unless_validated(
    env: Env, lib: LibraryService, team: Team, catalog: Catalog
) -> None:
    gate = LockedMode(env.auth)
    pw1, sup1 = team["sup1"]
    _, tech = team["tech1"]
    recipe, ink = catalog.recipe(RECIPE), catalog.ink(INK)
    lib.import_catalog(sup1, catalog)
    _lock(lib, team, "recipe", RECIPE, 1)
    _lock(lib, team, "ink", INK, 1)
    env.research.unlock(sup1, "sup1", pw1, "dose-finding study", 600)
    outside = gate.authorise_batch(tech, recipe, ink, Decimal(45))
    assert outside.mode.startswith("research:") and not outside.patient_use
    assert outside.label == NOT_FOR_PATIENT_USE and "outside" in outside.problems[0]
    inside = gate.authorise_batch(tech, recipe, ink, Decimal(10))
    assert inside.patient_use and inside.label == "for patient use"
    gate.record_authorisation(tech, "B-R1", outside)
    (event,) = env.events(batch_id="B-R1")
    assert event.action == "authorise" and event.new()["patient_use"] is False


def test_retire_needs_a_reason_and_the_role(
    lib: LibraryService, team: Team, catalog: Catalog
) -> None:
    _, sup1 = team["sup1"]
    _, tech = team["tech1"]
    lib.import_catalog(sup1, catalog)
    with pytest.raises(PermissionDenied):
        lib.import_catalog(tech, catalog)
    with pytest.raises(PermissionDenied):
        lib.retire(tech, "recipe", RECIPE, 1, "old")
    with pytest.raises(InputError, match="reason"):
        lib.retire(sup1, "recipe", RECIPE, 1, "")
    assert lib.retire(sup1, "recipe", RECIPE, 1, "replaced by site recipe").status == "retired"
    with pytest.raises(RecordError, match="cannot become retired"):
        lib.retire(sup1, "recipe", RECIPE, 1, "again")


def test_the_run_preflight_uses_the_library_lock(
    env: Env, lib: LibraryService, team: Team, catalog: Catalog, sim_devices: Any
) -> None:
    _, sup1 = team["sup1"]
    _, tech = team["tech1"]
    gate = LockedMode(env.auth)
    lib.import_catalog(sup1, catalog)
    request = make_request(catalog, units=2)
    recorder = DatabaseRecorder(env.auth, tech)
    run_options = options(lock_policy=gate.lock_policy())
    with pytest.raises(PreflightError, match="not a locked library version"):
        run_batch(request, sim_devices(request), recorder=recorder, options=run_options)
    _lock(lib, team, "recipe", RECIPE, 1)
    _lock(lib, team, "ink", INK, 1)
    authorisation = gate.authorise_batch(tech, request.recipe, request.ink, request.dose_mg)
    result = run_batch(request, sim_devices(request), recorder=recorder, options=run_options)
    gate.record_authorisation(tech, result.batch_id, authorisation)
    assert result.recipe["version"] == f"library:{RECIPE} v1"
    view = BatchExportService(env.auth, env.db).view(sup1, result.batch_id)
    assert view.patient_use and f"{RECIPE} v1" in view.patient_use_reason

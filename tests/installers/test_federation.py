"""A standalone workstation's batch, exported and imported centrally: both chains still verify.

The standalone workstation is a SQLite file with a real simulated print run
recorded in it (batch, units, audit events). The central database is SQLite
and, with ``PRINTPHARM_TEST_POSTGRES_URL``, PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import AuditError, InputError, PermissionDenied, RecordError
from printpharm.services.records.federation import (
    IMPORT_RECORD_TYPE,
    ImportResult,
    export_chain_file,
    import_chain_as,
    import_chain_file,
    verify_imported,
)
from printpharm.services.records.federation_records import imported_batches
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.loop import run_batch
from printpharm.storage.audit import AuditContext, AuditEntry, ChainReport
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import build_env
from tests.services.conftest import catalog, make_request, options, sim_devices
from tests.storage._dbs import BACKENDS, FakeClock, new_spec, sqlite_template

__all__ = ["catalog", "sim_devices", "sqlite_template"]

#: ``build_env`` records the standalone run as workstation ``test-ws``.
STANDALONE = AuditContext("test-ws", "0.1.0", "cfg-1", None, FakeClock())
CENTRAL = AuditContext("pharmacy-server", "0.1.0", "cfg-9", None, FakeClock())


def _chain(db: Database) -> ChainReport:
    with unit_of_work(db, STANDALONE, write=False) as uow:
        return uow.verify_chain()


def _append(db: Database, *record_ids: str, context: AuditContext = STANDALONE) -> None:
    with unit_of_work(db, context) as uow:
        uow.audit.append_many(AuditEntry("note", "create", r) for r in record_ids)


@pytest.fixture
def standalone(
    tmp_path: Path, sqlite_template: Path, catalog: Catalog, sim_devices: Any
) -> Iterator[tuple[Database, str]]:
    """A standalone SQLite workstation with one recorded 4-unit simulated batch."""
    path = tmp_path / "standalone.sqlite3"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    env = build_env(db, FakeClock())
    _, session = env.make_user("tech1", "technician", "Tess Tech")
    request = make_request(catalog, units=4)
    result = run_batch(
        request,
        sim_devices(request, seed=3),
        recorder=DatabaseRecorder(env.auth, session),
        options=options(),
    )
    assert result.status == "completed"
    yield db, result.batch_id
    db.dispose()


@pytest.fixture(params=BACKENDS)
def central(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated central database (a PostgreSQL schema when the server is given)."""
    folder = tmp_path / "central"
    folder.mkdir()
    for spec in new_spec(request.param, folder):
        db = spec.open()
        db.upgrade()
        _append(
            db, "central-1", "central-2", context=CENTRAL
        )  # the central chain has its own history
        yield db
        db.dispose()


def test_an_exported_batch_imports_and_both_chains_verify(
    standalone: tuple[Database, str], central: Database, tmp_path: Path
) -> None:
    source, batch_id = standalone
    before = _chain(source)
    summary = export_chain_file(source, tmp_path / "ward3.json")
    assert summary.events == before.events and summary.head_hash == before.last_hash
    assert summary.batches == 1

    result = import_chain_file(central, summary.path, CENTRAL)

    assert not result.already_imported and result.first_seq == 1
    assert result.source_head_hash == before.last_hash and result.batches == 1
    assert _chain(central).ok and _chain(central).events == 3  # two of its own + one import
    assert _chain(source) == before  # the source is untouched
    [report] = verify_imported(central)
    assert report.ok and report.events == before.events and report.head_hash == before.last_hash
    with unit_of_work(central, STANDALONE, write=False) as uow:
        [event] = uow.events(record_type=IMPORT_RECORD_TYPE)
    value = event.new()
    assert value["head_hash"] == before.last_hash and value["source_workstation"] == "test-ws"
    [batch] = value["batches"]
    assert batch["batch_id"] == batch_id and len(batch["units"]) == 4
    assert {e["batch_id"] for e in value["events"]} >= {batch_id}


def test_a_later_export_adds_only_new_events_and_a_repeat_adds_nothing(
    standalone: tuple[Database, str], central: Database, tmp_path: Path
) -> None:
    source, _ = standalone
    first = export_chain_file(source, tmp_path / "one.json")
    import_chain_file(central, first.path, CENTRAL)
    _append(source, "later-1", "later-2")
    second = export_chain_file(source, tmp_path / "two.json")

    again = import_chain_file(central, first.path, CENTRAL)
    more = import_chain_file(central, second.path, CENTRAL)
    repeat = import_chain_file(central, second.path, CENTRAL)

    assert again.already_imported and again.central_seq is None
    assert (more.first_seq, more.source_head_seq) == (first.events + 1, first.events + 2)
    assert repeat.already_imported
    assert _chain(central).ok and _chain(central).events == 2 + 2
    [report] = verify_imported(central)
    assert report.ok and report.imports == 2 and report.head_hash == second.head_hash


def test_a_forked_workstation_history_is_refused(
    standalone: tuple[Database, str], central: Database, tmp_path: Path
) -> None:
    source, _ = standalone
    copy_path = tmp_path / "restored-copy.sqlite3"
    shutil.copyfile(source.url.removeprefix("sqlite:///"), copy_path)
    copy = Database(f"sqlite:///{copy_path}")
    _append(source, "on-the-original")
    _append(copy, "on-the-copy")
    import_chain_file(central, export_chain_file(source, tmp_path / "a.json").path, CENTRAL)
    forked = export_chain_file(copy, tmp_path / "b.json")
    copy.dispose()

    with pytest.raises(AuditError, match="history differs"):
        import_chain_file(central, forked.path, CENTRAL)
    assert _chain(central).ok and _chain(central).events == 3


def test_an_edited_export_is_refused(
    standalone: tuple[Database, str], central: Database, tmp_path: Path
) -> None:
    source, _ = standalone
    path = export_chain_file(source, tmp_path / "ward3.json").path
    document = json.loads(path.read_text(encoding="utf-8"))
    unit = next(e for e in document["events"] if e["record_type"] == "unit")
    unit["new_value"] = unit["new_value"].replace("1", "2", 1)
    path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(AuditError, match=f"event {unit['seq']} was altered"):
        import_chain_file(central, path, CENTRAL)
    assert verify_imported(central) == [] and _chain(central).events == 2


def test_a_file_that_is_not_an_export_is_refused(central: Database, tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "something-else"}', encoding="utf-8")
    with pytest.raises(InputError, match="not a printpharm chain export"):
        import_chain_file(central, path, CENTRAL)


def test_importing_needs_a_supervisor_and_records_who(
    standalone: tuple[Database, str], central: Database, tmp_path: Path
) -> None:
    path = export_chain_file(standalone[0], tmp_path / "ward3.json").path
    env = build_env(central, FakeClock())
    _, technician = env.make_user("tech9", "technician", "Tom Tech")
    _, supervisor = env.make_user("sup1", "supervisor", "Sue Pharmacist")

    with pytest.raises(PermissionDenied, match="audit.review"):
        import_chain_as(env.auth, technician, path)
    result = import_chain_as(env.auth, supervisor, path)

    [event] = env.events(record_type=IMPORT_RECORD_TYPE)
    assert (event.seq, event.user_id, event.user_name) == (
        result.central_seq,
        "sup1",
        "Sue Pharmacist",
    )
    assert _chain(central).ok and verify_imported(central)[0].ok


def test_two_workstations_importing_the_same_file_at_once_store_it_once(
    standalone: tuple[Database, str], central: Database, tmp_path: Path
) -> None:
    path = export_chain_file(standalone[0], tmp_path / "ward3.json").path
    outcomes: list[object] = []

    def importer() -> None:
        try:
            outcomes.append(import_chain_file(central, path, CENTRAL))
        except AuditError as exc:  # the loser of the race is refused, never duplicated
            outcomes.append(exc)

    threads = [threading.Thread(target=importer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    stored = [o for o in outcomes if isinstance(o, ImportResult) and not o.already_imported]
    assert len(outcomes) == 2 and len(stored) == 1
    assert _chain(central).ok and _chain(central).events == 3
    [report] = verify_imported(central)
    assert report.ok and report.imports == 1


def test_the_central_history_lists_each_imported_batch_in_its_newest_state(
    standalone: tuple[Database, str], central: Database, tmp_path: Path
) -> None:
    source, batch_id = standalone
    env = build_env(central, FakeClock())
    _, inspector = env.make_user("insp1", "inspector", "Ines Inspector")
    assert imported_batches(env.auth, inspector) == []
    export = export_chain_file(source, tmp_path / "a.json")
    first = import_chain_file(central, export.path, CENTRAL)
    with unit_of_work(source, STANDALONE) as uow:  # the pharmacist rejects it on the ward
        uow.batches.set_status(batch_id, "rejected", "label misprint")
        uow.audit.append(AuditEntry("batch", "reject", batch_id, batch_id=batch_id))
    second = import_chain_file(
        central, export_chain_file(source, tmp_path / "b.json").path, CENTRAL
    )

    (batch,) = imported_batches(env.auth, inspector)
    assert (batch.batch_id, batch.status, batch.source_workstation) == (
        batch_id,
        "rejected",
        "test-ws",
    )
    assert batch.import_seq == second.central_seq != first.central_seq
    assert (batch.units_recorded, batch.units_count) == (4, 4)
    assert batch.record["status_reason"] == "label misprint"
    assert _chain(central).ok and all(r.ok for r in verify_imported(central))


def test_an_export_whose_folder_cannot_be_made_is_refused_saying_why(
    standalone: tuple[Database, str], tmp_path: Path
) -> None:
    source, _ = standalone
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    target = blocker / "exports" / "ward3.json"
    # before: FileExistsError escaped as an internal error
    with pytest.raises(RecordError, match=r"federation export .*ward3\.json: cannot create its"):
        export_chain_file(source, target)
    assert blocker.read_text() == "a file where the folder should be"

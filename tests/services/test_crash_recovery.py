"""A batch killed mid-run, a read-only or full database: consistent records, a safe stop.

* ``kill -9`` during a batch (a subprocess running a simulated batch that writes
  through the DatabaseRecorder): the database stays consistent, its chain
  verifies, and the start-up recovery marks the batch interrupted with an audit event.
* A read-only database (SQLite ``?mode=ro`` / ``PRAGMA query_only``; PostgreSQL
  read-only transactions) or a full one (SQLite ``PRAGMA max_page_count``): the
  run refuses to start, or stops before printing the next unit, with
  ``DatabaseUnavailable`` — nothing is printed that is not recorded.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from printpharm.catalog import Catalog
from printpharm.errors import DatabaseUnavailable
from printpharm.services.access.auth import AuthConfig, AuthService
from printpharm.services.jobs import EventHub
from printpharm.services.records.batches import RECOVERY_REASON, recover_open_batches
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.events import UnitStarted, UnitWeighed
from printpharm.services.run.loop import run_batch
from printpharm.storage.audit import AuditContext, AuditEntry
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import (
    CHEAP,
    Env,
    build_env,
    clock,
    db,
    db_spec,
    env,
    pw,
    sqlite_template,
)
from tests.services.conftest import make_request, options
from tests.storage._dbs import DbSpec, FakeClock, make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

REPO = Path(__file__).resolve().parents[2]

#: The simulated batch run in a child process: real simulators and run loop, recorded
#: through the DatabaseRecorder; each unit takes 0.2 s more so the parent can kill it.
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from decimal import Decimal
    from printpharm.catalog import load_catalog
    from printpharm.services.access.auth import AuthConfig, AuthService
    from printpharm.services.run.db_recorder import DatabaseRecorder
    from printpharm.services.run.loop import run_batch
    from printpharm.services.run.devices import connected_devices, simulator_urls
    from tests.services._records_fixtures import CHEAP
    from tests.services.conftest import FAST_LINK, make_request, options
    from tests.storage._dbs import DbSpec, make_context

    spec = DbSpec(**json.loads(sys.argv[1]))
    auth = AuthService(spec.open(), make_context(), AuthConfig(hasher=CHEAP))
    session = auth.login("tech1", sys.argv[2])

    class SlowRecorder(DatabaseRecorder):
        def batch_started(self, header):
            super().batch_started(header)
            print("batch", header.batch_id, flush=True)

        def unit_weighed(self, batch_id, unit):
            super().unit_weighed(batch_id, unit)
            print("unit", unit.n, flush=True)
            time.sleep(0.2)

    request = make_request(load_catalog(), units=40)
    urls = simulator_urls(request.printer_definition, request.ink, {"e_units": "mm3"})
    with connected_devices(*urls, link_options=FAST_LINK, balance_timeout_s=5.0) as devices:
        run_batch(request, devices, recorder=SlowRecorder(auth, session), options=options())
    print("finished", flush=True)
    """
)


def _spec_json(spec: DbSpec) -> str:
    return json.dumps({"url": spec.url, "connect_args": spec.connect_args})


def test_kill_9_mid_batch_leaves_a_consistent_database_recovered_on_restart(
    db_spec: DbSpec, db: Database, clock: FakeClock
) -> None:
    env = build_env(db, clock)
    env.make_user("tech1", "technician", "Tess Tech")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, _spec_json(db_spec), pw("tech1")],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            seen.append(line.strip())
            if line.startswith("unit 3"):
                child.send_signal(signal.SIGKILL)
                break
    finally:
        child.kill()
        _, errors = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, errors
    batch_id = seen[0].split()[1]
    with unit_of_work(db, make_context(), write=False) as uow:
        before = uow.batches.get(batch_id)
        assert uow.verify_chain().ok
    assert before is not None and before.status == "printing"
    assert len(before.units) >= 3  # every unit reported was committed with its audit event
    # Another workstation sharing the database does not close a batch it did not start
    # (on PostgreSQL that batch may be printing right now).
    elsewhere = AuthService(db, AuditContext("other-ws", "0.1.0"), AuthConfig(hasher=CHEAP))
    assert recover_open_batches(elsewhere) == []
    closed = recover_open_batches(env.auth)
    assert closed == [batch_id]
    with unit_of_work(db, make_context(), write=False) as uow:
        after = uow.batches.get(batch_id)
        report = uow.verify_chain()
        (recovery,) = uow.events(batch_id=batch_id, action="recover")
    assert after is not None and report.ok
    assert (after.status, after.status_reason) == ("interrupted", RECOVERY_REASON)
    assert after.units == before.units and after.version == before.version
    assert recovery.reason == RECOVERY_REASON and recovery.new()["status"] == "interrupted"
    assert recover_open_batches(env.auth) == []  # nothing left open


def _sqlite_read_only(database: Database) -> None:
    event.listen(database.engine, "connect", lambda c, _r: c.execute("PRAGMA query_only = 1"))


def _small_pages(path: Path) -> None:
    """Rebuild the SQLite file with 512-byte pages, so the disk-full simulation is exact.

    ``max_page_count`` refuses only a write that needs a new page; with 4 KiB pages
    the next unit's rows may or may not fit in the free space left inside existing
    pages (it depends on where the hashes fall in the indexes). A table row bigger
    than a 512-byte page's local payload (477 bytes) needs an overflow page, and every
    unit's ``create`` audit event (its readings, some 570 bytes) is such a row, so the
    first unit recorded after the limit is set is refused, whatever the layout.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")  # the page size cannot change in WAL mode
        conn.execute("PRAGMA page_size=512")
        conn.execute("VACUUM")
        conn.execute("PRAGMA journal_mode=WAL")
        assert conn.execute("PRAGMA page_size").fetchone() == (512,)
        assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)
    finally:
        conn.close()


def _sqlite_full(database: Database) -> None:
    # Repack the file into 512-byte pages first: a unit's record and its audit event then
    # need new (overflow) pages whatever their exact sizes, so the "full disk" stops the
    # next write instead of depending on how much free space the last pages happen to have.
    database.engine.dispose()
    raw = sqlite3.connect(str(database.engine.url.database), isolation_level=None)
    try:
        for pragma in ("journal_mode = DELETE", "page_size = 512"):
            raw.execute(f"PRAGMA {pragma}")
        raw.execute("VACUUM")
        raw.execute("PRAGMA journal_mode = WAL")
    finally:
        raw.close()
    with database.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    event.listen(
        database.engine,
        "connect",
        lambda c, _r: c.execute(f"PRAGMA max_page_count = {pages}"),
    )
    # Use up the space left in the audit trail's pages with genuine (chained) events, so
    # that the next record cannot fit whatever the size of the records written so far.
    for size in (2000, 500, 100, 20, 0):
        while True:
            try:
                with unit_of_work(database, make_context()) as uow:
                    uow.audit.append(AuditEntry("test", "fill-disk", new={"pad": "x" * size}))
            except DatabaseUnavailable:
                break


def _postgres_read_only(database: Database) -> None:
    def read_only(connection: Any, _record: Any) -> None:
        connection.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        connection.commit()  # a SET inside the connection's first transaction would roll back

    event.listen(database.engine, "connect", read_only)
    database.engine.dispose()  # pooled connections are replaced by read-only ones


def _unavailable(env: Env, db_spec: DbSpec) -> Callable[[Database], None]:
    return _sqlite_read_only if db_spec.path is not None else _postgres_read_only


def _watch(hub: EventHub) -> list[int]:
    started: list[int] = []
    hub.subscribe(lambda e: started.append(e.n) if isinstance(e, UnitStarted) else None)
    return started


def test_a_database_that_is_read_only_at_start_refuses_the_run(
    env: Env, db_spec: DbSpec, catalog: Catalog, sim_devices: Any
) -> None:
    _, tech = env.make_user("tech1", "technician")
    recorder = DatabaseRecorder(env.auth, tech)
    _unavailable(env, db_spec)(env.db)
    hub = EventHub()
    started = _watch(hub)
    request = make_request(catalog, units=3)
    with pytest.raises(DatabaseUnavailable, match="read-only|readonly"):
        run_batch(request, sim_devices(request), hub=hub, recorder=recorder, options=options())
    assert started == []  # not a single unit begun


def test_a_sqlite_file_opened_read_only_refuses_the_run(
    tmp_path: Path, sqlite_template: Path, catalog: Catalog, sim_devices: Any
) -> None:
    path = tmp_path / "ro.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    writable = Database(f"sqlite:///{path}")
    env = build_env(writable, FakeClock())
    env.make_user("tech1", "technician")
    writable.dispose()
    read_only = Database(f"sqlite:///{path}", read_only=True)  # file:...?mode=ro
    auth = AuthService(read_only, make_context(), AuthConfig(hasher=CHEAP))
    with pytest.raises(DatabaseUnavailable, match="readonly"):
        auth.login("tech1", pw("tech1"))  # no session, so no recorder, so no run
    read_only.dispose()


@pytest.mark.parametrize("failure", ["read-only", "full"])
def test_the_run_stops_before_the_next_unit_when_the_database_fails(
    env: Env, db_spec: DbSpec, catalog: Catalog, sim_devices: Any, failure: str
) -> None:
    if failure == "full" and db_spec.path is None:
        pytest.skip("a full disk is simulated with SQLite's max_page_count")
    _, tech = env.make_user("tech1", "technician")
    recorder = DatabaseRecorder(env.auth, tech)
    hub = EventHub()
    started = _watch(hub)
    breaker = _sqlite_full if failure == "full" else _unavailable(env, db_spec)

    def break_after_unit_2(e: object) -> None:
        if isinstance(e, UnitWeighed) and e.unit.n == 2:
            breaker(env.db)

    hub.subscribe(break_after_unit_2)
    if failure == "full":
        assert db_spec.path is not None
        _small_pages(db_spec.path)
    request = make_request(catalog, units=5, dose_mg=Decimal(10))
    devices = sim_devices(request)
    with pytest.raises(DatabaseUnavailable, match="read-only|readonly|full"):
        run_batch(request, devices, hub=hub, recorder=recorder, options=options())
    assert started == [1, 2, 3]  # unit 3 could not be recorded: unit 4 was never begun
    healthy = Database(db_spec.url, connect_args=dict(db_spec.connect_args))
    try:
        auth = AuthService(healthy, make_context(), AuthConfig(hasher=CHEAP))
        (batch_id,) = recover_open_batches(auth)
        with unit_of_work(healthy, make_context(), write=False) as uow:
            row = uow.batches.get(batch_id)
            assert uow.verify_chain().ok
        assert row is not None and row.status == "interrupted"
        assert [u.unit_index for u in row.units] == [1, 2]
    finally:
        healthy.dispose()

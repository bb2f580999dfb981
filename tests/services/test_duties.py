"""Issue 13, separation of duties: administrators never sign, recovery needs a supervisor and
respects live runs, and a sealed break-glass code brings back a locked-out administrator.

Both back-ends (SQLite and PostgreSQL).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from printpharm.catalog import Catalog
from printpharm.errors import (
    AccountLocked,
    AuthenticationFailed,
    InputError,
    PermissionDenied,
    RecordError,
)
from printpharm.services.access.break_glass import break_glass, issue_recovery_code
from printpharm.services.access.signatures import Meaning, SignableRecord
from printpharm.services.jobs import EventHub
from printpharm.services.records.batches import recover_batches, recover_open_batches
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.events import UnitWeighed
from printpharm.services.run.lease import LEASE_TTL_S
from printpharm.services.run.loop import run_batch
from printpharm.storage.audit import AuditEntry
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import (
    ADMIN_PW,
    Env,
    clock,
    db,
    db_spec,
    env,
    sqlite_template,
)
from tests.services.conftest import make_request, options
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def _open_batch(env: Env, batch_id: str, workstation: str = "test-ws") -> None:
    """A batch left "printing", started on ``workstation``."""
    context = replace(make_context(env.clock), workstation=workstation)
    with unit_of_work(env.db, context) as uow:
        uow.batches.create(batch_id, Decimal("10"), 2, "admin", uow.now(), False, {})
        uow.batches.set_status(batch_id, "printing")
        uow.audit.append(AuditEntry("batch", "create", batch_id, "admin", None, batch_id=batch_id))


def _lease(env: Env, batch_id: str, holder: str, age_s: float = 0.0) -> None:
    with unit_of_work(env.db, make_context(env.clock)) as uow:
        uow.leases.beat(batch_id, holder, uow.now() - timedelta(seconds=age_s))


def _status(env: Env, batch_id: str) -> str:
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.batches.get(batch_id)
    assert row is not None
    return row.status


# -- administrators never sign ---------------------------------------------------------------


@pytest.mark.parametrize("meaning", ["reviewed", "released", "rejected", "approved"])
def test_an_administrator_signs_no_production_record(env: Env, meaning: str) -> None:
    assert env.admin is not None
    record = SignableRecord("batch", "B-1", 1, {"units": 2}, "tech1", "B-1")
    with pytest.raises(PermissionDenied, match="administrator may not sign"):
        env.records.sign(env.admin, record, meaning, "admin", ADMIN_PW)


def test_an_administrator_cannot_make_a_signer_and_verify_it_alone(env: Env) -> None:
    """The red team's path: create a supervisor account, verify it, sign with it."""
    assert env.admin is not None
    password, fake = env.make_user("sup.x", "supervisor", "Not A Person")
    with pytest.raises(PermissionDenied, match="created the account of sup.x"):
        env.accounts.verify_identity(env.admin, "sup.x", "I saw them")
    env.accounts.acknowledge_signature(fake, password)
    record = SignableRecord("batch", "B-1", 1, {"units": 2}, "tech1", "B-1")
    with pytest.raises(Exception, match="not enrolled"):
        env.records.sign(fake, record, Meaning.RELEASED, "sup.x", password)


# -- batches recover ---------------------------------------------------------------------------


def test_recover_needs_a_supervisor_and_is_audited_with_the_user(env: Env) -> None:
    _open_batch(env, "B-1", workstation="ws-2")
    _, tech = env.make_user("tech1", "technician")
    assert env.admin is not None
    for who in (tech, env.admin):
        with pytest.raises(PermissionDenied, match="batches.recover"):
            recover_batches(env.auth, who, "B-1")
    _, sup = env.make_user("sup1", "supervisor", "Sue Super")
    done = recover_batches(env.auth, sup, "B-1")
    assert done.closed == ("B-1",) and _status(env, "B-1") == "interrupted"
    (event,) = env.events(batch_id="B-1", action="recover")
    assert (event.user_id, event.user_name) == ("sup1", "Sue Super")
    with pytest.raises(RecordError, match="is interrupted, not open"):
        recover_batches(env.auth, sup, "B-1")


def test_recover_refuses_a_batch_another_workstation_is_still_making(env: Env) -> None:
    _open_batch(env, "B-2", workstation="ws-2")
    _lease(env, "B-2", "ws-2#4242")  # a fresh heartbeat from the other workstation
    _, sup = env.make_user("sup1", "supervisor")
    with pytest.raises(RecordError, match="still being made on workstation ws-2"):
        recover_batches(env.auth, sup, "B-2")
    assert recover_batches(env.auth, sup).held == (("B-2", "ws-2"),)
    assert _status(env, "B-2") == "printing"
    env.clock.advance(LEASE_TTL_S + 1)  # the other workstation went silent
    assert recover_batches(env.auth, sup).closed == ("B-2",)


def test_start_up_recovery_closes_only_this_workstations_dead_runs(env: Env) -> None:
    _open_batch(env, "B-dead")  # crashed here, no lease (kill -9 of an older run)
    _open_batch(env, "B-other", workstation="ws-2")  # the shared database's other batch
    _open_batch(env, "B-alive")
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lease(env, "B-alive", f"test-ws#{runner.pid}", age_s=3600)  # another process here
        assert recover_open_batches(env.auth) == ["B-dead"]
        assert _status(env, "B-alive") == "printing"
    finally:
        runner.kill()
        runner.wait()
    assert recover_open_batches(env.auth) == ["B-alive"]  # its process is gone
    assert _status(env, "B-other") == "printing"
    (event,) = env.events(batch_id="B-dead", action="recover")
    assert event.user_id is None  # the start-up's own recovery


def test_a_running_batch_holds_its_lease_until_it_ends(
    env: Env, catalog: Catalog, sim_devices: Any
) -> None:
    _, tech = env.make_user("tech1", "technician")
    seen: list[str | None] = []
    hub = EventHub()

    def during(event: object) -> None:
        if isinstance(event, UnitWeighed) and event.unit.n == 1:
            with unit_of_work(env.db, make_context(), write=False) as uow:
                batch_id = uow.batches.ids("printing")[0]
                lease = uow.leases.get(batch_id)
            seen.append(None if lease is None else lease.holder)
            assert recover_open_batches(env.auth) == []  # the same process: it is live

    hub.subscribe(during)
    request = make_request(catalog, units=2)
    result = run_batch(
        request, sim_devices(request), hub=hub, recorder=DatabaseRecorder(env.auth, tech),
        options=options(),
    )  # fmt: skip
    assert result.status == "completed" and seen and seen[0] is not None
    assert seen[0].startswith("test-ws#")
    with unit_of_work(env.db, make_context(), write=False) as uow:
        assert uow.leases.get(result.batch_id) is None


# -- break-glass -------------------------------------------------------------------------------


def _code(env: Env) -> str:
    with env.auth.uow() as uow:
        return issue_recovery_code(uow, env.auth.config.hasher, "admin")


def _lock_out(env: Env, user_id: str) -> None:
    env.auth.config = replace(env.auth.config, lockout_threshold=1)
    with pytest.raises(AccountLocked):
        env.auth.login(user_id, "not the password")


def test_break_glass_brings_back_an_administrator_once_and_loudly(env: Env) -> None:
    code = _code(env)
    _, admin_b = env.make_user("admin.b", "administrator")
    with pytest.raises(PermissionDenied, match="an administrator can still log in"):
        break_glass(env.auth, "admin", code, "both locked out")
    _lock_out(env, "admin")
    _lock_out(env, "admin.b")
    with pytest.raises(AuthenticationFailed, match="not a valid unused recovery code"):
        break_glass(env.auth, "admin", "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF", "both locked out")
    done = break_glass(env.auth, "admin", code.lower().replace("-", " "), "both locked out")
    session = env.auth.login("admin", done.temporary_password)
    assert session.must_change_password
    _lock_out(env, "admin")
    with pytest.raises(AuthenticationFailed):  # spent: a code works once
        break_glass(env.auth, "admin.b", code, "again")
    assert done.new_code != code
    (used,) = env.events(action="break-glass")
    assert used.user_name == "break-glass recovery code" and used.reason == "both locked out"
    with env.auth.uow(write=False) as uow:
        kinds = [a.kind for a in uow.alarms.unacknowledged()]
    assert kinds.count("security.break-glass") == 3  # the wrong code, the use, the reuse
    with env.auth.uow(write=False) as uow:
        assert uow.verify_integrity().ok  # the code rows are sealed like every record


def test_a_recovery_code_swapped_in_sql_is_not_honoured(env: Env) -> None:
    _code(env)
    forged = _code(env)  # the forger's own code, then its hash copied over the real row
    _lock_out(env, "admin")
    with env.db.engine.begin() as conn:  # a forger: triggers off (superuser, or the file)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER recovery_codes_keep")
        rows = conn.execute(text("SELECT id, code_hash FROM recovery_codes ORDER BY id")).all()
        conn.execute(text("DELETE FROM recovery_codes WHERE id = :i"), {"i": rows[1][0]})
        conn.execute(
            text("UPDATE recovery_codes SET code_hash = :h WHERE id = :i"),
            {"h": rows[1][1], "i": rows[0][0]},
        )
    with pytest.raises(AuthenticationFailed):
        break_glass(env.auth, "admin", forged, "locked out")


def test_only_an_administrator_account_is_brought_back(env: Env) -> None:
    code = _code(env)
    env.make_user("tech1", "technician")
    _lock_out(env, "admin")
    with pytest.raises(InputError, match="not an administrator account"):
        break_glass(env.auth, "tech1", code, "locked out")
    with pytest.raises(InputError, match="reason"):
        break_glass(env.auth, "admin", code, " ")

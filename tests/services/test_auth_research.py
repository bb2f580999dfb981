"""Locked mode by default; time-limited, audited research mode unlocked by a supervisor."""

from __future__ import annotations

import pytest

from printpharm.errors import AuthenticationFailed, InputError, PermissionDenied
from printpharm.storage.audit import AuditEntry
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def _event(env: Env, record_id: str) -> None:
    with unit_of_work(env.db, make_context(env.clock)) as uow:
        uow.audit.append(AuditEntry("print", "start", record_id, "sup1", "Sue Super"))


def test_locked_mode_by_default(env: Env) -> None:
    assert not env.research.status().active
    _event(env, "P1")
    assert env.events(record_type="print")[-1].mode == "locked"


def test_supervisor_unlocks_for_a_limited_time_and_everything_is_tagged(env: Env) -> None:
    password, session = env.make_user("sup1", "supervisor", "Sue Super")
    period = env.research.unlock(session, "sup1", password, "ink rheology study", 1800)
    status = env.research.status()
    assert status.active and status.remaining_s == 1800 and status.tag == f"research:{period.id}"
    _event(env, "P1")
    env.clock.advance(1799)
    _event(env, "P2")
    env.clock.advance(1)
    _event(env, "P3")  # the period is over: locked again, by the clock alone
    modes = [e.mode for e in env.events(record_type="print")]
    assert modes == [f"research:{period.id}", f"research:{period.id}", "locked"]
    assert not env.research.status().active
    research = [(e.action, e.user_id, e.reason) for e in env.events(record_type="research")]
    assert research == [
        ("unlock", "sup1", "ink rheology study"),
        ("expired", None, None),
    ]


def test_lock_ends_research_mode_early(env: Env) -> None:
    password, session = env.make_user("sup1", "supervisor")
    env.research.unlock(session, "sup1", password, "calibration prints", 600)
    with pytest.raises(PermissionDenied, match="already unlocked"):
        env.research.unlock(session, "sup1", password, "again", 600)
    assert env.research.lock(session, "done")
    assert not env.research.status().active
    assert not env.research.lock(session)
    assert [e.action for e in env.events(record_type="research")] == ["unlock", "lock"]


def test_technicians_and_administrators_cannot_unlock(env: Env) -> None:
    password, session = env.make_user("tech1", "technician")
    with pytest.raises(PermissionDenied, match="research.unlock"):
        env.research.unlock(session, "tech1", password, "curious", 600)
    from tests.services._records_fixtures import ADMIN_PW

    with pytest.raises(PermissionDenied, match="research.unlock"):
        env.research.unlock(env.admin, "admin", ADMIN_PW, "curious", 600)  # type: ignore[arg-type]
    assert not env.research.status().active


def test_unlock_needs_credentials_reason_and_a_valid_duration(env: Env) -> None:
    password, session = env.make_user("sup1", "supervisor")
    limit = env.auth.config.max_research_s
    with pytest.raises(AuthenticationFailed):
        env.research.unlock(session, "sup1", "wrong password!", "study", 600)
    with pytest.raises(InputError, match="reason"):
        env.research.unlock(session, "sup1", password, "   ", 600)
    for bad in (0, -5, limit + 1):
        with pytest.raises(InputError, match="duration"):
            env.research.unlock(session, "sup1", password, "study", bad)
    env.research.unlock(session, "sup1", password, "study", limit)
    assert env.research.status().remaining_s == limit
    assert len(env.events(action="research-unlock-failed")) == 1

"""An account changed since login acts no more through its open session (SEC-13, SEC-04).

The account is read at every session check, so a deactivation, a lockout, a password
reset or a role change made by an administrator — on this workstation or on another
one sharing the database — takes effect on the next action, not at the next login.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from printpharm.errors import (
    AccountLocked,
    AuthenticationFailed,
    PermissionDenied,
    SessionExpired,
)
from printpharm.services.access.auth import AuthService
from printpharm.services.access.permissions import Operation
from tests.services._records_fixtures import (
    Env,
    clock,
    db,
    db_spec,
    env,
    sqlite_template,
)
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def _other_workstation(env: Env) -> AuthService:
    """A second workstation's services on the same database."""
    return AuthService(env.db, make_context(env.clock), env.auth.config)


def test_a_demoted_supervisor_loses_the_supervisor_operations_at_once(env: Env) -> None:
    _, sup = env.make_user("sup1", "supervisor", "Sue Super")
    env.auth.require(sup, Operation.UNLOCK_RESEARCH)
    env.train_role("sup1", "technician")
    assert env.admin is not None
    env.accounts.change_role(env.admin, "sup1", "technician", "moved to the production line")
    with pytest.raises(PermissionDenied, match="technician may not research.unlock"):
        env.auth.require(sup, Operation.UNLOCK_RESEARCH)
    assert env.auth.require(sup, Operation.RUN_PRINT).role == "technician"


@pytest.mark.parametrize("change", ["disable", "reset-password", "lockout"])
def test_a_session_on_another_workstation_ends_when_its_account_is_stopped(
    env: Env, change: str
) -> None:
    password, _ = env.make_user("tech1", "technician", "Tess Tech")
    station_b = _other_workstation(env)
    tech_b = station_b.login("tech1", password)
    station_b.require(tech_b, Operation.RUN_PRINT)
    assert env.admin is not None
    if change == "disable":
        env.accounts.disable_user(env.admin, "tech1", "left the pharmacy")
    elif change == "reset-password":
        env.accounts.reset_password(env.admin, "tech1", "password seen by a colleague")
    else:
        for _ in range(env.auth.config.lockout_threshold):
            with pytest.raises((AuthenticationFailed, AccountLocked)):
                env.auth.login("tech1", "not the password!!")
    with pytest.raises(SessionExpired, match="tech1 .* since login"):
        station_b.require(tech_b, Operation.RUN_PRINT)
    with pytest.raises(SessionExpired):  # the session is gone, not only refused once
        station_b.check(replace(tech_b))
    (ended,) = [e for e in env.events(action="revoked")]
    assert ended.record_id == "tech1" and ended.user_id == "tech1"

"""Break-glass never brings back a deactivated administrator (SEC-03: deactivated for good)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from printpharm.errors import AccountLocked, InputError
from printpharm.services.access.break_glass import break_glass, issue_recovery_code
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def test_the_recovery_code_does_not_reactivate_an_administrator_who_left(env: Env) -> None:
    with env.auth.uow() as uow:
        code = issue_recovery_code(uow, env.auth.config.hasher, "admin")
    env.make_user("admin.b", "administrator", "Bea Admin")
    assert env.admin is not None
    env.accounts.disable_user(env.admin, "admin.b", "left the pharmacy")
    env.auth.config = replace(env.auth.config, lockout_threshold=1)
    with pytest.raises(AccountLocked):
        env.auth.login("admin", "not the password")
    with pytest.raises(InputError, match="admin.b is deactivated.*locked administrator: admin"):
        break_glass(env.auth, "admin.b", code, "nobody can log in")
    with env.auth.uow(write=False) as uow:
        left = uow.users.get("admin.b")
        assert left is not None and not left.active
        assert len(uow.recovery_codes.unused()) == 1  # the code is not spent
    done = break_glass(env.auth, "admin", code, "nobody can log in")
    assert env.auth.login("admin", done.temporary_password).must_change_password

"""The second-person check, written once (services/access/second_person.py) and used by the
entry verification, the dose override, the line clearance and the cytotoxic cleaning."""

from __future__ import annotations

import pytest

from printpharm.errors import AuthenticationFailed, PermissionDenied
from printpharm.services.access.permissions import Operation
from printpharm.services.access.second_person import second_person
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

_SAME = "tech1 did it and cannot also check it"


def _check(env: Env, who: str, password: str, **kw: object) -> str:
    with second_person(
        env.auth, who, password, Operation.VERIFY_PRESCRIPTION,
        first="tech1", same=_SAME, check="the test check", **kw,  # type: ignore[arg-type]
    ) as live:  # fmt: skip
        assert env.auth.require(live, Operation.VERIFY_PRESCRIPTION) is not None
        return live.user_id


def test_the_second_person_logs_in_for_the_check_and_is_logged_out_after(env: Env) -> None:
    password, _ = env.make_user("sup1", "supervisor")
    before = len(env.events(action="logout"))
    assert _check(env, "  sup1 ", password) == "sup1"  # the ID as typed, spaces cut
    logouts = env.events(action="logout")
    assert len(logouts) == before + 1 and logouts[-1].user_id == "sup1"


def test_the_first_person_cannot_be_their_own_second_person(env: Env) -> None:
    password, _ = env.make_user("tech1", "technician")
    with pytest.raises(PermissionDenied, match=_SAME):
        _check(env, " tech1", password)


def test_wrong_credentials_name_the_check_and_echo_a_long_id_cut(env: Env) -> None:
    # 100 characters: longer than any user ID, short enough for the failed login's audit row
    with pytest.raises(AuthenticationFailed) as wrong:
        _check(env, "s" * 100, "nope")
    message = str(wrong.value)
    assert message.startswith("the test check: wrong user ID or password for 'sss")
    assert "(100 characters)" in message and len(message) < 150


def test_a_role_without_the_operation_is_refused_and_logged_out(env: Env) -> None:
    password, _ = env.make_user("tech2", "technician")
    with pytest.raises(PermissionDenied, match="^tech2 may not verify .*; a pharmacist does"):
        _check(env, "tech2", password, refused=("may not verify", "a pharmacist does"))
    assert env.events(action="logout")[-1].user_id == "tech2"
    with pytest.raises(PermissionDenied) as plain:
        _check(env, "tech2", password)
    assert "may not verify" not in str(plain.value)

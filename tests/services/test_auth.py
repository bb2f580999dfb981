"""Accounts, passwords, lockout, sessions and the permission table (SEC-01..11, AUD-14)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from printpharm.errors import (
    AccountLocked,
    AuthenticationFailed,
    InputError,
    PasswordPolicyError,
    PermissionDenied,
    RecordError,
    SessionExpired,
)
from printpharm.services.access.auth import AuthConfig, AuthService
from printpharm.services.access.passwords import PasswordPolicy, default_blocklist
from printpharm.services.access.permissions import PERMISSIONS, Operation, Role
from printpharm.services.control.site_settings import change_setting
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import (
    ADMIN_PW,
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
from tests.storage._dbs import FakeClock, make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def _actions(env: Env, **filters: object) -> list[tuple[str, str | None]]:
    return [(e.action, e.record_id) for e in env.events(**filters)]


def test_first_run_creates_the_administrator_once(env: Env) -> None:
    assert env.accounts.has_users()
    (created,) = [e for e in env.events() if e.action == "create"]
    assert created.record_id == "admin" and created.new()["role"] == "administrator"
    with pytest.raises(PermissionDenied, match="exists already"):
        env.accounts.create_first_administrator("admin2", "Second Admin", "another-long-pass-1")
    assert [u.user_id for u in env.accounts.list_users(env.admin)] == ["admin"]  # type: ignore[arg-type]


def test_login_success_and_failure_are_audited(env: Env) -> None:
    """AUD-14: login success and failure, logout."""
    with pytest.raises(AuthenticationFailed):
        env.auth.login("admin", "wrong password!!")
    with pytest.raises(AuthenticationFailed):
        env.auth.login("ghost", "wrong password!!")
    session = env.auth.login("admin", ADMIN_PW)
    env.auth.logout(session)
    actions = [a for a, _ in _actions(env, record_type="session")]
    assert actions == ["login", "login-failed", "login-failed", "login", "logout"]
    with pytest.raises(SessionExpired):
        env.auth.check(session)


@pytest.mark.parametrize("threshold", [3, 5])
def test_lockout_exactly_at_the_configured_threshold(env: Env, threshold: int) -> None:
    """SEC-08 at N-1, N and N+1 failures, with the alarm and exactly one lockout event."""
    env.auth.config = dataclasses.replace(env.auth.config, lockout_threshold=threshold)
    password, _ = env.make_user("tech1", "technician")
    n = env.auth.config.lockout_threshold
    for _ in range(n - 2):
        with pytest.raises(AuthenticationFailed):
            env.auth.login("tech1", "not the password")
    with pytest.raises(AuthenticationFailed):  # N-1: still only a failure
        env.auth.login("tech1", "not the password")
    assert env.alerts == []
    with pytest.raises(AccountLocked, match="or the account is locked"):  # N: locks
        env.auth.login("tech1", "not the password")
    with pytest.raises(AccountLocked):  # N+1: the right password no longer opens it
        env.auth.login("tech1", password)
    assert [a.kind for a in env.alerts] == ["security.lockout"]
    assert _actions(env, action="lockout") == [("lockout", "tech1")]
    with unit_of_work(env.db, make_context(), write=False) as uow:
        assert [a.kind for a in uow.alarms.unacknowledged()] == ["security.lockout"]
    technician = env.auth.login("admin", ADMIN_PW)
    env.accounts.unlock_account(technician, "tech1", "identity confirmed by phone")
    env.auth.login("tech1", password)
    assert _actions(env, action="unlock") == [("unlock", "tech1")]


def test_success_resets_the_failure_count(env: Env) -> None:
    password, _ = env.make_user("tech1", "technician")
    n = env.auth.config.lockout_threshold
    for _ in range(2):
        for _ in range(n - 1):
            with pytest.raises(AuthenticationFailed):
                env.auth.login("tech1", "not the password")
        env.auth.login("tech1", password)


def test_only_administrators_unlock_accounts(env: Env) -> None:
    _, supervisor = env.make_user("sup1", "supervisor")
    with pytest.raises(PermissionDenied):
        env.accounts.unlock_account(supervisor, "admin", "please")


def test_idle_timeout_locks_and_needs_full_reauthentication(env: Env) -> None:
    """SEC-10 at the limit, one second past it, and the unlock rules."""
    password, session = env.make_user("tech1", "technician")
    password2, _ = env.make_user("tech2", "technician")
    limit = env.auth.config.idle_timeout_s
    env.clock.advance(limit)
    env.auth.require(session, Operation.RUN_PRINT)  # exactly at the limit: still open
    env.clock.advance(limit + 1)
    with pytest.raises(SessionExpired, match="idle"):
        env.auth.require(session, Operation.RUN_PRINT)
    with pytest.raises(SessionExpired, match="locked"):
        env.auth.check(session)
    with pytest.raises(AuthenticationFailed, match="own credentials"):
        env.auth.unlock_session(session, "tech2", password2)
    with pytest.raises(AuthenticationFailed):
        env.auth.unlock_session(session, "tech1", "wrong password!!")
    env.auth.unlock_session(session, "tech1", password)
    env.auth.require(session, Operation.RUN_PRINT)
    actions = [a for a, r in _actions(env, record_type="session") if r == "tech1"]
    assert "timeout-lock" in actions and actions[-1] == "unlock"


def test_forged_sessions_are_not_honoured(env: Env) -> None:
    assert env.admin is not None
    forged = dataclasses.replace(env.admin, token="0" * 32)
    with pytest.raises(SessionExpired):
        env.auth.require(forged, Operation.MANAGE_USERS)


def test_passwords_are_argon2id_hashes_and_never_recorded(env: Env, db_spec: object) -> None:
    """SEC-06: salted slow hashes only; no password in audit events or the database file."""
    password, _ = env.make_user("tech1", "technician")
    temporary = env.accounts.reset_password(env.admin, "tech1", "forgotten")  # type: ignore[arg-type]
    with unit_of_work(env.db, make_context(), write=False) as uow:
        user = uow.users.get("tech1")
        admin = uow.users.get("admin")
    assert user is not None and admin is not None
    assert user.password_hash.startswith("$argon2id$")
    assert user.password_hash != admin.password_hash
    text = repr(env.events())
    for secret in (password, temporary, ADMIN_PW):
        assert secret not in text
    path = getattr(db_spec, "path", None)
    if path is not None:
        env.db.dispose()
        blob = b"".join(p.read_bytes() for p in Path(path).parent.glob("printpharm.sqlite3*"))
        for secret in (password, temporary, ADMIN_PW):
            assert secret.encode() not in blob


def test_password_length_policy_at_the_limit(env: Env) -> None:
    """SEC-07: min length read from the configuration, checked at N-1 and N."""
    _, session = env.make_user("tech1", "technician")
    n = env.auth.config.policy.min_length
    current = pw("tech1")
    with pytest.raises(PasswordPolicyError, match=f"minimum is {n}"):
        env.accounts.change_password(session, current, "x7#kQ2vL9mZp"[: n - 1].ljust(n - 1, "w"))
    env.accounts.change_password(session, current, "x7#kQ2vL9mZp".ljust(n, "w")[:n])


def test_blocklist_user_id_and_history(env: Env) -> None:
    _, session = env.make_user("tech1", "technician")
    current = pw("tech1")
    assert "password1234" in default_blocklist()
    for bad, why in (
        ("Password1234", "common"),
        ("my-tech1-password", "user ID"),
        (current, "used recently"),
    ):
        with pytest.raises(PasswordPolicyError, match=why):
            env.accounts.change_password(session, current, bad)
    with pytest.raises(InputError, match="floor"):
        PasswordPolicy(min_length=7)


def test_password_ageing_forces_a_change(env: Env) -> None:
    env.auth.config = dataclasses.replace(env.auth.config, policy=PasswordPolicy(max_age_days=30))
    password, _ = env.make_user("tech1", "technician")
    env.clock.advance(31 * 86400)
    session = env.auth.login("tech1", password)
    assert session.must_change_password
    with pytest.raises(PermissionDenied, match="change the temporary password"):
        env.auth.require(session, Operation.RUN_PRINT)
    env.accounts.change_password(session, password, "a-brand-new-passphrase")
    env.auth.require(session, Operation.RUN_PRINT)


def test_password_reset_ends_the_users_sessions(env: Env) -> None:
    """SEC-13: a compromised password is replaced and its sessions end at once."""
    _, session = env.make_user("tech1", "technician")
    env.accounts.reset_password(env.admin, "tech1", "password seen by a visitor")  # type: ignore[arg-type]
    with pytest.raises(SessionExpired):
        env.auth.require(session, Operation.RUN_PRINT)


def test_temporary_password_must_be_changed(env: Env) -> None:
    """SEC-09: the admin's one-time password opens nothing but the password change."""
    env.train_role("tech1", "technician")
    temporary = env.accounts.add_user(env.admin, "tech1", "Tess Tech", "technician")  # type: ignore[arg-type]
    session = env.auth.login("tech1", temporary)
    with pytest.raises(PermissionDenied, match="temporary"):
        env.auth.require(session, Operation.RUN_PRINT)
    env.accounts.change_password(session, temporary, "tess-own-passphrase")
    env.auth.require(session, Operation.RUN_PRINT)


def test_user_ids_are_unique_and_never_reused(env: Env) -> None:
    """SEC-01/SEC-03: duplicates refused even after deactivation; no DELETE."""
    env.make_user("tech1", "technician")
    with pytest.raises(RecordError, match="never reused"):
        env.accounts.add_user(env.admin, "tech1", "Other Person", "technician")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="reason"):
        env.accounts.disable_user(env.admin, "tech1", "  ")  # type: ignore[arg-type]
    env.accounts.disable_user(env.admin, "tech1", "left the pharmacy")  # type: ignore[arg-type]
    with pytest.raises(AccountLocked, match="locked or deactivated"):
        env.auth.login("tech1", pw("tech1"))
    with pytest.raises(RecordError, match="never reused"):
        env.accounts.add_user(env.admin, "tech1", "Other Person", "technician")  # type: ignore[arg-type]
    users = {u.user_id: u for u in env.accounts.list_users(env.admin)}  # type: ignore[arg-type]
    assert users["tech1"].active is False
    with pytest.raises(Exception, match="append-only"):
        with env.db.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM users WHERE user_id = 'tech1'")


def test_last_administrator_cannot_be_disabled(env: Env) -> None:
    with pytest.raises(PermissionDenied, match="last active administrator"):
        env.accounts.disable_user(env.admin, "admin", "oops")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "A", "Has Space", "UPPER", "x" * 65])
def test_malformed_user_ids_are_refused(env: Env, bad: str) -> None:
    with pytest.raises(InputError, match="user ID"):
        env.accounts.add_user(env.admin, bad, "Some One", "technician")  # type: ignore[arg-type]


def test_access_changes_are_audited_with_who_when_why(env: Env) -> None:
    """SEC-11 / AUD-14: create, role change, reset, disable, each with the reason."""
    env.make_user("tech1", "technician")
    env.train_role("tech1", "supervisor")
    env.accounts.change_role(env.admin, "tech1", "supervisor", "promoted to pharmacist")  # type: ignore[arg-type]
    env.accounts.reset_password(env.admin, "tech1", "user forgot it")  # type: ignore[arg-type]
    env.accounts.disable_user(env.admin, "tech1", "left")  # type: ignore[arg-type]
    events = [e for e in env.events(record_type="user") if e.record_id == "tech1"]
    assert [e.action for e in events] == [
        "create",
        "password-change",
        "modify",
        "reset-password",
        "disable",
    ]
    role_change = events[2]
    assert role_change.field == "role" and role_change.reason == "promoted to pharmacist"
    assert (role_change.old()["role"], role_change.new()["role"]) == ("technician", "supervisor")
    assert all(e.user_id in ("admin", "tech1") and e.user_name for e in events)


FORBIDDEN = [(role, op) for role in Role for op in Operation if op not in PERMISSIONS[role]]
ALLOWED = [(role, op) for role in Role for op in Operation if op in PERMISSIONS[role]]


@pytest.fixture(scope="module")
def role_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, dict[Role, Any]]]:
    """One SQLite database with a session per role (the table is back-end independent)."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('roles') / 'p.sqlite3'}")
    database.upgrade()
    e = build_env(database, FakeClock())
    sessions = {Role.ADMINISTRATOR: e.admin}
    for role in (Role.TECHNICIAN, Role.SUPERVISOR, Role.INSPECTOR):
        sessions[role] = e.make_user(f"u-{role.value}", role.value)[1]
    yield e, sessions
    database.dispose()


@pytest.mark.parametrize(("role", "operation"), FORBIDDEN, ids=[f"{r}-{o}" for r, o in FORBIDDEN])
def test_each_forbidden_operation_is_refused(
    role_env: tuple[Env, dict[Role, Any]], role: Role, operation: Operation
) -> None:
    """SEC-04: one negative test per forbidden (role, operation), logged."""
    e, sessions = role_env
    with pytest.raises(PermissionDenied, match=operation.value):
        e.auth.require(sessions[role], operation)
    last = e.events(record_type="permission")[-1]
    assert (last.action, last.record_id, last.user_id) == (
        "denied",
        operation.value,
        sessions[role].user_id,
    )


@pytest.mark.parametrize(("role", "operation"), ALLOWED, ids=[f"{r}-{o}" for r, o in ALLOWED])
def test_each_allowed_operation_passes(
    role_env: tuple[Env, dict[Role, Any]], role: Role, operation: Operation
) -> None:
    e, sessions = role_env
    assert e.auth.require(sessions[role], operation).role is role


def test_segregation_of_duties_in_the_table() -> None:
    """SEC-05: administrators and inspectors hold no signing or release operation."""
    signing = {op for op in Operation if op.value.startswith("sign.")}
    assert not signing & PERMISSIONS[Role.ADMINISTRATOR]
    assert not signing & PERMISSIONS[Role.INSPECTOR]
    assert Operation.SIGN_RELEASED in PERMISSIONS[Role.SUPERVISOR]
    assert Operation.SIGN_RELEASED not in PERMISSIONS[Role.TECHNICIAN]


def test_non_administrators_cannot_manage_users(env: Env) -> None:
    _, technician = env.make_user("tech1", "technician")
    _, inspector = env.make_user("insp1", "inspector")
    with pytest.raises(PermissionDenied):
        env.accounts.add_user(technician, "tech2", "T Two", "technician")
    with pytest.raises(PermissionDenied):
        env.accounts.reset_password(inspector, "tech1", "because")
    assert [u.user_id for u in env.accounts.list_users(inspector)] == ["admin", "insp1", "tech1"]
    with pytest.raises(PermissionDenied):
        env.accounts.list_users(technician)


def test_audit_trail_cannot_be_reconfigured(env: Env) -> None:
    """AUD-09: no role may switch the audit trail off; the attempt is logged."""
    with pytest.raises(PermissionDenied, match="audit trail"):
        change_setting(env.auth, env.admin, "audit.enabled", "false", "speed", ADMIN_PW)
    assert _actions(env, action="change-refused") == [("change-refused", "audit.enabled")]
    change_setting(env.auth, env.admin, "session.idle_timeout_s", "600", "site SOP 12", ADMIN_PW)
    setting = change_setting(
        env.auth, env.admin, "session.idle_timeout_s", "900", "SOP 12 rev 2", ADMIN_PW
    )
    assert (setting.value, setting.version) == (900, 2)
    with pytest.raises(InputError, match="reason"):
        change_setting(env.auth, env.admin, "session.idle_timeout_s", "300", "", ADMIN_PW)
    sup_pw, supervisor = env.make_user("sup1", "supervisor")
    with pytest.raises(PermissionDenied):
        change_setting(env.auth, supervisor, "session.idle_timeout_s", "60", "shorter", sup_pw)


def test_there_is_one_way_to_change_a_setting(env: Env) -> None:
    """The records services expose no setter that skips limits, password and same value."""
    assert not hasattr(env.settings, "change")
    with pytest.raises(InputError, match="must be a whole number from 60 to 3600"):
        change_setting(env.auth, env.admin, "session.idle_timeout_s", "1", "tiny", ADMIN_PW)
    change_setting(env.auth, env.admin, "session.idle_timeout_s", "600", "SOP 12", ADMIN_PW)
    with pytest.raises(InputError, match="already 600"):
        change_setting(env.auth, env.admin, "session.idle_timeout_s", "600", "again", ADMIN_PW)


def test_configuration_values_are_validated(db: object) -> None:
    with pytest.raises(InputError):
        AuthConfig(lockout_threshold=0, hasher=CHEAP)
    assert AuthService  # the service is constructed by the env fixture for every test above


def test_concurrent_failures_are_all_counted(env: Env) -> None:
    """Failure counting is serialised per account (row lock), so no attempt is lost."""
    import threading

    env.make_user("tech1", "technician")
    n = env.auth.config.lockout_threshold
    errors: list[Exception] = []

    def attempt() -> None:
        try:
            env.auth.login("tech1", "not the password")
        except (AuthenticationFailed, AccountLocked) as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(n - 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(errors) == n - 1
    with unit_of_work(env.db, make_context(), write=False) as uow:
        user = uow.users.get("tech1")
    assert user is not None and user.failed_attempts == n - 1 and not user.locked


def test_locked_deactivated_and_wrong_answer_alike_after_the_same_work(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: no distinct message, and the password is checked (same cost) in every case."""
    from printpharm.services.access import auth as auth_module

    env.make_user("tech1", "technician")
    env.make_user("tech2", "technician")
    env.accounts.disable_user(env.admin, "tech2", "left")  # type: ignore[arg-type]
    env.auth.config = dataclasses.replace(env.auth.config, lockout_threshold=1)
    with pytest.raises(AccountLocked):
        env.auth.login("tech1", "not the password")  # locks tech1
    checked: list[str] = []
    real = auth_module.verify_password
    monkeypatch.setattr(
        auth_module, "verify_password", lambda h, p, c: checked.append(h) or real(h, p, c)
    )
    messages = []
    for user, password in (("tech1", pw("tech1")), ("tech2", pw("tech2")), ("admin", "wrong")):
        with pytest.raises((AuthenticationFailed, AccountLocked)) as refused:
            env.auth.login(user, password)
        messages.append(str(refused.value))
    assert len(set(messages)) == 1 and len(checked) == 3


def test_a_user_id_longer_than_any_account_is_a_failed_login_not_a_crash(env: Env) -> None:
    """Found on PostgreSQL: the failed-login event's record id is limited to 128 characters;
    a 300-character user ID crashed the login with "value too long" instead of refusing it."""
    typed = "u" * 300
    with pytest.raises(AuthenticationFailed, match="wrong user ID or password"):
        env.auth.login(typed, "whatever password")
    (event,) = [e for e in env.events() if e.action == "login-failed"]
    assert event.record_id == "u" * 64 + "…"
    assert event.new()["typed_user_id"] == "'" + "u" * 64 + "…' (300 characters)"

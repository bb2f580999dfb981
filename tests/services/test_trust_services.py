"""Issue 13 in the services: passwords, argon2 floor and rehash, enrolment after a reset."""

from __future__ import annotations

import pytest

from printpharm.errors import PasswordPolicyError, PermissionDenied
from printpharm.services.access import passwords
from printpharm.services.access.passwords import HasherConfig, PasswordPolicy, hash_password
from printpharm.services.station.records_app import HASHER_ENV, _hasher_from_env
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


@pytest.mark.parametrize("weak", [" " * 12, "b" * 12, "qwertyuiopas", "Password1234"])
def test_guessable_passwords_of_twelve_characters_are_refused(weak: str) -> None:
    with pytest.raises(PasswordPolicyError, match="too weak|common passwords"):
        PasswordPolicy().check("tech1", weak)


def test_a_real_passphrase_passes_and_a_huge_one_is_checked_quickly() -> None:
    PasswordPolicy().check("tech1", "correct-horse-42-battery")
    PasswordPolicy().check("tech1", "x7Gq!" * 4000)  # 20 000 characters: bounded estimate


def test_the_environment_cannot_weaken_argon2_below_the_floor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(passwords, "HASHER_FLOOR", HasherConfig(2, 19456, 1))
    monkeypatch.setenv(HASHER_ENV, "1,8,1")
    assert _hasher_from_env() == HasherConfig(2, 19456, 1)
    monkeypatch.setenv(HASHER_ENV, "4,70000,2")
    assert _hasher_from_env() == HasherConfig(4, 70000, 2)


def test_a_login_rehashes_a_password_made_with_old_parameters(env: Env) -> None:
    password, _ = env.make_user("tech1", "technician")
    old = hash_password(password, HasherConfig(1, 16, 1))
    with env.auth.uow() as uow:
        user = uow.users.get("tech1", for_update=True)
        assert user is not None
        user.password_hash = old
        uow.users.save(user)
    env.auth.login("tech1", password)
    with env.auth.uow(write=False) as uow:
        user = uow.users.get("tech1")
    assert user is not None and user.password_hash != old
    assert not passwords.needs_rehash(user.password_hash, env.auth.config.hasher)
    assert [e.action for e in env.events(record_type="user", record_id="tech1")][-1] == "rehash"


def test_a_password_reset_revokes_signing_until_a_second_person_verifies(env: Env) -> None:
    password, session = env.make_user("sup1", "supervisor")
    env.enrol("sup1", password, session)
    assert env.admin is not None
    temporary = env.accounts.reset_password(env.admin, "sup1", "forgot it")
    session = env.auth.login("sup1", temporary)
    env.accounts.change_password(session, temporary, "a-new-pharmacist-phrase-9")
    with env.auth.uow(write=False) as uow:
        user = uow.users.get("sup1")
    assert user is not None and user.identity_verified_by is None and user.signature_ack_at is None
    with pytest.raises(PermissionDenied, match="second person"):
        env.accounts.verify_identity(env.admin, "sup1", "looked at the badge")
    _, admin2 = env.make_user("admin2", "administrator")
    env.accounts.verify_identity(admin2, "sup1", "ID card checked in person")
    with env.auth.uow(write=False) as uow:
        user = uow.users.get("sup1")
    assert user is not None and user.identity_verified_by == "admin2"

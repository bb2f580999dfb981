"""Training records (TRN-01): role assignment needs one, the first administrator is exempt."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from printpharm.errors import InputError, PermissionDenied
from printpharm.services.access.training import (
    due_training,
    list_training,
    record_training,
    training_in_date,
)
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def test_adding_an_account_without_role_training_is_refused_with_the_reason(env: Env) -> None:
    with pytest.raises(PermissionDenied, match="tech1 has no in-date training record for the role "
                       "technician \\(compliance TRN-01\\)"):  # fmt: skip
        env.accounts.add_user(env.admin, "tech1", "Tess Tech", "technician")  # type: ignore[arg-type]
    (refused,) = env.events(action="role-refused")
    assert refused.record_id == "tech1" and "TRN-01" in (refused.reason or "")
    assert [u.user_id for u in env.accounts.list_users(env.admin)] == ["admin"]  # type: ignore[arg-type]
    env.train_role("tech1", "technician")
    env.accounts.add_user(env.admin, "tech1", "Tess Tech", "technician")  # type: ignore[arg-type]
    (created,) = [
        e for e in env.events(record_type="user", action="create") if e.record_id == "tech1"
    ]
    assert "role training record" in (created.reason or "")


def test_a_role_change_needs_training_for_the_new_role(env: Env) -> None:
    env.make_user("tech1", "technician")
    with pytest.raises(PermissionDenied, match="training record for the role supervisor"):
        env.accounts.change_role(env.admin, "tech1", "supervisor", "promotion")  # type: ignore[arg-type]
    env.train_role("tech1", "supervisor")
    env.accounts.change_role(env.admin, "tech1", "supervisor", "promotion")  # type: ignore[arg-type]
    assert {u.user_id: u.role for u in env.accounts.list_users(env.admin)}["tech1"] == "supervisor"  # type: ignore[arg-type]


def test_the_first_administrator_is_exempt_and_the_trail_says_so(env: Env) -> None:
    (first,) = [
        e for e in env.events(record_type="user", action="create") if e.record_id == "admin"
    ]
    assert "exempt from the role-training record of TRN-01" in (first.reason or "")


def test_an_expired_role_training_does_not_count(env: Env) -> None:
    assert env.admin is not None
    record_training(env.auth, env.admin, "tech1", "role", "technician", date(2024, 1, 5),
                    "Tara Trainer", expires_on=date(2025, 1, 5))  # fmt: skip
    with pytest.raises(PermissionDenied, match="no in-date training record"):
        env.accounts.add_user(env.admin, "tech1", "Tess Tech", "technician")


def test_training_is_recorded_by_a_second_person_with_a_trainer_and_a_past_date(env: Env) -> None:
    assert env.admin is not None
    today = env.clock().date()
    with pytest.raises(PermissionDenied, match="their own training"):
        record_training(env.auth, env.admin, "admin", "sop", "SOP-1", today, "T")
    with pytest.raises(InputError, match="in the future"):
        record_training(env.auth, env.admin, "tech1", "sop", "SOP-1", today + timedelta(1), "T")
    with pytest.raises(InputError, match="trainer's name"):
        record_training(env.auth, env.admin, "tech1", "sop", "SOP-1", today, " ")
    with pytest.raises(InputError, match="not one of"):
        record_training(env.auth, env.admin, "tech1", "role", "chemist", today, "T")
    _, tech = env.make_user("tech1", "technician")
    with pytest.raises(PermissionDenied, match="training.record"):
        record_training(env.auth, tech, "tech2", "sop", "SOP-1", today, "T")
    entry = record_training(env.auth, env.admin, "tech1", "recipe", "cpm-chewable-disc",
                            today - timedelta(days=700), "Tara Trainer")  # fmt: skip
    assert entry.expires_on == entry.trained_on + timedelta(days=730)  # training.valid_days
    with env.auth.uow(write=False) as uow:
        assert training_in_date(uow, "tech1", "recipe", ["cpm-chewable-disc"], today) == entry
        later = today + timedelta(days=31)
        assert training_in_date(uow, "tech1", "recipe", ["cpm-chewable-disc"], later) is None
    assert [e.subject for e in list_training(env.auth, tech, "tech1")] == [
        "cpm-chewable-disc",
        "technician",
    ]  # fmt: skip  (oldest training first)
    (due,) = due_training(env.auth, tech)  # expires in 30 days: within the 30-day warning
    assert due.entry == entry and not due.expired and due.days_left == 30
    assert due_training(env.auth, tech, within_days=29) == []

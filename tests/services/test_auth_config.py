"""Security parameters come from site settings (and the argon2 cost from the environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from printpharm.errors import InputError, MigrationError, PermissionDenied
from printpharm.services.access.passwords import HasherConfig
from printpharm.services.control.site_settings import change_setting
from printpharm.services.station.records_app import (
    HASHER_ENV,
    auth_config_from_settings,
    initialise,
    open_records,
    upgrade_database,
)
from tests.storage._dbs import DbSpec, db_spec

__all__ = ["db_spec"]

CHEAP = HasherConfig(1, 8, 1)


def test_defaults_follow_the_compliance_table() -> None:
    config = auth_config_from_settings({}, CHEAP)
    assert (config.lockout_threshold, config.idle_timeout_s) == (5, 900)
    assert (config.policy.min_length, config.policy.history, config.policy.max_age_days) == (
        12,
        5,
        0,
    )


def test_site_settings_override_the_defaults() -> None:
    config = auth_config_from_settings(
        {"auth.lockout_threshold": 3, "session.idle_timeout_s": 300, "password.min_length": 14},
        CHEAP,
    )
    assert (config.lockout_threshold, config.idle_timeout_s, config.policy.min_length) == (
        3,
        300,
        14,
    )
    assert config.hasher == CHEAP


@pytest.mark.parametrize(
    "settings",
    [{"auth.lockout_threshold": "5"}, {"password.min_length": 6}, {"session.idle_timeout_s": 0}],
)
def test_bad_settings_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(InputError):
        auth_config_from_settings(settings, CHEAP)


def test_settings_changed_by_an_administrator_take_effect(
    db_spec: DbSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HASHER_ENV, "1,8,1")
    url = db_spec.url
    if db_spec.connect_args:
        url += "?options=" + db_spec.connect_args["options"].replace("=", "%3D")
    with pytest.raises(MigrationError, match="db upgrade"):
        open_records(url)
    assert upgrade_database(url)[0] is None
    initialise(url, "admin", "Ada Admin", "correct-horse-42-battery")
    with pytest.raises(PermissionDenied):
        initialise(url, "admin2", "Eve", "correct-horse-42-battery")
    services = open_records(url)
    session = services.auth.login("admin", "correct-horse-42-battery")
    change_setting(
        services.auth, session, "auth.lockout_threshold", "4", "SOP SEC-3 rev 4",
        "correct-horse-42-battery",
    )  # fmt: skip
    services.close()
    services = open_records(url)
    assert services.auth.config.lockout_threshold == 4
    session = services.auth.login("admin", "correct-horse-42-battery")
    with services.auth.uow(write=False) as uow:
        events = uow.events()
    services.close()
    before, after = events[0].config_version, events[-1].config_version
    assert before.startswith("cfg-") and after.startswith("cfg-") and before != after
    assert session.user_id == "admin"


@pytest.mark.parametrize("value", ["fast", "1,2", "0,8,1", "1,4,1"])
def test_bad_hasher_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    upgrade_database(url)
    monkeypatch.setenv(HASHER_ENV, value)
    with pytest.raises(InputError, match=HASHER_ENV):
        open_records(url)


def test_integrity_check_records_an_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REC-05 / OPS-06: a broken chain found at start-up is an alarm and an audit event."""
    import sqlite3

    monkeypatch.setenv(HASHER_ENV, "1,8,1")
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    initialise(url, "admin", "Ada Admin", "correct-horse-42-battery")
    services = open_records(url)
    assert services.integrity_check().ok
    services.close()
    con = sqlite3.connect(tmp_path / "p.sqlite3")
    con.execute("DROP TRIGGER audit_events_no_update")
    con.execute("UPDATE audit_events SET reason = 'edited' WHERE seq = 1")
    con.commit()
    con.close()
    services = open_records(url)
    report = services.integrity_check()
    with services.auth.uow(write=False) as uow:
        alarms = uow.alarms.unacknowledged()
        (event,) = uow.events(action="integrity-check-failed")
    services.close()
    assert not report.ok and report.first_broken is not None and report.first_broken.seq == 1
    assert [a.kind for a in alarms] == ["integrity.audit-chain"]
    assert event.record_id == "1" and event.new()["problem"] == "content"

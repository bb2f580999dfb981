"""The Administration page's glue: settings rows, calibration dates, balances (no Qt)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from printpharm.errors import InputError, PermissionDenied
from printpharm.services.station.admin import SiteAdmin, parse_calibration_date
from printpharm.services.station.equipment_desk import EquipmentDesk
from printpharm.services.station.records_app import HASHER_ENV
from printpharm.services.station.workstation import StationSession

ADMIN = ("admin.root", "Ada Admin", "correct-horse-42-battery")
TECH = ("t.nguyen", "Tam Nguyen", "nguyen-technician-pass-3")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-13-01", "22.11.2026", "20261122", "yesterday", ""])
def test_a_calibration_date_must_be_yyyy_mm_dd(text: str) -> None:
    with pytest.raises(InputError, match=r"is not a date YYYY-MM-DD"):
        parse_calibration_date(text)


def test_a_calibration_date_is_parsed() -> None:
    assert parse_calibration_date(" 2026-11-01 ") == date(2026, 11, 1)


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StationSession]:
    monkeypatch.setenv(HASHER_ENV, "1,8,1")
    station = StationSession(f"sqlite:///{tmp_path / 'admin.sqlite3'}", lambda: NOW)
    station.create_administrator(*ADMIN)
    station.login(ADMIN[0], ADMIN[2])
    yield station
    station.close()


def test_bad_date_and_future_date_are_refused(session: StationSession) -> None:
    site = SiteAdmin(session)
    with pytest.raises(InputError, match=r"'1/11/2026' is not a date YYYY-MM-DD"):
        site.register_balance("B1", "XS205", "1/11/2026")
    with pytest.raises(InputError, match="in the future"):
        site.register_balance("B1", "XS205", "2026-11-23")
    with pytest.raises(InputError, match="serial number"):
        site.register_balance("  ", "XS205", "2026-11-01")
    assert site.balances() == []


def test_a_balance_row_has_its_due_date_and_validity(session: StationSession) -> None:
    site = SiteAdmin(session)
    row = site.register_balance(" B1 ", "", "2025-11-22")
    assert (row.serial, row.model, row.due, row.valid) == ("B1", "", date(2026, 11, 22), True)
    row = site.register_balance("B2", "XS205", "2025-11-21")
    assert (row.due, row.valid) == (date(2026, 11, 21), False)
    site.change_setting("devices.balance_calibration_valid_days", "730", "two-year cycle", ADMIN[2])
    assert [b.valid for b in site.balances()] == [True, True]


def test_settings_rows_show_origin_and_refuse_the_same_value(session: StationSession) -> None:
    site = SiteAdmin(session)
    row = site.change_setting("auth.lockout_threshold", "3", "audit finding 7", ADMIN[2])
    assert (row.value, row.version, row.changed_by, row.on_restart) == ("3", 1, ADMIN[0], True)
    assert row.origin.startswith(f"version 1 by {ADMIN[0]}, 2026-11-22")
    with pytest.raises(InputError, match="already 3"):
        site.change_setting("auth.lockout_threshold", "3", "again", ADMIN[2])


def test_only_an_administrator_registers_a_balance(session: StationSession) -> None:
    EquipmentDesk(session).add_training(TECH[0], "role", "technician", "2026-11-01", "T. Trainer")
    one_time = session.add_user(TECH[0], TECH[1], "technician")
    session.logout()
    session.login(TECH[0], one_time)
    session.change_password(one_time, TECH[2])
    site = SiteAdmin(session)
    assert not site.may_configure()
    assert len(site.settings()) > 0  # reading is allowed
    with pytest.raises(PermissionDenied):
        site.register_balance("B1", "XS205", "2026-11-01")


def test_a_security_setting_shows_the_value_still_in_use_until_restart(
    session: StationSession,
) -> None:
    site = SiteAdmin(session)
    row = site.change_setting("session.idle_timeout_s", "600", "clean room", ADMIN[2])
    assert (row.value, row.running, row.shown_value) == ("600", "900", "600 (900 until restart)")
    row = site.change_setting("qc.mass_uniformity_policy", "gn_rounding", "SOP QA-12", ADMIN[2])
    assert (row.running, row.shown_value, row.on_restart) == (None, "gn_rounding", False)

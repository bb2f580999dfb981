"""Batch records, units (raw readings kept) and registered devices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from printpharm.errors import InputError, RecordError
from printpharm.storage.batches import UnitReading
from printpharm.storage.db import Database
from printpharm.storage.repositories import UnitOfWork, UserRecord, unit_of_work
from tests.storage._dbs import make_context

AT = datetime(2026, 5, 4, 10, 0, 0, 250000, tzinfo=UTC)


def _with_user(uow: UnitOfWork) -> None:
    uow.users.add(UserRecord("tech1", "Tess Tech", "technician", "$argon2id$x", AT, AT))


def _reading(i: int) -> UnitReading:
    return UnitReading(
        i,
        Decimal("250.0"),
        Decimal("0.2513"),
        "g",
        AT,
        True,
        "interface",
        Decimal("1.02"),
        f"S S     0.{2510 + i} g",
    )


def test_batch_with_units_round_trips_exactly(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _with_user(uow)
        created = uow.batches.create("B-1", Decimal("12.50"), 3, "tech1", AT, False, {"ink": "x"})
        for i in (2, 1):
            uow.batches.add_unit("B-1", _reading(i))
    assert created.status == "planned" and created.version == 1
    with unit_of_work(db, make_context(), write=False) as uow:
        row = uow.batches.get("B-1")
    assert row is not None
    assert row.target_dose_mg == Decimal("12.50") and row.details == {"ink": "x"}
    assert [u.unit_index for u in row.units] == [1, 2]
    assert row.units[0] == _reading(1)
    assert row.units[0].raw_line == "S S     0.2511 g"


def test_records_are_never_overwritten(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _with_user(uow)
        uow.batches.create("B-1", Decimal("5"), 2, "tech1", AT)
        uow.batches.add_unit("B-1", _reading(1))
    for action in (
        lambda u: u.batches.create("B-1", Decimal("5"), 2, "tech1", AT),
        lambda u: u.batches.add_unit("B-1", _reading(1)),
        lambda u: u.batches.add_unit("B-404", _reading(1)),
    ):
        with pytest.raises(RecordError):
            with unit_of_work(db, make_context()) as uow:
                action(uow)


def test_status_moves_follow_the_lifecycle(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _with_user(uow)
        uow.batches.create("B-1", Decimal("5"), 2, "tech1", AT)
        with pytest.raises(RecordError, match="cannot go from planned to released"):
            uow.batches.set_status("B-1", "released")
        assert uow.batches.set_status("B-1", "printing").version == 1
        uow.batches.add_unit("B-1", _reading(1))
        assert uow.batches.set_status("B-1", "completed").version == 2
        released = uow.batches.set_status("B-1", "released", "QP release")
        assert (released.status, released.version, released.status_reason) == (
            "released",
            2,
            "QP release",
        )
        with pytest.raises(RecordError, match="final"):
            uow.batches.add_unit("B-1", _reading(2))
        with pytest.raises(RecordError):
            uow.batches.set_status("B-1", "rejected")
        assert uow.batches.ids() == ["B-1"] and uow.batches.ids("printing") == []


def test_devices_are_registered_by_serial_number(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        first = uow.devices.register("balance", "B123", AT, "XPR205", None, date(2026, 1, 5))
        again = uow.devices.register("balance", "B123", AT, calibration_date=date(2026, 6, 1))
        printer = uow.devices.register("printer", "B123", AT, "SSE-1", "Marlin 2.1.2")
        with pytest.raises(InputError):
            uow.devices.register("scale", "S1", AT)
    assert first.id == again.id != printer.id
    assert (again.model, again.calibration_date) == ("XPR205", date(2026, 6, 1))
    with unit_of_work(db, make_context(), write=False) as uow:
        found = uow.devices.get("printer", "B123")
        assert found is not None and found.firmware == "Marlin 2.1.2"
        assert uow.devices.get("printer", "nope") is None

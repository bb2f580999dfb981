"""The printers' uses besides batches (migration 0012): newest first, append-only, reversible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from printpharm.storage.db import Database
from printpharm.storage.printer_uses import PrinterUse
from printpharm.storage.repositories import UserRecord, unit_of_work
from tests.storage._dbs import DbSpec, make_context
from tests.storage.test_calibration_weighting import _downgrade, empty_spec

__all__ = ["empty_spec"]

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _use(printer: int, minutes: int, api: str, cytotoxic: bool) -> PrinterUse:
    at = AT + timedelta(minutes=minutes)
    return PrinterUse(printer, at, "tech1", "calibration", f"series at {minutes}", api, cytotoxic)


def test_the_last_use_is_the_newest_of_that_printer(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        uow.users.add(UserRecord("tech1", "Tess", "technician", "$argon2id$x", AT, AT))
        one = uow.equipment.add("printer", "uuid-1", "PR-01", AT)
        two = uow.equipment.add("printer", "uuid-2", "PR-02", AT)
        assert uow.printer_uses.last(one) is None
        uow.printer_uses.add(_use(one, 5, "cyclophosphamide", True))
        uow.printer_uses.add(_use(one, 9, "propranolol", False))
        uow.printer_uses.add(_use(two, 30, "minoxidil", False))
        uow.printer_uses.add(_use(one, 1, "sildenafil", False))  # older, stored later
    with unit_of_work(db, make_context(), write=False) as uow:
        last = uow.printer_uses.last(one)
    assert last is not None and (last.api, last.cytotoxic) == ("propranolol", False)
    assert last.used_at == AT + timedelta(minutes=9) and last.reference == "series at 9"


def test_migration_0012_adds_an_append_only_table_and_goes_back(empty_spec: DbSpec) -> None:
    database = empty_spec.open()
    try:
        database.upgrade()
        with unit_of_work(database, make_context()) as uow:
            uow.users.add(UserRecord("tech1", "Tess", "technician", "$argon2id$x", AT, AT))
            printer = uow.equipment.add("printer", "uuid-1", "PR-01", AT)
            uow.printer_uses.add(_use(printer, 0, "cyclophosphamide", True))
        for statement in ("UPDATE printer_uses SET cytotoxic = false", "DELETE FROM printer_uses"):
            with pytest.raises(DBAPIError, match="printer_uses is append-only|refused"):
                with database.engine.begin() as conn:
                    conn.exec_driver_sql(statement)
        _downgrade(database, "0011")
        assert "printer_uses" not in sa.inspect(database.engine).get_table_names()
        database.upgrade()
        assert database.current_revision() == database.head_revision()
        assert "printer_uses" in sa.inspect(database.engine).get_table_names()
    finally:
        database.dispose()

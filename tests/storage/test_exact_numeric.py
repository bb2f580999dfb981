"""Exact decimals are stored exactly on both back-ends (migration 0013).

Before, PostgreSQL's exact columns were ``NUMERIC(18, 6)``, which rounds without an
error: a dose of 12.1234567 mg read back as 12.123457 and a unit's target mass
(7 mg ÷ 30 mg/g = 233.33… mg) lost every digit after the sixth, while SQLite kept
them — two back-ends, two different records of the same batch.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
import sqlalchemy as sa

from printpharm.storage.batches import UnitReading
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work
from tests.storage._dbs import DbSpec, make_context
from tests.storage.test_batches import AT, _with_user
from tests.storage.test_calibration_weighting import _downgrade, empty_spec

__all__ = ["empty_spec"]

DOSE = Decimal("12.1234567")


def _target_mass() -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 34
        return Decimal(7) / Decimal("0.030")  # 7 mg at 30 mg/g dried: 233.333… mg


def _record(database: Database, batch_id: str, dose: Decimal, *, user: bool = True) -> None:
    with unit_of_work(database, make_context()) as uow:
        if user:
            _with_user(uow)
        uow.batches.create(batch_id, dose, 1, "tech1", AT)
        uow.batches.add_unit(batch_id, UnitReading(1, _target_mass()))


def _read(database: Database, batch_id: str) -> tuple[Decimal, Decimal]:
    with unit_of_work(database, make_context(), write=False) as uow:
        row = uow.batches.get(batch_id)
    assert row is not None
    return row.target_dose_mg, row.units[0].target_mass_mg


def test_a_dose_and_a_target_mass_read_back_with_every_digit(db: Database) -> None:
    _record(db, "B-1", DOSE)
    dose, target = _read(db, "B-1")
    assert dose == DOSE  # PostgreSQL read 12.123457
    assert target == _target_mass() and len(target.as_tuple().digits) == 34


def _scale(database: Database, table: str, column: str) -> int | None:
    found = sa.inspect(database.engine).get_columns(table)
    kind = next(c["type"] for c in found if c["name"] == column)
    return getattr(kind, "scale", None)


def test_migration_0013_makes_postgresql_exact_and_refuses_a_rounding_downgrade(
    empty_spec: DbSpec,
) -> None:
    database = empty_spec.open()
    postgres = database.engine.dialect.name == "postgresql"
    try:
        database.upgrade()
        _downgrade(database, "0012")  # a database as 0012 left it
        assert _scale(database, "batches", "target_dose_mg") == (6 if postgres else None)
        _record(database, "B-OLD", Decimal("12.5"))
        database.upgrade()
        assert database.current_revision() == "0013"
        assert _scale(database, "batches", "target_dose_mg") is None
        assert _read(database, "B-OLD")[0] == Decimal("12.5")  # what was stored stays
        _record(database, "B-NEW", DOSE, user=False)
        assert _read(database, "B-NEW") == (DOSE, _target_mass())
        if postgres:  # going back would round B-NEW: refused, nothing changed
            with pytest.raises(RuntimeError, match=r"batches\.target_dose_mg have more than 6"):
                _downgrade(database, "0012")
            assert database.current_revision() == "0013"
            assert _read(database, "B-NEW") == (DOSE, _target_mass())
        else:  # SQLite keeps exact text at every revision
            _downgrade(database, "0012")
            assert _read(database, "B-NEW") == (DOSE, _target_mass())
    finally:
        database.dispose()

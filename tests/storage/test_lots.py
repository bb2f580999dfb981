"""Ink lots and content-uniformity rows in storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.exc import DBAPIError

from printpharm.errors import RecordError
from printpharm.storage.content_uniformity import CuResult, CuSample
from printpharm.storage.db import Database
from printpharm.storage.lots import LotRecord
from printpharm.storage.repositories import UnitOfWork, UserRecord, unit_of_work
from printpharm.storage.tables import Ink
from tests.storage._dbs import make_context

AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def _seed(uow: UnitOfWork) -> None:
    uow.users.add(UserRecord("tech1", "Tess Tech", "technician", "$argon2id$x", AT, AT))
    uow._session.add(
        Ink(ink_id="ink-a", name="A", drug_load_mg_per_g=Decimal(50),
            density_g_per_ml=Decimal("1.2"), created_at=AT)
    )  # fmt: skip


def _lot(number: str = "L-1") -> LotRecord:
    return LotRecord(
        number, "ink-a", 1, date(2026, 5, 3), "tech1", Decimal("20"), Decimal("20"), "mL",
        "syringe", date(2026, 5, 17), "tech1", AT, "09506000134352",
    )  # fmt: skip


def test_a_lot_round_trips_and_moves_only_forward(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _seed(uow)
        added = uow.lots.add(_lot())
        assert added.id is not None and added.status == "quarantine" and added.version == 1
        with pytest.raises(RecordError, match="never reused"):
            uow.lots.add(_lot())
    with unit_of_work(db, make_context()) as uow:
        after = uow.lots.set_assay("L-1", "mg_per_g", Decimal("49.2"), Decimal("0.8"), "HPLC",
                                   "Ann", Decimal("1.21"))  # fmt: skip
        assert after.version == 2 and after.assay_value == Decimal("49.2")
        uow.lots.set_status("L-1", "released", "ok")
        with pytest.raises(RecordError, match="only be recorded in quarantine"):
            uow.lots.set_assay("L-1", "mg_per_g", Decimal(50), None, "HPLC", None, None)
        with pytest.raises(RecordError, match="cannot become quarantine"):
            uow.lots.set_status("L-1", "quarantine")
        uow.lots.set_status("L-1", "in_use")
        before, now = uow.lots.consume("L-1", Decimal("19.5"))
        assert (before.quantity_remaining, now.quantity_remaining) == (20, Decimal("0.5"))
        _, empty = uow.lots.consume("L-1", Decimal("2"))  # more than is left: never negative
        assert empty.quantity_remaining == 0
        uow.lots.set_status("L-1", "used_up")
    with unit_of_work(db, make_context(), write=False) as uow:
        (stored,) = uow.lots.all(ink_id="ink-a")
        assert stored == uow.lots.find("L-1") and stored.status == "used_up"
        assert stored.gtin == "09506000134352" and stored.density_g_per_ml == Decimal("1.21")
        assert uow.lots.all(status="released") == []


def test_lots_are_never_deleted_and_cu_rows_never_change(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _seed(uow)
        lot = uow.lots.add(_lot())
        uow.batches.create("B-1", Decimal(10), 10, "tech1", AT, False, {}, lot.id)
        uow.cu.add_sample("B-1", CuSample(1, tuple(range(1, 11)), "ab12", "tech1", AT))
        uow.cu.add_results("B-1", [CuResult(3, Decimal("99.1"), "HPLC", "tech1", AT)])
        row = uow.batches.get("B-1")
        assert row is not None and row.version == 3  # each CU change raises the version
        assert row.cu_samples[0].units == tuple(range(1, 11))
        assert row.cu_results == (CuResult(3, Decimal("99.1"), "HPLC", "tech1", AT),)
        with pytest.raises(RecordError, match="chosen already"):
            uow.cu.add_sample("B-1", CuSample(1, (1,), "cd34", "tech1", AT))
    for sql in (
        "DELETE FROM ink_lots",
        "UPDATE cu_samples SET units_json = '[1]'",
        "DELETE FROM cu_samples",
        "UPDATE cu_results SET content_pct = '100'",
        "DELETE FROM cu_results",
    ):
        with pytest.raises(DBAPIError, match="append-only|never deleted"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(sql)

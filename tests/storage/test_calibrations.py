"""Calibration versions in storage (SQLite and PostgreSQL): frozen content, forward-only status."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.exc import DBAPIError

from printpharm.errors import RecordError
from printpharm.storage.calibrations import CalibrationDraft, calibrations
from printpharm.storage.db import Database
from printpharm.storage.lots import LotRecord
from printpharm.storage.repositories import UnitOfWork, UserRecord, unit_of_work
from printpharm.storage.tables import Ink
from tests.storage._dbs import make_context

AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
POINTS = (
    (Decimal("100.0312"), Decimal("120.04")),
    (Decimal("400.1250"), Decimal("480.16")),
    (Decimal("900.2500"), Decimal("1080.29")),
)


def _seed(uow: UnitOfWork) -> None:
    for user_id, role in (("sup1", "supervisor"), ("sup2", "supervisor")):
        uow.users.add(UserRecord(user_id, user_id.upper(), role, f"$argon2id${user_id}", AT, AT))
    uow._session.add(
        Ink(ink_id="ink-a", name="A", drug_load_mg_per_g=Decimal(50),
            density_g_per_ml=Decimal("1.2"), created_at=AT)
    )  # fmt: skip
    uow.lots.add(
        LotRecord("L-1", "ink-a", 1, date(2026, 5, 3), "sup1", Decimal(20), Decimal(20), "mL",
                  "syringe", date(2026, 5, 17), "sup1", AT)
    )  # fmt: skip


def _draft(**changes: object) -> CalibrationDraft:
    values: dict[str, object] = {
        "ink_id": "ink-a", "ink_version": 1, "printer_type": "marlin-sse",
        "a_mg_per_mm3": Decimal("1.199989"), "b_mg": Decimal("0.041"), "r2": Decimal("0.999999"),
        "residual_sd_mg": Decimal("0.012345"), "points": POINTS,
        "context": {"recipe": "calibration-series", "simulated": False},
    }  # fmt: skip
    values.update(changes)
    return CalibrationDraft(**values)  # type: ignore[arg-type]


def test_a_version_round_trips_and_its_status_moves_only_forward(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _seed(uow)
        first = calibrations(uow).add(_draft(), "sup1", AT)
        second = calibrations(uow).add(_draft(printer_asset="PR-01", lot_number="L-1"), "sup1", AT)
    assert (first.version, second.version) == (1, 2)
    assert first.record_id == "CAL-v1" and first.status == "draft" and first.intact()
    with unit_of_work(db, make_context()) as uow:
        repo = calibrations(uow)
        stored = repo.get(2)
        assert stored is not None and stored.intact()
        assert stored.points == POINTS and stored.n_points == 3
        assert (stored.v_min_mm3, stored.v_max_mm3) == (Decimal("100.0312"), Decimal("900.25"))
        assert stored.a_mg_per_mm3 == Decimal("1.199989") and stored.lot_number == "L-1"
        assert stored.context == {"recipe": "calibration-series", "simulated": False}
        with pytest.raises(RecordError, match="draft and cannot become locked"):
            repo.set_status(2, "locked", AT, "sup2")
        repo.set_status(2, "validated", AT, "sup2")
        locked = repo.set_status(2, "locked", AT, "sup2")
        assert (locked.validated_by, locked.locked_by, locked.locked_at) == ("sup2", "sup2", AT)
        with pytest.raises(RecordError, match="cannot become validated"):
            repo.set_status(2, "validated", AT, "sup2")
        repo.set_status(2, "retired", AT, reason="superseded")
        with pytest.raises(RecordError, match="does not exist"):
            repo.set_status(9, "retired", AT)
    with unit_of_work(db, make_context(), write=False) as uow:
        repo = calibrations(uow)
        assert [c.version for c in repo.all(ink_id="ink-a")] == [2, 1]
        assert [c.version for c in repo.all(status="retired")] == [2]
        assert repo.all(printer_type="marlin-fdm") == [] and repo.get(9) is None


def test_more_places_than_the_database_keeps_are_refused(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _seed(uow)
        with pytest.raises(RecordError, match="at most 6 decimals"):
            calibrations(uow).add(_draft(a_mg_per_mm3=Decimal("1.1999891")), "sup1", AT)
        with pytest.raises(RecordError, match="without points"):
            calibrations(uow).add(_draft(points=()), "sup1", AT)


def test_the_database_refuses_edits_deletes_and_backward_moves(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _seed(uow)
        calibrations(uow).add(_draft(), "sup1", AT)
    for sql in (
        "DELETE FROM calibrations",
        "UPDATE calibrations SET b_mg = '0.5'",
        "UPDATE calibrations SET points_json = '[]'",
        "UPDATE calibrations SET fitted_by = 'sup2'",
    ):
        with pytest.raises(DBAPIError, match="append-only|never changes"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(sql)
    with db.engine.begin() as conn:  # a status move is allowed (the services decide which)
        conn.exec_driver_sql("UPDATE calibrations SET status = 'locked'")
    with pytest.raises(DBAPIError, match="never changes"):
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE calibrations SET status = 'draft'")

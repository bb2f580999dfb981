"""The GMP records of issues 12 and 14 are sealed like every protected row (issue 13).

Ink lots, content-uniformity samples and results, the equipment register's events,
check weights, balance checks, the cleaning log, training records and the printers' uses
(calibration series) decide whether a batch may be made or released. Each is edited,
inserted or deleted in SQL by a forger with the triggers off (as the database owner or a
copy of the file would), on SQLite and PostgreSQL: ``verify_integrity`` (what
``printpharm audit verify`` runs) must report the table and key, and leave the chain
itself intact. With the triggers on, PostgreSQL refuses such a change at commit, and
neither back-end deletes a check weight.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from printpharm.storage.content_uniformity import CuResult, CuSample
from printpharm.storage.db import Database
from printpharm.storage.equipment import CheckWeightRecord
from printpharm.storage.lots import LotRecord
from printpharm.storage.printer_uses import PrinterUse
from printpharm.storage.repositories import UnitOfWork, unit_of_work
from printpharm.storage.rowseal import PROTECTED
from printpharm.storage.sitekey import create_site_key
from printpharm.storage.tables import Ink
from printpharm.storage.training import TrainingEntry
from tests.storage._dbs import FakeClock, make_context
from tests.storage.test_forgery import Keyed, _populate

AT = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
#: Every table this file forges: the GMP records of issues 12 and 14.
GMP_TABLES = ("ink_lots", "cu_samples", "cu_results", "equipment_events", "check_weights",
              "balance_checks", "cleaning_log", "training_records", "printer_uses")  # fmt: skip


def _records(uow: UnitOfWork) -> None:
    """One row of each GMP table, written by printpharm's storage code (sealed)."""
    uow._session.add(
        Ink(ink_id="ink-a", name="A", drug_load_mg_per_g=Decimal(50),
            density_g_per_ml=Decimal("1.2"), created_at=AT)
    )  # fmt: skip
    lot = uow.lots.add(
        LotRecord(
            "L-1",
            "ink-a",
            1,
            date(2026, 3, 28),
            "tech1",
            Decimal(20),
            Decimal(20),
            "mL",
            "syringe",
            date(2026, 4, 11),
            "tech1",
            AT,
            assay_basis="mg_per_g",
            assay_value=Decimal("49.2"),
            assay_method="HPLC",
        )  # fmt: skip
    )
    uow.batches.create("B2", Decimal("10"), 2, "tech1", AT, ink_lot_id=lot.id)
    uow.cu.add_sample("B2", CuSample(1, (1, 2), "seed-1", "tech1", AT))
    uow.cu.add_results("B2", [CuResult(n, Decimal("99.5"), "HPLC", "tech1", AT) for n in (1, 2)])
    balance = uow.equipment.add("balance", "1126493049", "BAL-01", AT, model="XS205")
    uow.equipment_events.add(balance, "IQ", date(2026, 3, 1), "QP-IQ-01", "sup1", AT)
    uow.check_weights.put(
        CheckWeightRecord(
            "W-100",
            Decimal(100),
            Decimal("100.00003"),
            Decimal("0.05"),
            "E2",
            "CAL-1",
            date(2027, 3, 1),
            "sup1",
            AT,
        )  # fmt: skip
    )
    uow.balance_checks.add(balance, AT, "tech1", {"id": "W-100"}, {"n": 10},
                           {"rule": "ph_eur"}, False, Decimal("820"))  # fmt: skip
    uow.cleaning.add(balance, AT, "tech1", "SOP-CLEAN-1", "pan", False)
    printer = uow.equipment.add("printer", "0f3c2a4e-uuid", "PR-01", AT, model="SSE-1")
    series = "calibration series of ink-a"
    uow.printer_uses.add(
        PrinterUse(printer, AT, "tech1", "calibration", series, "cyclophosphamide", True)
    )
    uow.training.add(
        TrainingEntry(
            0,
            "tech1",
            "role",
            "technician",
            date(2026, 1, 5),
            date(2027, 1, 5),
            "Tara Trainer",
            None,
            "sup1",
            AT,
        )  # fmt: skip
    )


@pytest.fixture
def keyed(db: Database, tmp_path: Path) -> Iterator[Keyed]:
    clock = FakeClock()
    key = create_site_key(tmp_path / "keys")
    with unit_of_work(db, make_context(clock)) as uow:
        uow.register_key(key, None, "admin")
    env = Keyed(db, key, clock)
    with env.uow() as uow:
        _populate(uow)
        _records(uow)
    yield env


def test_every_gmp_table_is_protected_and_verifies_untouched(keyed: Keyed) -> None:
    assert set(GMP_TABLES) <= set(PROTECTED)
    report = keyed.verify()
    assert report.ok, report.problems()
    with keyed.db.engine.connect() as conn:
        sealed = {
            rid.split("/")[0]
            for (rid,) in conn.execute(
                text("SELECT record_id FROM audit_events WHERE record_type = 'row'")
            )
        }
    assert set(GMP_TABLES) <= sealed  # each row was sealed by its own write


FORGERIES = [
    ("UPDATE ink_lots SET status = 'released', assay_value = 60", "ink_lots"),
    ("UPDATE cu_samples SET units_json = '[3, 1]'", "cu_samples"),
    ("UPDATE cu_results SET content_pct = 100 WHERE unit_index = 2", "cu_results"),
    ("UPDATE equipment_events SET kind = 'PQ'", "equipment_events"),
    ("UPDATE check_weights SET conventional_mass_g = 100.1", "check_weights"),
    ("UPDATE balance_checks SET passed = NOT passed", "balance_checks"),
    ("UPDATE cleaning_log SET cytotoxic = NOT cytotoxic", "cleaning_log"),
    ("UPDATE training_records SET expires_on = '2099-01-05'", "training_records"),
    (
        "INSERT INTO training_records (user_id, subject_kind, subject, trained_on, expires_on, "
        "trainer, recorded_by, recorded_at) VALUES ('tech1', 'role', 'supervisor', "
        "'2026-01-05', '2099-01-05', 'nobody', 'sup1', '2026-03-29 00:00:00')",
        "training_records",
    ),
    ("DELETE FROM cleaning_log", "cleaning_log"),
    # a cytotoxic calibration series made harmless, or removed, to skip the cleaning
    ("UPDATE printer_uses SET cytotoxic = NOT cytotoxic", "printer_uses"),
    ("DELETE FROM printer_uses", "printer_uses"),
]


@pytest.mark.parametrize(("statement", "table"), FORGERIES, ids=[t for _, t in FORGERIES])
def test_a_gmp_record_changed_in_sql_is_reported_with_its_table_and_key(
    keyed: Keyed, statement: str, table: str
) -> None:
    keyed.sql(statement)
    report = keyed.verify()
    assert not report.ok
    assert {p.table for p in report.row_problems} == {table}, report.problems()
    assert report.chain.ok and not report.key_problems  # the chain itself is untouched


def _commit(db: Database, statement: str) -> None:
    with db.engine.begin() as conn:  # as the workstation role would: triggers on
        conn.execute(text(statement))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ink_lots SET status = 'released'",
        "UPDATE check_weights SET certificate = 'forged'",
        FORGERIES[8][0],  # a training record for a role, inserted without its audit event
    ],
)
def test_postgresql_refuses_a_gmp_change_without_its_audit_event(
    keyed: Keyed, statement: str
) -> None:
    if keyed.db.dialect != "postgresql":
        pytest.skip("SQLite relies on the site key and the anchors (verify reports it)")
    with pytest.raises(DBAPIError, match="without its audit event"):
        _commit(keyed.db, statement)


#: GMP tables whose rows are never changed once written (migrations 0005, 0006 and 0012).
APPEND_ONLY = ("cu_samples", "cu_results", "equipment_events", "balance_checks", "cleaning_log",
               "training_records", "printer_uses")  # fmt: skip


@pytest.mark.parametrize("table", GMP_TABLES)
def test_no_back_end_deletes_a_gmp_record(keyed: Keyed, table: str) -> None:
    """As the workstation connects (triggers on): DELETE is refused on SQLite and PostgreSQL."""
    with pytest.raises(DBAPIError, match="never deleted|append-only"):
        _commit(keyed.db, f"DELETE FROM {table}")
    report = keyed.verify()
    assert report.ok, report.problems()  # nothing was lost
    with unit_of_work(keyed.db, keyed.context, write=False) as uow:
        assert [w.weight_id for w in uow.check_weights.all()] == ["W-100"]


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_no_back_end_changes_an_append_only_gmp_record(keyed: Keyed, table: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        _commit(keyed.db, f"UPDATE {table} SET id = id")


def _release_problems(keyed: Keyed) -> Any:
    with unit_of_work(keyed.db, keyed.context, write=False) as uow:
        return uow.batch_row_problems("B2")


def test_a_batch_whose_content_uniformity_or_lot_was_forged_fails_its_row_check(
    keyed: Keyed,
) -> None:
    """What a release checks: the batch's own rows, its CU rows and the lot it was made from."""
    assert _release_problems(keyed) == []
    keyed.sql("UPDATE cu_results SET content_pct = 100 WHERE unit_index = 2")
    (problem,) = _release_problems(keyed)
    assert problem.startswith("cu_results row ")
    keyed.sql("UPDATE ink_lots SET assay_value = 60")
    assert _release_problems(keyed)[1:] == [f"ink lot L-1 (row {_lot_id(keyed)})"]


def _lot_id(keyed: Keyed) -> int:
    with keyed.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM ink_lots")).scalar_one())


def test_every_protected_table_has_its_postgresql_trigger(db: Database) -> None:
    """A table added to the protected list needs a migration that protects it too."""
    if db.dialect != "postgresql":
        pytest.skip("the row-event triggers are PostgreSQL's")
    with db.engine.connect() as conn:
        triggers = {
            name
            for (name,) in conn.execute(
                text(
                    "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
                )
            )
        }
    assert {f"{table}_row_event" for table in PROTECTED} <= triggers

"""Upgrading a 0006 database (ink lots, equipment) to the keyed audit chain (issue 13).

A pharmacy that ran the lots and equipment release has real records: lots and their
content-uniformity results, the equipment register with qualification, balance checks,
cleaning and training, and an audit chain. Migration ``0008`` seals every such row as
found, so that ``audit verify`` passes straight after the upgrade (and once the site
key is made), the chain written before is continued, and an edit made afterwards in SQL
is reported with its table and key.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import printpharm.storage.content_uniformity  # noqa: F401  (maps cu_samples/cu_results)
from printpharm.storage.audit import AuditEntry
from printpharm.storage.canonical import event_hash, format_utc_ms
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work
from printpharm.storage.rowseal import PROTECTED
from printpharm.storage.sitekey import create_site_key
from printpharm.storage.tables import Base
from tests.storage._dbs import DbSpec, FakeClock, make_context

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
#: The tables of the lots and equipment work, each given at least one row below.
LOTS_AND_EQUIPMENT = (
    *("ink_lots", "cu_samples", "cu_results", "devices", "equipment_events"),
    *("check_weights", "balance_checks", "cleaning_log", "training_records"),
)


def _user(user_id: str, role: str) -> dict[str, Any]:
    return {"user_id": user_id, "full_name": user_id.title(), "role": role, "active": True,
            "password_hash": f"$argon2id$v=19$m=8,t=1,p=1$fake-{user_id}",
            "password_changed_at": AT, "must_change_password": False, "failed_attempts": 0,
            "locked": False, "created_at": AT}  # fmt: skip


#: What a 0006 workstation had written: table → rows (Python values, typed by the models).
ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [
        _user("admin", "administrator"),
        _user("tech1", "technician"),
        _user("sup1", "supervisor"),
    ],  # fmt: skip
    "inks": [
        {
            "ink_id": "cyclophosphamide-sse-chewable",
            "name": "CPM paste",
            "drug_load_mg_per_g": Decimal(50),
            "density_g_per_ml": Decimal("1.2"),
            "created_at": AT,
        }
    ],  # fmt: skip
    "ink_lots": [
        {
            "id": 1,
            "ink_id": "cyclophosphamide-sse-chewable",
            "lot_number": "L-1",
            "ink_version": 1,
            "prepared_on": DAY,
            "prepared_by": "tech1",
            "quantity": Decimal(20),
            "quantity_remaining": Decimal("17.25"),
            "quantity_unit": "mL",
            "container": "2 x 10 mL syringes",
            "beyond_use_date": date(2026, 12, 4),
            "assay_basis": "mg_per_g",
            "assay_value": Decimal("49.2"),
            "assay_uncertainty": Decimal("0.8"),
            "assay_method": "HPLC-UV",
            "status": "in_use",
            "version": 1,
            "recorded_by": "tech1",
            "received_at": AT,
        }
    ],  # fmt: skip
    "devices": [
        {
            "id": 1,
            "kind": "balance",
            "serial_number": "1126493049",
            "model": "XS205 DualRange",
            "registered_at": AT,
            "asset_tag": "BAL-01",
            "status": "in_service",
        },
        {
            "id": 2,
            "kind": "printer",
            "serial_number": "00000000-0000-4000-8000-000000000000",
            "model": "Bench SSE",
            "firmware": "Marlin 2.1.2.1",
            "registered_at": AT,
            "asset_tag": "PR-01",
            "status": "in_service",
            "printer_type": "marlin-sse",
        },
    ],  # fmt: skip
    "equipment_events": [
        {
            "device_id": d,
            "kind": k,
            "performed_on": DAY,
            "document_ref": f"QP-{k}-01",
            "recorded_by": "sup1",
            "recorded_at": AT,
        }
        for d, k in ((1, "IQ"), (1, "OQ"), (2, "IQ"), (2, "calibration"))
    ],  # fmt: skip
    "check_weights": [
        {
            "weight_id": "W-100",
            "nominal_g": Decimal(100),
            "conventional_mass_g": Decimal("100.00003"),
            "uncertainty_mg": Decimal("0.05"),
            "weight_class": "E2",
            "certificate": "CAL-0142",
            "certificate_expiry": date(2027, 11, 2),
            "registered_by": "admin",
            "registered_at": AT,
        }
    ],  # fmt: skip
    "balance_checks": [
        {
            "device_id": 1,
            "checked_at": AT,
            "checked_by": "tech1",
            "weight_json": '{"id": "W-100"}',
            "readings_json": "[100.00002]",
            "result_json": '{"passed": true}',
            "passed": True,
            "minimum_weight_mg": Decimal("82.0"),
        }
    ],  # fmt: skip
    "cleaning_log": [
        {
            "device_id": 2,
            "cleaned_at": AT,
            "cleaned_by": "tech1",
            "method_sop": "SOP-CYTO-2",
            "parts": "nozzle, plate",
            "cytotoxic": True,
            "checked_by": "sup1",
        }
    ],  # fmt: skip
    "training_records": [
        {
            "user_id": u,
            "subject_kind": "role",
            "subject": r,
            "trained_on": date(2026, 1, 5),
            "expires_on": date(2027, 1, 5),
            "trainer": "Tara Trainer",
            "recorded_by": "admin",
            "recorded_at": AT,
        }
        for u, r in (("tech1", "technician"), ("sup1", "supervisor"))
    ],  # fmt: skip
    "batches": [
        {
            "batch_id": "B-1",
            "ink_lot_id": 1,
            "printer_id": 2,
            "balance_id": 1,
            "target_dose_mg": Decimal(15),
            "units_count": 10,
            "status": "completed",
            "version": 3,
            "research_mode": False,
            "created_by": "tech1",
            "created_at": AT,
            "details_json": '{"recipe": {"id": "cpm-chewable-disc"}}',
        }
    ],  # fmt: skip
    "units": [
        {
            "batch_id": "B-1",
            "unit_index": n,
            "target_mass_mg": Decimal("304.88"),
            "raw_reading": Decimal("0.30491"),
            "reading_unit": "g",
            "reading_at": AT,
            "reading_stable": True,
            "capture_method": "interface",
            "flow_correction": Decimal(100),
            "raw_line": "S S      0.30491 g",
        }
        for n in range(1, 11)
    ],  # fmt: skip
    "cu_samples": [
        {
            "batch_id": "B-1",
            "stage": 1,
            "units_json": "[1,2,3,4,5,6,7,8,9,10]",
            "seed": "0" * 32,
            "selected_by": "tech1",
            "selected_at": AT,
        }
    ],  # fmt: skip
    "cu_results": [
        {
            "batch_id": "B-1",
            "unit_index": n,
            "content_pct": Decimal("99.5"),
            "method": "HPLC-UV",
            "analyst": "Ann Analyst",
            "entered_by": "tech1",
            "entered_at": AT,
        }
        for n in range(1, 11)
    ],  # fmt: skip
    "alarms": [
        {
            "batch_id": "B-1",
            "kind": "balance.unstable",
            "severity": "low",
            "message": "unit 4 weighed twice",
            "raised_at": AT,
        }
    ],  # fmt: skip
}


def _events(count: int) -> list[dict[str, Any]]:
    """A valid chain of ``count`` events, as a 0006 workstation appended them."""
    prev, events = "0" * 64, []
    for seq in range(1, count + 1):
        content = {
            "seq": seq, "occurred_at": format_utc_ms(AT), "local_tz": "UTC UTC+00:00",
            "user_id": "tech1", "user_name": "Tech1", "record_type": "ink_lot",
            "record_id": "L-1", "action": "create" if seq == 1 else "consume", "field": None,
            "reason": None, "old_value": None, "new_value": f'{{"n":{seq}}}', "batch_id": None,
            "workstation": "ws-old", "app_version": "0.1.0", "config_version": "cfg",
            "mode": "locked", "clock_setback": False, "prev_hash": prev,
        }  # fmt: skip
        prev = event_hash(content)
        events.append({**content, "event_hash": prev})
    return events


def _at_0006(spec: DbSpec) -> Database:
    database = spec.open()
    database.upgrade("0007")  # the revision before the keyed audit chain
    assert database.current_revision() == "0007"
    events = _events(3)
    with database.engine.begin() as conn:
        for table, rows in ROWS.items():
            conn.execute(sa.insert(Base.metadata.tables[table]), rows)
        conn.execute(sa.insert(Base.metadata.tables["audit_events"]), events)
        conn.execute(
            sa.text("UPDATE audit_head SET last_seq = :s, last_hash = :h, last_occurred_at = :a"),
            {"s": 3, "h": events[-1]["event_hash"], "a": events[-1]["occurred_at"]},
        )
    return database


def _sealed(database: Database) -> dict[str, int]:
    """Table → how many ``row`` events seal its rows."""
    with database.engine.connect() as conn:
        ids = conn.execute(
            sa.text("SELECT record_id FROM audit_events WHERE record_type = 'row'")
        ).scalars()
        counts: dict[str, int] = {}
        for record_id in ids:
            table = record_id.partition("/")[0]
            counts[table] = counts.get(table, 0) + 1
    return counts


def test_a_0006_database_with_lots_and_equipment_verifies_after_the_upgrade(
    db_spec: DbSpec, tmp_path: Path
) -> None:
    database = _at_0006(db_spec)
    try:
        database.upgrade()
        assert database.current_revision() == database.head_revision()
        sealed = _sealed(database)
        found = {table: len(rows) for table, rows in ROWS.items() if table in PROTECTED}
        assert sealed == found  # every protected row found was sealed, once
        with unit_of_work(database, make_context(), write=False) as uow:
            report = uow.verify_integrity()
            old = uow.events(record_type="ink_lot")
        assert report.ok, report.problems()
        assert report.chain.events == 3 + sum(found.values())
        assert [e.seq for e in old] == [1, 2, 3]  # the chain before the upgrade continues
        # `printpharm init`/the first start then keys the chain; it still verifies
        clock = FakeClock(datetime.now(UTC))  # after the migration's own events
        key = create_site_key(tmp_path / "keys")
        with unit_of_work(database, make_context(clock)) as uow:
            uow.register_key(key, None, "admin")
        keyed = replace(make_context(clock), signer=key)
        with unit_of_work(database, keyed) as uow:
            uow.lots.set_status("L-1", "used_up", "emptied")
            uow.audit.append(AuditEntry("ink_lot", "used-up", "L-1", "tech1"))
        with unit_of_work(database, keyed, write=False) as uow:
            report = uow.verify_integrity()
        assert report.ok and report.key_id == key.key_id, report.problems()
    finally:
        database.dispose()


FORGED = [
    ("UPDATE ink_lots SET assay_value = 60", "ink_lots", "1"),
    ("UPDATE devices SET status = 'in_service', model = 'XS205' WHERE id = 1", "devices", "1"),
    ("UPDATE equipment_events SET kind = 'PQ' WHERE id = 4", "equipment_events", "4"),
    ("UPDATE check_weights SET certificate_expiry = '2099-01-01'", "check_weights", "W-100"),
    ("UPDATE balance_checks SET passed = NOT passed", "balance_checks", "1"),
    ("UPDATE cleaning_log SET checked_by = 'tech1'", "cleaning_log", "1"),
    (
        "UPDATE training_records SET expires_on = '2099-01-05' WHERE id = 1",
        "training_records",
        "1",
    ),  # fmt: skip
    ("UPDATE cu_results SET content_pct = 100 WHERE unit_index = 3", "cu_results", "3"),
]


@pytest.mark.parametrize(("statement", "table", "key"), FORGED, ids=[f[1] for f in FORGED])
def test_a_record_forged_after_the_upgrade_is_reported_with_its_table_and_key(
    db_spec: DbSpec, statement: str, table: str, key: str
) -> None:
    database = _at_0006(db_spec)
    try:
        database.upgrade()
        with database.engine.begin() as conn:  # a forger: triggers off
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            else:
                for name in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).scalars():
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
            conn.execute(sa.text(statement))
        with unit_of_work(database, make_context(), write=False) as uow:
            report = uow.verify_integrity()
        assert report.chain.ok and not report.ok
        assert [(p.table, p.key) for p in report.row_problems] == [(table, key)]
    finally:
        database.dispose()


def test_the_sealed_tables_cover_the_lots_and_equipment_records() -> None:
    assert set(LOTS_AND_EQUIPMENT) <= set(PROTECTED)
    assert set(LOTS_AND_EQUIPMENT) <= set(ROWS)  # and this file gives each of them rows

"""Every table of the schema is protected by a database trigger, or says why not (issue 13).

A table that holds GMP records (batches, units, signatures, the audit trail, ink lots,
content uniformity, the equipment register and its records, training, settings...)
must refuse at least DELETE in the database itself, on SQLite and on PostgreSQL,
whoever connects. A table without any trigger must be listed in
:data:`UNPROTECTED` with the reason it holds no record worth protecting. A new
table added by a migration without triggers therefore fails here until someone
protects it or writes down why it needs no protection.
"""

from __future__ import annotations

import sqlalchemy as sa

from printpharm.storage.db import Database
from printpharm.storage.rowseal import PROTECTED

#: Tables with no trigger, and why that is acceptable. Keep each reason checkable.
UNPROTECTED: dict[str, str] = {
    "alembic_version": "Alembic's schema revision: every upgrade rewrites it; it holds no record",
    "batch_leases": (
        "a running batch's heartbeat, renewed every 20 s and deleted when the run ends; "
        "who made the batch and when is in its sealed batches row and its audit events"
    ),
    "patients": (
        "created by 0001 and never written by printpharm: the patient pseudonym is part of "
        "the sealed batches.details_json"
    ),
    "prescriptions": (
        "created by 0001 and never written by printpharm: the prescription and the dose "
        "calculation are part of the sealed batches.details_json"
    ),
    "roles": (
        "the four role names seeded by 0001 (a users.role foreign key keeps them); what a role "
        "may do is the permission table in code, and each user's role is in the sealed users row"
    ),
}


def _triggers(db: Database) -> dict[str, set[str]]:
    """Table → names of the triggers on it (internal PostgreSQL triggers left out)."""
    found: dict[str, set[str]] = {}
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT c.relname, t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
            ).all()
        else:
            rows = conn.exec_driver_sql(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
            ).all()
    for table, name in rows:
        found.setdefault(table, set()).add(name)
    return found


def _tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_every_table_is_protected_by_a_trigger_or_listed_with_its_reason(db: Database) -> None:
    tables, triggers = _tables(db), _triggers(db)
    unguarded = {t for t in tables if not triggers.get(t)}
    assert unguarded - set(UNPROTECTED) == set(), (
        "tables without any trigger and without a reason in UNPROTECTED: "
        f"{sorted(unguarded - set(UNPROTECTED))}"
    )
    # the list stays honest: each entry exists and is indeed without triggers
    assert set(UNPROTECTED) <= tables
    assert {t for t in UNPROTECTED if triggers.get(t)} == set()


def test_no_sealed_table_is_on_the_unprotected_list() -> None:
    """A table whose rows are sealed into the chain (issue 13) is a GMP record by definition."""
    assert set(PROTECTED) & set(UNPROTECTED) == set()
    lots_and_equipment = {
        *("ink_lots", "cu_samples", "cu_results", "devices", "equipment_events"),
        *("check_weights", "balance_checks", "cleaning_log", "training_records"),
    }
    assert lots_and_equipment - set(PROTECTED) == set()


def _refuses_delete(db: Database, table: str) -> bool:
    """Whether a DELETE of every row of ``table`` is refused by the database (row or not)."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relname = %(t)s "
                "AND NOT t.tgisinternal AND (t.tgtype & 8) <> 0 AND (t.tgtype & 2) <> 0",
                {"t": table},
            ).all()
        else:
            rows = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
                "AND upper(sql) LIKE '%BEFORE DELETE%'",
                (table,),
            ).all()
    return bool(rows)


def test_every_protected_table_refuses_delete_in_the_database(db: Database) -> None:
    """Sealed rows and the chain are never deleted: a BEFORE DELETE trigger on each.

    (What DELETE does to real rows is tested per table in test_forgery_records.py and
    test_lots.py; here: no table of the list was forgotten, on either back-end.)
    """
    must = {*PROTECTED, "audit_events", "audit_head", "alarms", "password_history", "inks",
            "recipes"}  # fmt: skip
    missing = sorted(t for t in must if not _refuses_delete(db, t))
    assert missing == [], f"no BEFORE DELETE trigger on {missing}"

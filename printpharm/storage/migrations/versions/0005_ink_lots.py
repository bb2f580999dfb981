"""Ink lots in the database; content-uniformity samples and results of batches.

``ink_lots`` (created empty by 0001 and never written before) gets what a
pharmacy records of a prepared lot: the ink version, preparation date and
preparer, quantity (mL or g) and what is left, container, beyond-use date, the
bulk assay with its method, analyst and uncertainty, measured density, status
and content version; lot numbers become unique on their own. Lots are never
deleted. Two append-only tables hold the units chosen at random for content
uniformity (per stage, with the seed) and the assay result of each unit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printpharm.storage.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_EXACT = printpharm.storage.tables.ExactDecimal
_UTC = printpharm.storage.tables.UTCDateTime
#: Tables whose rows are never changed or deleted.
APPEND_ONLY = ("cu_samples", "cu_results")

_NEW_LOT_COLUMNS = (
    ("ink_version", sa.Integer(), False),
    ("gtin", sa.String(length=14), True),
    ("prepared_on", sa.Date(), False),
    ("prepared_by", sa.String(length=64), False),
    ("quantity", _EXACT(), False),
    ("quantity_remaining", _EXACT(), False),
    ("quantity_unit", sa.String(length=4), False),
    ("container", sa.String(length=120), False),
    ("assay_basis", sa.String(length=16), True),
    ("assay_value", _EXACT(), True),
    ("assay_uncertainty", _EXACT(), True),
    ("assay_method", sa.String(length=200), True),
    ("assay_analyst", sa.String(length=200), True),
    ("density_g_per_ml", _EXACT(), True),
    ("status", sa.String(length=16), False),
    ("status_reason", sa.Text(), True),
    ("version", sa.Integer(), False),
    ("recorded_by", sa.String(length=64), False),
)


def upgrade() -> None:
    rows = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM ink_lots")).scalar()
    if rows:
        raise RuntimeError(
            f"ink_lots holds {rows} row(s) written outside printpharm; move them aside first"
        )
    with op.batch_alter_table("ink_lots") as batch:
        batch.drop_constraint("uq_ink_lots_ink_id", type_="unique")
        batch.alter_column("expiry_date", new_column_name="beyond_use_date")
        batch.drop_column("assay_mg_per_g")
        for name, kind, nullable in _NEW_LOT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=nullable))
        batch.create_unique_constraint("uq_ink_lots_lot_number", ["lot_number"])
        batch.create_foreign_key(
            "fk_ink_lots_prepared_by_users", "users", ["prepared_by"], ["user_id"]
        )
        batch.create_foreign_key(
            "fk_ink_lots_recorded_by_users", "users", ["recorded_by"], ["user_id"]
        )
    _create_cu_tables()
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgres_triggers()


def _create_cu_tables() -> None:
    op.create_table(
        "cu_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("units_json", sa.Text(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("selected_by", sa.String(length=64), nullable=False),
        sa.Column("selected_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.batch_id"],
                                name=op.f("fk_cu_samples_batch_id_batches")),
        sa.ForeignKeyConstraint(["selected_by"], ["users.user_id"],
                                name=op.f("fk_cu_samples_selected_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cu_samples")),
        sa.UniqueConstraint("batch_id", "stage", name=op.f("uq_cu_samples_batch_id")),
    )  # fmt: skip
    op.create_table(
        "cu_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("unit_index", sa.Integer(), nullable=False),
        sa.Column("content_pct", _EXACT(), nullable=False),
        sa.Column("content_mg", _EXACT(), nullable=True),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("analyst", sa.String(length=200), nullable=True),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.batch_id"],
                                name=op.f("fk_cu_results_batch_id_batches")),
        sa.ForeignKeyConstraint(["entered_by"], ["users.user_id"],
                                name=op.f("fk_cu_results_entered_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cu_results")),
        sa.UniqueConstraint("batch_id", "unit_index", name=op.f("uq_cu_results_batch_id")),
    )  # fmt: skip


def _sqlite_triggers() -> None:
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )
    op.execute(
        "CREATE TRIGGER ink_lots_no_delete BEFORE DELETE ON ink_lots "
        "BEGIN SELECT RAISE(ABORT, 'ink_lots: lots are never deleted'); END"
    )


def _postgres_triggers() -> None:
    # printpharm_refuse_change() is created by 0001 (audit trail and signatures).
    for table, verbs in (*((t, "UPDATE OR DELETE") for t in APPEND_ONLY), ("ink_lots", "DELETE")):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE {verbs} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION printpharm_refuse_change()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in (*APPEND_ONLY, "ink_lots"):
        if sqlite:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.drop_table("cu_results")
    op.drop_table("cu_samples")
    with op.batch_alter_table("ink_lots") as batch:
        batch.drop_constraint("fk_ink_lots_recorded_by_users", type_="foreignkey")
        batch.drop_constraint("fk_ink_lots_prepared_by_users", type_="foreignkey")
        batch.drop_constraint("uq_ink_lots_lot_number", type_="unique")
        for name, _, _ in reversed(_NEW_LOT_COLUMNS):
            batch.drop_column(name)
        batch.add_column(sa.Column("assay_mg_per_g", _EXACT(), nullable=True))
        batch.alter_column("beyond_use_date", new_column_name="expiry_date")
        batch.create_unique_constraint("uq_ink_lots_ink_id", ["ink_id", "lot_number"])

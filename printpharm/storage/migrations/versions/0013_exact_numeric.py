"""Exact decimals on PostgreSQL: ``NUMERIC`` without a scale, as SQLite already keeps them.

Before, every exact column was ``NUMERIC(18, 6)`` on PostgreSQL, which rounds a value
with more decimals without an error: a dose of 12.1234567 mg was stored as 12.123457,
and a unit's target mass (a dose divided by a drug load, e.g. 7 mg ÷ 30 mg/g =
233.33… mg) lost its digits after the sixth, while SQLite (exact text) kept them.
The two back-ends now store the same value. Values already stored are unchanged
(they were rounded when written; nothing recovers those digits).

SQLite: nothing to do (its exact columns are text). Downgrade: back to ``NUMERIC(18,
6)``, refused while a stored value has more than 6 decimals (the downgrade would
round it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: Every exact-decimal column when this migration was written (a frozen list).
COLUMNS = (
    ("inks", "drug_load_mg_per_g"), ("inks", "density_g_per_ml"),
    ("balance_checks", "minimum_weight_mg"),
    ("check_weights", "nominal_g"), ("check_weights", "conventional_mass_g"),
    ("check_weights", "uncertainty_mg"),
    ("ink_lots", "quantity"), ("ink_lots", "quantity_remaining"),
    ("ink_lots", "assay_value"), ("ink_lots", "assay_uncertainty"),
    ("ink_lots", "density_g_per_ml"),
    ("prescriptions", "amount"), ("prescriptions", "dose_per_unit_mg"),
    ("batches", "target_dose_mg"),
    ("units", "target_mass_mg"), ("units", "raw_reading"), ("units", "flow_correction"),
    ("units", "e_scale"),
)  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE NUMERIC")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        rows = bind.exec_driver_sql(
            f"SELECT count(*) FROM {table} WHERE {column} <> round({column}, 6)"
        ).scalar_one()
        if rows:
            raise RuntimeError(
                f"cannot downgrade below 0013: {rows} value(s) of {table}.{column} have more "
                "than 6 decimals, which NUMERIC(18, 6) would round; nothing was changed"
            )
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE NUMERIC(18, 6)")

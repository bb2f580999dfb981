"""Each unit records the material factor its G-code was printed with, and why.

The in-run flow controller corrects a unit by scaling the E words of its
G-code (finer than Marlin's whole-percent M221): ``units.e_scale`` is that
factor (1 = as planned) and ``units.correction_reason`` the controller's reason
(estimate, its standard error, and whether it was distinguishable from noise).
Additive; rows recorded before have NULL (printed as planned).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printpharm.storage.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "units",
        sa.Column("e_scale", printpharm.storage.tables.ExactDecimal(), nullable=True),
    )
    op.add_column("units", sa.Column("correction_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("correction_reason")
        batch.drop_column("e_scale")

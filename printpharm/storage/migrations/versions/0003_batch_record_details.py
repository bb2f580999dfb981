"""Batch records keep the raw balance line of each unit and the run's details (REC-06).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("units", sa.Column("raw_line", sa.Text(), nullable=True))
    op.add_column("batches", sa.Column("details_json", sa.Text(), nullable=True))
    op.add_column("batches", sa.Column("status_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("batches", "status_reason")
    op.drop_column("batches", "details_json")
    op.drop_column("units", "raw_line")

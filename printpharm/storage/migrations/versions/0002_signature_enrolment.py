"""Signature enrolment: identity verification (11.100(b)) and acknowledgement (11.10(j)).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printpharm.storage.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("identity_verified_by", sa.String(length=64)),
    ("identity_verified_at", printpharm.storage.tables.UTCDateTime()),
    ("identity_method", sa.String(length=200)),
    ("signature_ack_at", printpharm.storage.tables.UTCDateTime()),
)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch table rebuild), so the users_no_delete trigger survives.
    for name, type_ in COLUMNS:
        op.add_column("users", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("users", name)

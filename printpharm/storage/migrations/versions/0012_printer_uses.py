"""Printer uses besides batches: a calibration series counts for the cleaning rule.

Additive: a new ``printer_uses`` table (one row per calibration series printed on a
registered printer: when, who, the ink's API and whether it is cytotoxic),
append-only like the cleaning log — triggers refuse UPDATE, DELETE and (PostgreSQL)
TRUNCATE — and sealed into the audit chain (on PostgreSQL a deferred trigger
refuses a row written without its row event, as migration 0008 does for the other
sealed tables). Series printed before it were not recorded; their printers'
next batch is judged on the batches alone, as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printpharm.storage.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_TABLE = "printer_uses"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("used_at", printpharm.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("used_by", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("api", sa.String(length=120), nullable=False),
        sa.Column("cytotoxic", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_printer_uses_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["used_by"], ["users.user_id"], name=op.f("fk_printer_uses_used_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_printer_uses")),
    )
    op.create_index(op.f("ix_printer_uses_device_id"), _TABLE, ["device_id"])
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_TABLE}_no_{verb.lower()} BEFORE {verb} ON {_TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{_TABLE} is append-only: {verb} refused'); END"
            )
        return
    op.execute(
        f"CREATE TRIGGER {_TABLE}_append_only BEFORE UPDATE OR DELETE ON {_TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION printpharm_refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER {_TABLE}_keep_truncate BEFORE TRUNCATE ON {_TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION printpharm_refuse_change()"
    )
    op.execute(
        f"CREATE CONSTRAINT TRIGGER {_TABLE}_row_event AFTER INSERT OR UPDATE ON {_TABLE} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION printpharm_require_row_event('id')"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {_TABLE}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {_TABLE}_no_delete")
    else:
        for name in ("append_only", "keep_truncate", "row_event"):
            op.execute(f"DROP TRIGGER IF EXISTS {_TABLE}_{name} ON {_TABLE}")
    op.drop_index(op.f("ix_printer_uses_device_id"), table_name=_TABLE)
    op.drop_table(_TABLE)

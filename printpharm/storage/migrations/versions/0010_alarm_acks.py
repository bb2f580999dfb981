"""Alarm acknowledgements (who acknowledged which alarm, when and why) and each unit's
extrusion-pressure log.

Additive: a new ``alarm_acks`` table (one row per acknowledged alarm, bound to
the alarm's content by its SHA-256), append-only like the other GMP records:
triggers refuse UPDATE and DELETE. Alarms raised before it have no
acknowledgement; review and release of their batches ask for one.
``units.pressure_json`` holds a unit's pressure reports and their summary (kPa)
where the head reports them; rows recorded before have NULL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printpharm.storage.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TABLE = "alarm_acks"


def upgrade() -> None:
    op.add_column("units", sa.Column("pressure_json", sa.Text(), nullable=True))
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=False),
        sa.Column("acknowledged_name", sa.String(length=200), nullable=False),
        sa.Column("acknowledged_at", printpharm.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("local_tz", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("alarm_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_alarm_acks_alarm_id_alarms")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.batch_id"], name=op.f("fk_alarm_acks_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["users.user_id"],
            name=op.f("fk_alarm_acks_acknowledged_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_acks")),
        sa.UniqueConstraint("alarm_id", name=op.f("uq_alarm_acks_alarm_id")),
    )
    op.create_index(op.f("ix_alarm_acks_batch_id"), _TABLE, ["batch_id"])
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_TABLE}_no_{verb.lower()} BEFORE {verb} ON {_TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{_TABLE} is append-only: {verb} refused'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION {_TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{_TABLE} is append-only: % refused', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {_TABLE}_append_only BEFORE UPDATE OR DELETE ON {_TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION {_TABLE}_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {_TABLE}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {_TABLE}_no_delete")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {_TABLE}_append_only ON {_TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {_TABLE}_append_only()")
    op.drop_index(op.f("ix_alarm_acks_batch_id"), table_name=_TABLE)
    op.drop_table(_TABLE)
    with op.batch_alter_table("units") as batch:
        batch.drop_column("pressure_json")

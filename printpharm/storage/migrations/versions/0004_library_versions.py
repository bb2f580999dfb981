"""Ink versions (draft → validated → locked → retired, like recipe versions); frozen versions.

Additive: a new ``ink_versions`` table, and triggers on ``recipe_versions`` and
``ink_versions`` that refuse DELETE, any change of a version's identity or
content, and any status move out of ``locked`` other than to ``retired`` (a
locked version never changes, AUD-07; records are never deleted, AUD-08).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printpharm.storage.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: Version tables and the column naming the item they version.
VERSION_TABLES = (("recipe_versions", "recipe_id"), ("ink_versions", "ink_id"))


def upgrade() -> None:
    op.create_table(
        "ink_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ink_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", printpharm.storage.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.user_id"], name=op.f("fk_ink_versions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["ink_id"], ["inks.ink_id"], name=op.f("fk_ink_versions_ink_id_inks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ink_versions")),
        sa.UniqueConstraint("ink_id", "version", name=op.f("uq_ink_versions_ink_id")),
    )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgres_triggers()


def _frozen_condition(item: str, old: str = "OLD", new: str = "NEW") -> str:
    changed = " OR ".join(
        f"{new}.{c} IS DISTINCT FROM {old}.{c}"
        for c in (item, "version", "content_json", "content_sha256", "created_by", "created_at")
    )
    moves = (
        f"{old}.status = 'retired' AND {new}.status <> 'retired' "
        f"OR {old}.status = 'locked' AND {new}.status NOT IN ('locked', 'retired')"
    )
    return f"{changed} OR {moves}"


def _sqlite_triggers() -> None:
    for table, item in VERSION_TABLES:
        condition = _frozen_condition(item).replace("IS DISTINCT FROM", "IS NOT")
        op.execute(
            f"CREATE TRIGGER {table}_frozen BEFORE UPDATE ON {table} WHEN {condition} "
            f"BEGIN SELECT RAISE(ABORT, '{table}: a version never changes "
            "(only its status moves forward)'); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END"
        )


def _postgres_triggers() -> None:
    for table, item in VERSION_TABLES:
        op.execute(
            f"CREATE FUNCTION {table}_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{table} is append-only: "
            "DELETE refused' USING ERRCODE = 'insufficient_privilege'; END IF; "
            f"IF {_frozen_condition(item)} THEN RAISE EXCEPTION '{table}: a version never "
            "changes (only its status moves forward)' USING ERRCODE = 'insufficient_privilege'; "
            "END IF; RETURN NEW; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_frozen()"
        )


def downgrade() -> None:
    for table, _ in VERSION_TABLES:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_frozen()")
    op.drop_table("ink_versions")

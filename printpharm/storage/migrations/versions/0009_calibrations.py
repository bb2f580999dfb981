"""Mass–volume calibrations fitted on site (draft → validated → locked → retired).

Additive: a new ``calibrations`` table holding each calibration version: the ink
and ink version, printer type, optionally one printer of the register and one
ink lot, the fit ``mass = a·V + b`` with its statistics, the weighed points and
the series' context, the content SHA-256 its signatures bind to, the status and
who fitted, validated and locked it when. Triggers refuse DELETE, any change of
a version's identity or content, and any status move out of ``locked`` other
than to ``retired`` (as for library versions, migration 0004).

Revision ID: 0009
Revises: 0007 (re-chained after the process-control migration at merge)
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printpharm.storage.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_UTC = printpharm.storage.tables.UTCDateTime
_EXACT = printpharm.storage.tables.ExactDecimal
#: Columns a stored calibration version never changes.
FROZEN = (
    "version", "ink_id", "ink_version", "printer_type", "printer_asset", "lot_number",
    "a_mg_per_mm3", "b_mg", "n_points", "r2", "residual_sd_mg", "v_min_mm3", "v_max_mm3",
    "points_json", "context_json", "content_sha256", "fitted_by", "fitted_at",
)  # fmt: skip


def _user_fk(column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.user_id"], name=op.f(f"fk_calibrations_{column}_users")
    )


def upgrade() -> None:
    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ink_id", sa.String(length=64), nullable=False),
        sa.Column("ink_version", sa.Integer(), nullable=False),
        sa.Column("printer_type", sa.String(length=64), nullable=False),
        sa.Column("printer_asset", sa.String(length=64), nullable=True),
        sa.Column("lot_number", sa.String(length=64), nullable=True),
        sa.Column("a_mg_per_mm3", _EXACT(), nullable=False),
        sa.Column("b_mg", _EXACT(), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("r2", _EXACT(), nullable=False),
        sa.Column("residual_sd_mg", _EXACT(), nullable=False),
        sa.Column("v_min_mm3", _EXACT(), nullable=False),
        sa.Column("v_max_mm3", _EXACT(), nullable=False),
        sa.Column("points_json", sa.Text(), nullable=False),
        sa.Column("context_json", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("fitted_by", sa.String(length=64), nullable=False),
        sa.Column("fitted_at", _UTC(), nullable=False),
        sa.Column("validated_by", sa.String(length=64), nullable=True),
        sa.Column("validated_at", _UTC(), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_at", _UTC(), nullable=True),
        sa.Column("retired_at", _UTC(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ink_id"], ["inks.ink_id"], name=op.f("fk_calibrations_ink_id_inks")
        ),
        sa.ForeignKeyConstraint(
            ["lot_number"],
            ["ink_lots.lot_number"],
            name=op.f("fk_calibrations_lot_number_ink_lots"),
        ),
        _user_fk("fitted_by"),
        _user_fk("validated_by"),
        _user_fk("locked_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibrations")),
        sa.UniqueConstraint("version", name=op.f("uq_calibrations_version")),
    )
    op.create_index(op.f("ix_calibrations_ink_id"), "calibrations", ["ink_id", "printer_type"])
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgres_triggers()


def _frozen_condition(distinct: str) -> str:
    changed = " OR ".join(f"NEW.{c} {distinct} OLD.{c}" for c in FROZEN)
    moves = (
        "OLD.status = 'retired' AND NEW.status <> 'retired' "
        "OR OLD.status = 'locked' AND NEW.status NOT IN ('locked', 'retired')"
    )
    return f"{changed} OR {moves}"


_FROZEN_TEXT = "calibrations: a version never changes (only its status moves forward)"


def _sqlite_triggers() -> None:
    op.execute(
        "CREATE TRIGGER calibrations_frozen BEFORE UPDATE ON calibrations "
        f"WHEN {_frozen_condition('IS NOT')} BEGIN SELECT RAISE(ABORT, '{_FROZEN_TEXT}'); END"
    )
    op.execute(
        "CREATE TRIGGER calibrations_no_delete BEFORE DELETE ON calibrations "
        "BEGIN SELECT RAISE(ABORT, 'calibrations is append-only: DELETE refused'); END"
    )


def _postgres_triggers() -> None:
    op.execute(
        "CREATE FUNCTION calibrations_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'calibrations is append-only: "
        "DELETE refused' USING ERRCODE = 'insufficient_privilege'; END IF; "
        f"IF {_frozen_condition('IS DISTINCT FROM')} THEN RAISE EXCEPTION '{_FROZEN_TEXT}' "
        "USING ERRCODE = 'insufficient_privilege'; END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER calibrations_frozen BEFORE UPDATE OR DELETE ON calibrations "
        "FOR EACH ROW EXECUTE FUNCTION calibrations_frozen()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS calibrations_frozen")
        op.execute("DROP TRIGGER IF EXISTS calibrations_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS calibrations_frozen ON calibrations")
        op.execute("DROP FUNCTION IF EXISTS calibrations_frozen()")
    op.drop_index(op.f("ix_calibrations_ink_id"), table_name="calibrations")
    op.drop_table("calibrations")

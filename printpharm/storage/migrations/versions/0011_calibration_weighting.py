"""The weighting of a calibration fit (unweighted least squares or relative, 1/m̂²).

Additive: ``calibrations.weighting`` (NOT NULL, ``'unweighted'`` for every
version stored before, which was fitted by ordinary least squares and keeps
reading so). A version's weighting is part of its content (its SHA-256 and its
signatures) and never changes: the trigger that freezes a version (migration
0009) is recreated with the new column among the frozen ones.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: Columns a stored calibration version never changes (0009's, and the weighting).
FROZEN = (
    "version", "ink_id", "ink_version", "printer_type", "printer_asset", "lot_number",
    "a_mg_per_mm3", "b_mg", "n_points", "r2", "residual_sd_mg", "v_min_mm3", "v_max_mm3",
    "points_json", "context_json", "content_sha256", "fitted_by", "fitted_at", "weighting",
)  # fmt: skip
_FROZEN_TEXT = "calibrations: a version never changes (only its status moves forward)"


def _frozen_condition(columns: tuple[str, ...], distinct: str) -> str:
    changed = " OR ".join(f"NEW.{c} {distinct} OLD.{c}" for c in columns)
    moves = (
        "OLD.status = 'retired' AND NEW.status <> 'retired' "
        "OR OLD.status = 'locked' AND NEW.status NOT IN ('locked', 'retired')"
    )
    return f"{changed} OR {moves}"


def _triggers(columns: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS calibrations_frozen")
        op.execute(
            "CREATE TRIGGER calibrations_frozen BEFORE UPDATE ON calibrations "
            f"WHEN {_frozen_condition(columns, 'IS NOT')} "
            f"BEGIN SELECT RAISE(ABORT, '{_FROZEN_TEXT}'); END"
        )
        return
    op.execute(  # the trigger 0009 created calls this function: replacing it is enough
        "CREATE OR REPLACE FUNCTION calibrations_frozen() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'calibrations is append-only: "
        "DELETE refused' USING ERRCODE = 'insufficient_privilege'; END IF; "
        f"IF {_frozen_condition(columns, 'IS DISTINCT FROM')} THEN RAISE EXCEPTION "
        f"'{_FROZEN_TEXT}' USING ERRCODE = 'insufficient_privilege'; END IF; RETURN NEW; END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # the trigger names the columns it reads
        op.execute("DROP TRIGGER IF EXISTS calibrations_frozen")
    with op.batch_alter_table("calibrations") as batch:
        batch.add_column(
            sa.Column(
                "weighting", sa.String(length=16), nullable=False, server_default="unweighted"
            )
        )
    _triggers(FROZEN)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # dropping a column copies the table, which loses its triggers
        op.execute("DROP TRIGGER IF EXISTS calibrations_frozen")
        op.execute("DROP TRIGGER IF EXISTS calibrations_no_delete")
    else:
        _triggers(FROZEN[:-1])
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_column("weighting")
    if sqlite:
        _triggers(FROZEN[:-1])
        op.execute(
            "CREATE TRIGGER calibrations_no_delete BEFORE DELETE ON calibrations "
            "BEGIN SELECT RAISE(ABORT, 'calibrations is append-only: DELETE refused'); END"
        )

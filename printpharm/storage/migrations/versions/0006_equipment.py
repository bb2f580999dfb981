"""Equipment register, qualification, balance checks, cleaning log and training records.

Additive: the ``devices`` table gains the site's asset tag (existing balances get
their serial number as tag), location, status, printer type and the printer a
print head is mounted on; new tables hold qualification/calibration/maintenance
records (``equipment_events``), certified check weights, routine balance checks,
the cleaning log and training records. The GMP records (events, checks, cleaning,
training) are append-only: triggers refuse UPDATE and DELETE (AUD-05, AUD-08).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printpharm.storage.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Tables whose rows are never changed or deleted once written.
APPEND_ONLY = ("equipment_events", "balance_checks", "cleaning_log", "training_records")

_UTC = printpharm.storage.tables.UTCDateTime
_EXACT = printpharm.storage.tables.ExactDecimal


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.user_id"], name=op.f(f"fk_{table}_{column}_users")
    )


def _device_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["device_id"], ["devices.id"], name=op.f(f"fk_{table}_device_id_devices")
    )


def upgrade() -> None:
    _devices()
    op.create_table(
        "equipment_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("document_ref", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _UTC(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        _device_fk("equipment_events"),
        _user_fk("equipment_events", "recorded_by"),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signatures.id"],
            name=op.f("fk_equipment_events_signature_id_signatures"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_events")),
    )
    op.create_index(op.f("ix_equipment_events_device_id"), "equipment_events", ["device_id"])
    op.create_table(
        "check_weights",
        sa.Column("weight_id", sa.String(length=64), nullable=False),
        sa.Column("nominal_g", _EXACT(), nullable=False),
        sa.Column("conventional_mass_g", _EXACT(), nullable=False),
        sa.Column("uncertainty_mg", _EXACT(), nullable=False),
        sa.Column("weight_class", sa.String(length=8), nullable=False),
        sa.Column("certificate", sa.String(length=120), nullable=False),
        sa.Column("certificate_expiry", sa.Date(), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_at", _UTC(), nullable=False),
        _user_fk("check_weights", "registered_by"),
        sa.PrimaryKeyConstraint("weight_id", name=op.f("pk_check_weights")),
    )
    op.create_table(
        "balance_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", _UTC(), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=False),
        sa.Column("weight_json", sa.Text(), nullable=False),
        sa.Column("readings_json", sa.Text(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("minimum_weight_mg", _EXACT(), nullable=False),
        _device_fk("balance_checks"),
        _user_fk("balance_checks", "checked_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_checks")),
    )
    op.create_index(op.f("ix_balance_checks_device_id"), "balance_checks", ["device_id"])
    op.create_table(
        "cleaning_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("cleaned_at", _UTC(), nullable=False),
        sa.Column("cleaned_by", sa.String(length=64), nullable=False),
        sa.Column("method_sop", sa.String(length=120), nullable=False),
        sa.Column("parts", sa.Text(), nullable=False),
        sa.Column("cytotoxic", sa.Boolean(), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        _device_fk("cleaning_log"),
        _user_fk("cleaning_log", "cleaned_by"),
        _user_fk("cleaning_log", "checked_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cleaning_log")),
    )
    op.create_index(op.f("ix_cleaning_log_device_id"), "cleaning_log", ["device_id"])
    op.create_table(
        "training_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("trained_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("trainer", sa.String(length=200), nullable=False),
        sa.Column("document_ref", sa.String(length=200), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _UTC(), nullable=False),
        _user_fk("training_records", "recorded_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_records")),
    )
    op.create_index(op.f("ix_training_records_user_id"), "training_records", ["user_id"])
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgres_triggers()


def _devices() -> None:
    for column in (
        sa.Column("asset_tag", sa.String(length=64), nullable=True),
        sa.Column("location", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False, server_default="in_service"),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("printer_type", sa.String(length=64), nullable=True),
        sa.Column("mounted_on", sa.String(length=64), nullable=True),
    ):
        op.add_column("devices", column)
    # Balances registered before the register existed keep their serial number as asset tag.
    op.execute("UPDATE devices SET asset_tag = serial_number WHERE asset_tag IS NULL")
    op.create_index("uq_devices_asset_tag", "devices", ["asset_tag"], unique=True)


def _sqlite_triggers() -> None:
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def _postgres_triggers() -> None:
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )


def downgrade() -> None:
    for table in APPEND_ONLY:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    for table in ("training_records", "cleaning_log", "balance_checks", "check_weights"):
        op.drop_table(table)
    op.drop_table("equipment_events")
    op.drop_index("uq_devices_asset_tag", table_name="devices")
    with op.batch_alter_table("devices") as batch:
        for name in (
            "mounted_on",
            "printer_type",
            "status_reason",
            "status",
            "location",
            "asset_tag",
        ):
            batch.drop_column(name)

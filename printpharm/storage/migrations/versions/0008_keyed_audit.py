"""Keyed audit chain: site keys, signed head, sealed signatures, row seals, leases, recovery.

* ``audit_keys`` (public keys only; append-only), ``audit_head.key_id`` and
  ``.signature`` (the head signed at every append), ``signatures.seal`` and
  ``.seal_key_id`` (the site key's seal of each e-signature).
* ``batch_leases`` (the workstation running a batch and its heartbeat) and
  ``recovery_codes`` (hash of the one-time break-glass code).
* An index on ``audit_events.record_id`` (row seals are looked up by it).
* Triggers on both back-ends: no DELETE of batches, units, research periods, keys,
  the chain head, devices, check weights, alarms, site settings, recovery codes,
  password history or the inks/recipes the library versions hang on (the GMP
  records of 0005/0006 already refuse it, most also UPDATE); a password hash can
  never be copied from another account.
* PostgreSQL: a deferred constraint trigger on every protected table refuses, at
  commit, an INSERT or UPDATE whose ``row`` audit event is not in the same
  transaction; the chain head never moves back.
* Every protected row already stored is sealed as found (one ``row`` event each,
  by "migration 0008"), so that verification can cross-check it from now on.

The protected tables are listed here as they stand at this revision
(:data:`PROTECTED_HERE`), not read from :data:`printpharm.storage.rowseal.PROTECTED`:
a table protected later gets its trigger and seals from the migration that creates
it (a test checks that every protected table has its trigger at head).

Revision ID: 0008
Revises: 0006 (re-chained to 0007 when the process-control migration lands)
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import printpharm.storage.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: Tables whose rows are never deleted (beyond those of 0001/0004/0005/0006).
NO_DELETE = ("batches", "units", "research_sessions", "audit_keys", "audit_head", "devices",
             "check_weights", "alarms", "site_settings", "recovery_codes", "password_history",
             "inks", "recipes")  # fmt: skip

#: The protected tables at this revision and their primary-key column (a snapshot of
#: :data:`printpharm.storage.rowseal.PROTECTED`: a migration never follows later code).
PROTECTED_HERE: dict[str, str] = {
    "users": "user_id",
    "batches": "batch_id",
    "units": "id",
    "signatures": "id",
    "research_sessions": "id",
    "recipe_versions": "id",
    "ink_versions": "id",
    "devices": "id",
    "site_settings": "key",
    "audit_keys": "key_id",
    "recovery_codes": "id",
    "ink_lots": "id",
    "cu_samples": "id",
    "cu_results": "id",
    "equipment_events": "id",
    "check_weights": "weight_id",
    "balance_checks": "id",
    "cleaning_log": "id",
    "training_records": "id",
}


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(length=128), nullable=True))
    _add_signature_columns()
    op.create_table(
        "audit_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("from_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", printpharm.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("endorsed_by", sa.String(length=32), nullable=False),
        sa.Column("endorsement", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_audit_keys")),
    )
    op.create_table(
        "batch_leases",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("workstation", sa.String(length=128), nullable=False),
        sa.Column("heartbeat_at", printpharm.storage.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batch_leases")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", printpharm.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("used_at", printpharm.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("used_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_audit_events_record_id"), "audit_events", ["record_id"], unique=False)
    _seal_existing_rows()
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgres_triggers()


def _add_signature_columns() -> None:
    # signatures refuses UPDATE by trigger; adding nullable columns rewrites no row.
    op.add_column("signatures", sa.Column("seal", sa.String(length=128), nullable=True))
    op.add_column("signatures", sa.Column("seal_key_id", sa.String(length=32), nullable=True))


def _seal_existing_rows() -> None:
    from printpharm import __version__
    from printpharm.storage.audit import AuditContext, AuditLog

    bind = op.get_bind()
    inspector = sa.inspect(bind)
    present = {t: {c["name"] for c in inspector.get_columns(t)} for t in PROTECTED_HERE}
    keys: list[tuple[str, object]] = []
    for table, pk in PROTECTED_HERE.items():
        keys += [(table, k) for (k,) in bind.execute(sa.text(f"SELECT {pk} FROM {table}"))]
    if not keys:
        return
    session = Session(bind=bind)
    AuditLog(session, AuditContext("migration 0008", __version__)).seal_rows(keys, present)
    session.flush()


def _sqlite_triggers() -> None:
    for table in NO_DELETE:
        op.execute(
            f"CREATE TRIGGER {table}_keep BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table}: records are never deleted'); END"
        )
    op.execute(
        "CREATE TRIGGER audit_keys_frozen BEFORE UPDATE ON audit_keys "
        "BEGIN SELECT RAISE(ABORT, 'audit_keys is append-only: UPDATE refused'); END"
    )
    for verb in ("INSERT", "UPDATE OF password_hash"):
        name = "users_no_hash_copy_" + verb.split()[0].lower()
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {verb} ON users "
            "WHEN NEW.password_hash LIKE '$argon2%' AND EXISTS (SELECT 1 FROM users u "
            "WHERE u.password_hash = NEW.password_hash AND u.user_id <> NEW.user_id) "
            "BEGIN SELECT RAISE(ABORT, 'users: a password hash cannot be copied from "
            "another account'); END"
        )


_PG_FUNCTIONS = (
    """CREATE FUNCTION printpharm_require_row_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE rid text := TG_TABLE_NAME || '/' || (to_jsonb(NEW) ->> TG_ARGV[0]);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_events WHERE record_id = rid AND record_type = 'row'
                 AND xmin = pg_current_xact_id()::xid) THEN
    RAISE EXCEPTION '% refused: % changed without its audit event (change it through '
      'printpharm)', TG_OP, rid USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NULL;
END $$""",
    """CREATE FUNCTION printpharm_no_hash_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.password_hash LIKE '$argon2%' AND EXISTS (SELECT 1 FROM users u
      WHERE u.password_hash = NEW.password_hash AND u.user_id <> NEW.user_id) THEN
    RAISE EXCEPTION 'users: a password hash cannot be copied from another account'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$""",
    """CREATE FUNCTION printpharm_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.last_seq < OLD.last_seq THEN
    RAISE EXCEPTION 'audit_head: the chain head never moves back (% -> %)',
      OLD.last_seq, NEW.last_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$""",
)


def _postgres_triggers() -> None:
    for sql in _PG_FUNCTIONS:
        op.execute(sql)
    for table in NO_DELETE:
        op.execute(
            f"CREATE TRIGGER {table}_keep BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION printpharm_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_keep_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION printpharm_refuse_change()"
        )
    op.execute(
        "CREATE TRIGGER audit_keys_frozen BEFORE UPDATE ON audit_keys "
        "FOR EACH ROW EXECUTE FUNCTION printpharm_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER users_no_hash_copy BEFORE INSERT OR UPDATE OF password_hash ON users "
        "FOR EACH ROW EXECUTE FUNCTION printpharm_no_hash_copy()"
    )
    op.execute(
        "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
        "FOR EACH ROW EXECUTE FUNCTION printpharm_head_forward()"
    )
    for table, pk in PROTECTED_HERE.items():
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_row_event AFTER INSERT OR UPDATE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION printpharm_require_row_event('{pk}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in NO_DELETE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_keep")
        for name in ("audit_keys_frozen", "users_no_hash_copy_insert", "users_no_hash_copy_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table in PROTECTED_HERE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_row_event ON {table}")
        for table in NO_DELETE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_keep ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_keep_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS users_no_hash_copy ON users")
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward ON audit_head")
        for fn in ("require_row_event", "no_hash_copy", "head_forward"):
            op.execute(f"DROP FUNCTION IF EXISTS printpharm_{fn}()")
    op.drop_index(op.f("ix_audit_events_record_id"), table_name="audit_events")
    op.drop_table("recovery_codes")
    op.drop_table("batch_leases")
    op.drop_table("audit_keys")
    op.drop_column("signatures", "seal_key_id")
    op.drop_column("signatures", "seal")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("signature")
        batch.drop_column("key_id")

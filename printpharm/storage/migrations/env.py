"""Alembic environment: runs on the connection handed over by ``Database.upgrade``."""

from __future__ import annotations

from alembic import context

from printpharm.errors import MigrationError
from printpharm.storage.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise MigrationError("printpharm migrations run only through Database.upgrade()")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()

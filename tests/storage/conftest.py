"""Fixtures of the storage tests (shared with services and CLI tests via ``_dbs``)."""

from tests.storage._dbs import clock, db, db_spec, sqlite_db, sqlite_template

__all__ = ["clock", "db", "db_spec", "sqlite_db", "sqlite_template"]

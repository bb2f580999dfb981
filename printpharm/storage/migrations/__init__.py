"""Alembic migrations of the printpharm database, run from package data by ``Database.upgrade``."""

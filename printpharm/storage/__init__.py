"""SQLAlchemy storage, migrations, the hash-chained audit trail and exports."""

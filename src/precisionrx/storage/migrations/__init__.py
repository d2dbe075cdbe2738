"""Alembic migrations of the patient store (run by :func:`precisionrx.storage.database.migrate`)."""

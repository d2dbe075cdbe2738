"""The patient store of the service: SQLAlchemy Core tables on SQLite (embedded default) or
PostgreSQL, Alembic migrations, envelope encryption of every record and file, a key store
outside the database (crypto-shredding on erasure), and the hash-chained audit log.

Nothing here knows HTTP: :mod:`precisionrx.service` calls :class:`~.store.Store`.
"""

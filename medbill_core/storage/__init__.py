"""Persistence: SQLAlchemy 2.0 tables, Alembic migrations, and row <-> domain mapping.

Nothing outside :mod:`medbill_core` sees these rows; plugins get domain objects.
"""

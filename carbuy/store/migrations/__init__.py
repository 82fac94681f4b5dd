"""Alembic migrations of carbuy's database (run by carbuy.store.migrator, or `carbuy db upgrade`)."""

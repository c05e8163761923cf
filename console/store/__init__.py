"""The registry and audit store: SQLAlchemy 2 models, Alembic migrations, repositories, spatial search.

The same schema and migrations run on SQLite (one file, WAL) and PostgreSQL (many workstations).
"""

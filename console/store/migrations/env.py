"""Alembic environment: migrations run on the engine the console opened (see console/store/db.py)."""

from alembic import context

from console.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # alembic CLI, for developers: `alembic -x url=... revision --autogenerate`
    from sqlalchemy import create_engine

    engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()

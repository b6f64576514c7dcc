"""Alembic environment for Zhiyin's database (SQLite or PostgreSQL).

Run through ``zhiyin.db.migrate(engine)`` (the app, the CLI, ``zhiyin db upgrade``), which hands
over an open connection: no alembic.ini is needed. A new migration goes in ``versions/`` (copy the
shape of the last one); tests/test_migrations.py fails until the models and the migrations agree.
"""

from __future__ import annotations

from alembic import context

config = context.config


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=config.attributes.get("target_metadata"),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:  # plain `alembic` with -x url=… or sqlalchemy.url
    from zhiyin.db import create_db_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_db_engine(url)
    with engine.begin() as conn:
        run_on(conn)
    engine.dispose()

"""The database engine: SQLite (WAL) by default, PostgreSQL or any SQLAlchemy URL when configured."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def create_db_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        # WAL: readers never wait for the writer; NORMAL sync: a commit waits for the disk once;
        # busy_timeout: a second writer waits its turn instead of failing
        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


@lru_cache(maxsize=8)
def shared_engine(url: str) -> Engine:
    """One engine (and connection pool) per database for the whole process."""
    return create_db_engine(url)

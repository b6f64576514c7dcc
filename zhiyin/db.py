"""The database engine: SQLite (WAL) by default, PostgreSQL or any SQLAlchemy URL when configured.

The schema is made and upgraded only by the Alembic migrations in ``zhiyin/migrations``:
``prepare_database(url)`` (the app and the CLI at start) or ``migrate(engine)`` (every store, on
the engine it is given, once per process).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from functools import lru_cache
from importlib.resources import files

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def create_db_engine(url: str) -> Engine:
    # a server's connection can drop between requests; a file on this machine's disk cannot
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
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


MIGRATIONS = files("zhiyin") / "migrations"
_migrated: weakref.WeakSet[Engine] = weakref.WeakSet()
_migrating = threading.Lock()
PG_MIGRATION_LOCK = 0x7A4997  # any constant: the advisory lock that serialises migrating processes
PG_PURGE_LOCK = 0x7A4998  # the advisory lock that lets one server at a time purge old visits


def alembic_config(connection=None):
    """Alembic's configuration for the bundled migrations, run on ``connection`` (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def schema_revision(engine: Engine) -> str | None:
    """The migration the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration shipped with the code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@contextlib.contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """Two processes migrating one SQLite file take turns (PostgreSQL uses an advisory lock)."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    import fcntl

    with open(f"{path}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def advisory_lock(engine: Engine, key: int, wait: bool = True) -> Iterator[bool]:
    """Hold PostgreSQL's advisory lock ``key`` (one holder across every server on the database)
    while inside; yields False when ``wait`` is off and another holds it. Elsewhere a no-op that
    yields True: a SQLite file is one machine's, and its writers take turns anyway."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        if wait:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
            held = True
        else:
            held = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({key})").scalar())
        conn.commit()  # a session lock: it outlives the transaction, so none is left open meanwhile
        try:
            yield held
        finally:
            if held:  # the pooled connection lives on: the lock must not stay with it
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
                conn.commit()


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest migration. Cheap after the first call per engine; safe
    when several processes start at once."""
    if engine in _migrated:
        return
    with _migrating:
        if engine in _migrated:
            return
        if schema_revision(engine) != head_revision():
            from alembic import command

            with _file_lock(engine), engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
                command.upgrade(alembic_config(conn), "head")
        _migrated.add(engine)


def model_metadata():
    """Every table of every wing, as the code declares them on ``halls.sql.Base`` (what the
    migrations must agree with: tests/test_migrations.py)."""
    import assistant.sessions  # noqa: F401 - conversations, feedback
    import doorplate.codes  # noqa: F401 - plates (and the partial index of the plates table)
    import doorplate.models  # noqa: F401 - scans, bookings, slots, tickets, staff
    import halls.asks  # noqa: F401 - ask counts
    import halls.places  # noqa: F401 - places of knowledge bases kept in the database
    import halls.rates  # noqa: F401 - requests per client and minute (the rate limit)
    import knowledge.versions  # noqa: F401 - knowledge base versions, the current pointer, heartbeats
    from halls.sql import Base

    return Base.metadata


def prepare_database(url: str) -> Engine:
    """The shared engine for ``url``, its schema upgraded to the newest migration."""
    engine = shared_engine(url)
    migrate(engine)
    return engine

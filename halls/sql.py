"""The SQL base every wing declares its tables on, and the few statements they all need.

The schema is made only by the Alembic migrations of the front door (``zhiyin/migrations``): a
store is handed an engine whose database is already at the newest migration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase

T = TypeVar("T")
TRANSIENT_PG_CODES = {"40001", "40P01"}  # serialization failure, deadlock detected
RETRY_ATTEMPTS = (
    4  # a transaction tried this often before "busy": enough for the 200-way race of bench booking
)


class Base(DeclarativeBase):
    """One metadata for every table of every wing (the migrations are checked against it)."""


def utcnow() -> dt.datetime:
    """Now in UTC, naive: how timestamps are stored (a hall's own day comes from ``halls.clock``)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class DatabaseBusy(RuntimeError):
    """The database stayed locked (SQLite) or kept deadlocking: the client may simply retry."""


def transient(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in TRANSIENT_PG_CODES or "database is locked" in str(exc.orig)


def retrying(work: Callable[[], T], attempts: int = RETRY_ATTEMPTS) -> T:
    """Run a transaction again after a deadlock or a lock timeout; the work must be all-or-nothing."""
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as exc:
            if not transient(exc):
                raise
            if attempt == attempts - 1:
                raise DatabaseBusy("the database stayed busy") from exc
        except DBAPIError as exc:  # psycopg reports deadlocks as their own error classes
            if not transient(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def insert_or_ignore(conn: Connection, table, values: dict) -> None:
    """INSERT that does nothing when the row (by its key) exists: one statement on SQLite and
    PostgreSQL, so two first requests for the same key do not fail each other."""
    if conn.dialect.name in ("sqlite", "postgresql"):
        if conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        conn.execute(dialect_insert(table).values(**values).on_conflict_do_nothing())
        return
    savepoint = conn.begin_nested()
    try:
        conn.execute(insert(table).values(**values))
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()

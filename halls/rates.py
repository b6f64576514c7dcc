"""Requests per client per minute, counted in the database, so that every worker of every server
behind a load balancer shares one limit (``ZHIYIN_RATE_LIMIT_PER_MINUTE``), not one each.

One upsert per request: the client's count in this minute goes up by one and comes back with the
count of the minute before. The limit holds over a sliding minute estimated from the two (the
minute before, weighted by the share of it still within the last 60 s), so a burst across a
minute's edge is not let through twice. A refused request is taken back off its count: retrying
too early does not lengthen the wait. Minutes long past are deleted once a minute per process.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from sqlalchemy import Connection, Integer, String, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import Index

from halls.sql import Base, insert_or_ignore

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
CLIENT_CHARS = 64  # an address, or whatever a trusted proxy forwarded: cut to fit the key


class RequestCount(Base):
    """Requests from one client in one minute (counted while they are within the limit)."""

    __tablename__ = "request_counts"
    client: Mapped[str] = mapped_column(String(CLIENT_CHARS), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)  # seconds since the epoch // 60
    hits: Mapped[int] = mapped_column(Integer)


Index("ix_request_counts_minute", RequestCount.minute)
request_counts = RequestCount.__table__


def wait_seconds(per_minute: int, previous: int, current: int, into: float) -> int:
    """0 if a request is within the limit, else the whole seconds until one would be. ``current``
    requests in this minute so far (this one included), ``previous`` in the minute before, ``into``
    seconds into this minute."""

    def share(at: float) -> float:  # the part of the minute before still within the last 60 s
        return previous * (1 - at / WINDOW_SECONDS)

    if share(into) + current <= per_minute:
        return 0
    kept = current - 1  # this request is taken back
    room = per_minute - kept - 1  # how much of the minute before the next request leaves room for
    if room >= 0 and previous > 0:
        at = WINDOW_SECONDS * (1 - room / previous)
        if at < WINDOW_SECONDS:
            return _whole_seconds(at - into)
    # not within this minute: in the next, this minute's count weighs as the minute before
    at_next = WINDOW_SECONDS * (1 - (per_minute - 1) / kept) if kept > per_minute - 1 else 0.0
    return _whole_seconds(WINDOW_SECONDS - into + at_next)


def _whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(round(seconds, 6)))  # 40.000000001 s of float arithmetic is 40 s


class RateLimiter:
    """The shared per-client limit: ``retry_after(client)`` counts a request or says how long to wait."""

    def __init__(self, engine: Engine, per_minute: int, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.per_minute = per_minute
        self.clock = clock  # wall time, not monotonic: the servers' minutes must line up
        self._pruned = 0  # the minute this process last deleted the minutes before

    def retry_after(self, client: str) -> int:
        """0 if the request may go ahead (and count it), else the seconds to wait."""
        minute, into = divmod(self.clock(), WINDOW_SECONDS)
        key, minute = client[:CLIENT_CHARS], int(minute)
        try:
            with self.engine.begin() as conn:
                if minute > self._pruned:
                    self._pruned = minute
                    conn.execute(delete(request_counts).where(request_counts.c.minute < minute - 1))
                current, previous = self._count(conn, key, minute)
                wait = wait_seconds(self.per_minute, previous, current, into)
                if wait:
                    conn.execute(
                        update(request_counts)
                        .where(request_counts.c.client == key, request_counts.c.minute == minute)
                        .values(hits=request_counts.c.hits - 1)
                    )
                return wait
        except SQLAlchemyError:  # a limit that cannot be counted must not refuse the city
            log.warning("the rate limit could not be counted; letting the request through", exc_info=True)
            return 0

    @staticmethod
    def _count(conn: Connection, key: str, minute: int) -> tuple[int, int]:
        """One more request from ``key`` in ``minute``: (this minute's count, the minute before's)."""
        before = request_counts.alias("before")
        previous = func.coalesce(
            select(before.c.hits)
            .where(before.c.client == key, before.c.minute == minute - 1)
            .scalar_subquery(),
            0,
        )
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            else:
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            upsert = (
                dialect_insert(request_counts)
                .values(client=key, minute=minute, hits=1)
                .on_conflict_do_update(
                    index_elements=[request_counts.c.client, request_counts.c.minute],
                    set_={"hits": request_counts.c.hits + 1},
                )
                .returning(request_counts.c.hits, previous)
            )
            current, before_count = conn.execute(upsert).one()
            return current, before_count
        # any other database: the same in three statements
        insert_or_ignore(conn, request_counts, {"client": key, "minute": minute, "hits": 0})
        where = (request_counts.c.client == key, request_counts.c.minute == minute)
        conn.execute(update(request_counts).where(*where).values(hits=request_counts.c.hits + 1))
        current, before_count = conn.execute(select(request_counts.c.hits, previous).where(*where)).one()
        return current, before_count

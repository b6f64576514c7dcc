"""How often each item is answered at each place, per day of the hall (counts only, nothing about
who asked): the kiosk's 大家常办 buttons put the items asked most at a hall first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection

from sqlalchemy import Date, Integer, String, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from halls.clock import hall_today
from halls.sql import Base, insert_or_ignore

POPULAR_DAYS = 30  # the kiosk's "asked most" looks this far back: a month of a hall's traffic
POPULAR_ITEMS = 8  # as many as the kiosk has 大家常办 buttons


class ItemAsk(Base):
    """Answers given about one item at one place on one day of the hall ("" for no place)."""

    __tablename__ = "item_asks"
    place_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AskCounts:
    """Counting answers per place, item and hall-local day; the most asked at a set of places."""

    def __init__(self, engine: Engine, today: Callable[[], dt.date] = hall_today):
        self.engine = engine
        self.today = today

    def count(self, place: str | None, item_id: str) -> None:
        """One more answer about ``item_id`` at ``place`` today (the hall's today)."""
        key = {"place_id": place or "", "item_id": item_id, "day": self.today()}
        table = ItemAsk.__table__
        with self.engine.begin() as conn:
            insert_or_ignore(conn, table, {**key, "count": 0})
            conn.execute(
                update(table)
                .where(*(table.c[name] == value for name, value in key.items()))
                .values(count=table.c.count + 1)
            )

    def most_asked(
        self, places: Collection[str], days: int = POPULAR_DAYS, n: int = POPULAR_ITEMS
    ) -> list[str]:
        """The items asked about most at ``places`` in the last ``days`` days, most first."""
        since = self.today() - dt.timedelta(days=days)
        total = func.sum(ItemAsk.count)
        query = (
            select(ItemAsk.item_id)
            .where(ItemAsk.place_id.in_(list(places)), ItemAsk.day >= since)
            .group_by(ItemAsk.item_id)
            .order_by(total.desc(), ItemAsk.item_id)
            .limit(n)
        )
        with Session(self.engine) as db:
            return list(db.scalars(query))

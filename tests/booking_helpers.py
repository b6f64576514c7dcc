"""What the booking and queue tests share: the demo hall's items, a settable clock, the catalog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from pydantic import SecretStr

from doorplate.booking import StaticCatalog
from halls.clock import HALL_TZ
from halls.places import PlaceDirectory, load_places
from knowledge import demo_dir, load_sources

MONDAY = dt.date(2026, 11, 23)
TUESDAY, WEDNESDAY = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=2)
CARD, CARD_LOST, ELDER_ALLOWANCE = "990100-SB-0004", "990100-SB-0005", "990100-MZ-0005"  # at 桃溪镇: A, A, B
PHONE, LAST4 = "13812345678", "5678"
ID_NUMBER = "11010519491231002X"


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm))


class Clock:
    """The hall's time, set by the test."""

    def __init__(self, day: dt.date, hh: int, mm: int = 0):
        self.set(day, hh, mm)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, day: dt.date, hh: int, mm: int = 0) -> None:
        self.now = dt.datetime.combine(day, dt.time(hh, mm), tzinfo=HALL_TZ)


@lru_cache(maxsize=1)
def demo_catalog() -> StaticCatalog:
    """The demo guides and places, without an index (the booking service needs no search)."""
    guides = [s.guide for s in load_sources([demo_dir() / "kb"]).sources if s.guide]
    return StaticCatalog(PlaceDirectory(load_places(demo_dir() / "places.yaml")), guides)


ADMIN_SECRET = "admin-secret"


@contextmanager
def booking_app(settings, db_url: str, clock: Clock) -> Iterator:
    """The real app on ``db_url`` with the admin token ``ADMIN_SECRET`` and the hall's clock at ``clock``."""
    from zhiyin.app import create_app
    from zhiyin.db import shared_engine
    from zhiyin.services import Services

    app = create_app(
        Services(
            # bookings on ``db_url`` (SQLite or PostgreSQL); the demo knowledge base stays in its files
            settings.model_copy(
                update={"database_url": db_url, "admin_token": SecretStr(ADMIN_SECRET), "kb_store": "files"}
            )
        )
    )
    app.state.services.bookings.clock = clock
    try:
        yield app
    finally:
        shared_engine(db_url).dispose()

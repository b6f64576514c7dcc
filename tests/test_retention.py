"""Bookings and tickets are deleted once their day is long past, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from booking_helpers import CARD, LAST4, MONDAY, PHONE, TUESDAY, WEDNESDAY, Clock, at, demo_catalog

from doorplate.booking import BookingService, NotFound
from doorplate.queue import QueueService
from doorplate.retention import cutoff, purge


def test_the_days_past_are_deleted_and_the_days_kept_are_not(db_engine):
    clock = Clock(MONDAY, 10)
    bookings = BookingService(db_engine, demo_catalog(), b"test-booking-key", clock=clock)
    queue = QueueService(db_engine, bookings)
    old, _ = bookings.book("yc-taoxi", CARD, at(TUESDAY, 9), "张三丰", PHONE)
    kept, _ = bookings.book("yc-taoxi", CARD, at(WEDNESDAY, 9), "李四", "13900001234")
    clock.set(TUESDAY, 8, 50)
    queue.check_in(old.code)
    queue.issue("yc-taoxi", item_id=CARD)  # a walk-in the same day
    with pytest.raises(NotFound):
        bookings.lookup(kept.code, "0000")  # a wrong try, counted until the hour is long past

    assert purge(db_engine, before=WEDNESDAY) == {
        "tickets": 2,
        "bookings": 1,
        "ticket_counters": 1,
        "slot_counts": 1,
        "booking_tries": 1,
    }
    assert set(purge(db_engine, before=WEDNESDAY).values()) == {0}  # nothing twice
    with pytest.raises(NotFound):
        bookings.lookup(old.code, LAST4)
    assert bookings.lookup(kept.code, "1234").status == "booked"
    assert [s.free for s in bookings.slots("yc-taoxi", CARD, WEDNESDAY) if s.slot == at(WEDNESDAY, 9)] == [1]


def test_the_cutoff_counts_whole_days_back_from_the_halls_today():
    assert cutoff(90, Clock(WEDNESDAY, 23, 59)()) == dt.date(2026, 8, 27)  # WEDNESDAY is 2026-11-25
    assert cutoff(1, Clock(WEDNESDAY, 0, 1)()) == TUESDAY


def test_a_running_server_deletes_the_old_bookings_itself(demo_settings, db_url):
    from booking_helpers import booking_app
    from fastapi.testclient import TestClient

    clock = Clock(MONDAY, 10)
    with booking_app(demo_settings, db_url, clock) as app:
        old, _ = app.state.services.bookings.book("yc-taoxi", CARD, at(TUESDAY, 9), "张三丰", PHONE)
        clock.set(TUESDAY + dt.timedelta(days=100), 10)  # long after, the server (re)starts
        with TestClient(app) as client:
            for _ in range(100):  # the purge runs beside the server, right after it starts
                if client.get(f"/api/bookings/{old.code}", params={"last4": LAST4}).status_code == 404:
                    break
                time.sleep(0.05)
            assert client.get(f"/api/bookings/{old.code}", params={"last4": LAST4}).status_code == 404

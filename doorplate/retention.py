"""How long a hall keeps what its visitors left: bookings and queue tickets are deleted once their
day is ``retention_days`` past (``ZHIYIN_BOOKING_RETENTION_DAYS``), with the counters that served
them. Bookings hold a masked name and keyed hashes of phone and ID number — little, but a hall
needs none of it after the visit has long been settled.

``purge`` runs from ``zhiyin db purge`` and, in a running server, every few hours.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.engine import Engine

from doorplate.models import Booking, BookingTry, SlotCount, Ticket, TicketCounter
from halls.clock import hall_now


def cutoff(retention_days: int, now: dt.datetime | None = None) -> dt.date:
    """The first day still kept: everything of an earlier day goes."""
    return (now or hall_now()).date() - dt.timedelta(days=retention_days)


def purge(engine: Engine, before: dt.date) -> dict[str, int]:
    """Delete the bookings, tickets and counters of days before ``before``; how many of each."""
    midnight = dt.datetime.combine(before, dt.time())
    statements = {
        "tickets": delete(Ticket).where(Ticket.day < before),
        "bookings": delete(Booking).where(Booking.day < before),
        "ticket_counters": delete(TicketCounter).where(TicketCounter.day < before),
        "slot_counts": delete(SlotCount).where(SlotCount.slot < midnight),
        "booking_tries": delete(BookingTry).where(BookingTry.tried < midnight),  # long past counting
    }
    with engine.begin() as conn:
        return {name: conn.execute(statement).rowcount for name, statement in statements.items()}

"""The doorplate wing's tables: plate codes and scan counts; bookings, slot counts, queue tickets, staff tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from halls.sql import Base, utcnow


class Plate(Base):
    """A code issued for a place. At most one active (not revoked) plate per place."""

    __tablename__ = "plates"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    place_id: Mapped[str] = mapped_column(String(64), index=True)
    issued: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class PlateScan(Base):
    """How often a code was opened on a day, and what it turned out to be."""

    __tablename__ = "plate_scans"
    __table_args__ = (UniqueConstraint("day", "code", "outcome", name="uq_plate_scans_day_code_outcome"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    code: Mapped[str] = mapped_column(String(16))  # "" for every code not issued for a place
    place_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(8))  # ok | revoked | unknown | forged
    count: Mapped[int] = mapped_column(Integer, default=0)


# -- appointments and queues ---------------------------------------------------------------------
# Times in these tables are the hall's wall clock (Asia/Shanghai), naive: a slot "09:00" is 09:00
# in the hall. Nothing personal is kept in clear: a name only masked, a phone and an ID number as a
# keyed hash plus the last four digits.
class SlotCount(Base):
    """Bookings taken in one slot of one item group: the row the database updates conditionally
    (``booked < capacity``), so two requests can never take the last place together."""

    __tablename__ = "slot_counts"
    __table_args__ = (CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_counts_capacity"),)
    place_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_letter: Mapped[str] = mapped_column(String(1), primary_key=True)
    slot: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class Booking(Base):
    """One appointment. Status: booked → checked_in; or cancelled (a reschedule cancels and books)."""

    __tablename__ = "bookings"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    place_id: Mapped[str] = mapped_column(String(64))
    group_letter: Mapped[str] = mapped_column(String(1))
    item_id: Mapped[str] = mapped_column(String(64))
    slot: Mapped[dt.datetime] = mapped_column(DateTime)
    day: Mapped[dt.date] = mapped_column(Date)  # the slot's day, for the one-per-phone-per-item-per-day rule
    status: Mapped[str] = mapped_column(String(12), default="booked")
    name_masked: Mapped[str] = mapped_column(String(32))
    phone_hash: Mapped[str] = mapped_column(String(64))
    phone_last4: Mapped[str] = mapped_column(String(4))
    phone_masked: Mapped[str] = mapped_column(String(16))
    id_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    id_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime)
    cancelled: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    checked_in: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    replaced_by: Mapped[str | None] = mapped_column(String(8), nullable=True)  # the reschedule's new code


Index("ix_bookings_place_slot", Booking.place_id, Booking.slot)
# one active booking per phone per item per day, enforced by the database
Index(
    "uq_bookings_active_phone_item_day",
    Booking.phone_hash,
    Booking.item_id,
    Booking.day,
    unique=True,
    sqlite_where=Booking.status != "cancelled",
    postgresql_where=Booking.status != "cancelled",
)


class BookingTry(Base):
    """One look-up of a booking by its code and the phone's last four digits, kept while it counts
    against the code's hourly budget of wrong tries (``doorplate.booking.WRONG_TRIES_PER_HOUR``).
    In the database, so the budget holds across server processes. A right try is deleted at once."""

    __tablename__ = "booking_tries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(8))  # any well-formed code: a guess learns nothing
    tried: Mapped[dt.datetime] = mapped_column(DateTime)


Index("ix_booking_tries_code_tried", BookingTry.code, BookingTry.tried)


class TicketCounter(Base):
    """The last ticket number given per place, day and group (A001, A002 …)."""

    __tablename__ = "ticket_counters"
    place_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    group_letter: Mapped[str] = mapped_column(String(1), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """A queue number. Status: waiting → called → done | no_show. Priority: 2 绿色通道 (elderly,
    disabled), 1 booked, 0 walk-in; within a group the higher priority is called first."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("place_id", "day", "group_letter", "number", name="uq_tickets_number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    place_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[dt.date] = mapped_column(Date)
    group_letter: Mapped[str] = mapped_column(String(1))
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    booking_code: Mapped[str | None] = mapped_column(String(8), nullable=True, unique=True)
    item_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default="waiting")
    window: Mapped[str | None] = mapped_column(String(16), nullable=True)
    issued: Mapped[dt.datetime] = mapped_column(DateTime)
    called: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # first call
    last_called: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # latest call or recall
    calls: Mapped[int] = mapped_column(Integer, default=0)
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


Index("ix_tickets_queue", Ticket.place_id, Ticket.day, Ticket.status)


class QueueVersion(Base):
    """A counter bumped by every change to a place's queue: the hall screen polls it cheaply."""

    __tablename__ = "queue_versions"
    place_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class StaffToken(Base):
    """A clerk's token (only its SHA-256 is kept), optionally bound to a hall and a window."""

    __tablename__ = "staff_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    place_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    window: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

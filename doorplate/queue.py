"""Queue numbers (取号叫号): check-in, walk-in tickets, call next, call again, done, no-show, waits.

A ticket number comes from a counter row per (hall, day, group), incremented with
``UPDATE … RETURNING`` in the transaction that inserts the ticket: numbers never repeat.
Calling the next visitor is one conditional UPDATE whose candidate is chosen with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (two windows calling at once get two different people);
SQLite runs one writer at a time. Within a group, 绿色通道 visitors (elderly, disabled) come first,
then booked visitors, then walk-ins, each in the order they arrived.

Every change bumps the hall's row in ``queue_versions``, so the hall screen can poll one row.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.engine import Engine

from doorplate.booking import (
    BookingService,
    NotFound,
    RuleViolation,
    booking_place,
    bookings_table,
    clean_code,
    retrying,
)
from doorplate.models import QueueVersion, Ticket, TicketCounter
from doorplate.slots import opening_hours, service_weekday
from halls.booking_config import BookingConfig, ItemGroup
from halls.clock import hall_time
from halls.places import Place
from halls.sql import insert_or_ignore

log = logging.getLogger("zhiyin.queue")

GREEN, BOOKED, WALK_IN = 2, 1, 0  # priorities: 绿色通道, booked, walk-in
KIND = {GREEN: "green", BOOKED: "booked", WALK_IN: "walk_in"}
CHECKIN_EARLY = dt.timedelta(minutes=60)  # a booked visitor may check in from an hour before the slot
CHECKIN_LATE = dt.timedelta(minutes=30)  # after the slot's end + this, they queue as a walk-in
DEFAULT_SERVICE = dt.timedelta(minutes=5)  # assumed time per visitor before any was served today
RECENT_SERVICES = 20  # service times averaged for the estimate
ACTIVE_WINDOW = dt.timedelta(minutes=30)  # a window that called within this is counted as open

tickets = Ticket.__table__
counters = TicketCounter.__table__
versions = QueueVersion.__table__


@dataclass(frozen=True)
class TicketRecord:
    id: int
    place_id: str
    day: dt.date
    group_letter: str
    number: int
    label: str
    priority: int
    booking_code: str | None
    item_id: str | None
    status: str
    window: str | None
    issued: dt.datetime
    called: dt.datetime | None
    last_called: dt.datetime | None
    calls: int
    finished: dt.datetime | None

    @classmethod
    def of(cls, row: Any) -> TicketRecord:
        m = row._mapping
        return cls(**{f: m[f] for f in cls.__dataclass_fields__})

    @property
    def kind(self) -> str:
        return KIND.get(self.priority, "walk_in")


@dataclass(frozen=True)
class Position:
    ticket: TicketRecord
    ahead: int  # waiting visitors who will be called before this one
    wait_minutes: int


@dataclass(frozen=True)
class GroupStatus:
    letter: str
    label: str
    waiting: int
    wait_minutes: int  # for a visitor taking a walk-in ticket now


@dataclass(frozen=True)
class QueueStatus:
    """What the hall screen shows: no names, no phones, only numbers and windows."""

    place: Place
    version: int
    time: dt.datetime
    calls: list[TicketRecord]  # the latest calls, newest first
    groups: list[GroupStatus]


def announcement(ticket: TicketRecord) -> str:
    """What the hall screen says aloud: 请A012号到C05号窗口办理 (a named window: 到帮办窗口)."""
    window = ticket.window or ""
    number = "号" if window[-1:].isdigit() else ""
    return (
        f"请{ticket.label}号到{window}{number}窗口办理。Number {ticket.label}, please go to window {window}."
    )


class QueueService:
    def __init__(self, engine: Engine, bookings: BookingService):
        self.engine = engine
        self.bookings = bookings

    @property
    def now(self) -> dt.datetime:
        return hall_time(self.bookings.clock())

    def hall(self, place_id: str) -> tuple[Place, BookingConfig]:
        """The hall whose queue a place (kiosk, zone, window) belongs to."""
        _, hall = self.bookings.place(place_id)
        assert hall.booking is not None
        return hall, hall.booking

    # -- numbers -----------------------------------------------------------------------------------
    @staticmethod
    def _next_number(conn: Connection, place_id: str, day: dt.date, letter: str) -> int:
        insert_or_ignore(
            conn, counters, {"place_id": place_id, "day": day, "group_letter": letter, "last": 0}
        )
        return conn.execute(
            update(counters)
            .where(counters.c.place_id == place_id, counters.c.day == day, counters.c.group_letter == letter)
            .values(last=counters.c.last + 1)
            .returning(counters.c.last)
        ).scalar_one()

    @staticmethod
    def _bump(conn: Connection, place_id: str) -> None:
        insert_or_ignore(conn, versions, {"place_id": place_id, "version": 0})
        conn.execute(
            update(versions).where(versions.c.place_id == place_id).values(version=versions.c.version + 1)
        )

    def _new_ticket(
        self,
        conn: Connection,
        place_id: str,
        letter: str,
        priority: int,
        item_id: str | None,
        code: str | None,
    ) -> TicketRecord:
        now = self.now
        number = self._next_number(conn, place_id, now.date(), letter)
        row = conn.execute(
            insert(tickets)
            .values(
                place_id=place_id,
                day=now.date(),
                group_letter=letter,
                number=number,
                label=f"{letter}{number:03d}",
                priority=priority,
                booking_code=code,
                item_id=item_id,
                status="waiting",
                issued=now,
                calls=0,
            )
            .returning(*tickets.c)
        ).one()
        self._bump(conn, place_id)
        return TicketRecord.of(row)

    # -- arriving ----------------------------------------------------------------------------------
    def check_in(
        self, code: str, *, place_id: str | None = None, green: bool = False
    ) -> tuple[TicketRecord, bool]:
        """Check a booked visitor in: their ticket, and whether they came late (then they queue as a
        walk-in). Checking in twice gives the same ticket."""
        cleaned = clean_code(code)
        with self.engine.connect() as conn:
            booking = (
                conn.execute(select(bookings_table).where(bookings_table.c.code == cleaned)).first()
                if cleaned
                else None
            )
        if booking is None:
            raise NotFound("booking", "没有这个预约码。No booking with this code.")
        if place_id is not None:
            here = booking_place(self.bookings.catalog.directory, place_id)
            if here is None or here.id != booking.place_id:
                raise RuleViolation("other_place", "该预约不在本大厅办理。This booking is for another hall.")
        if booking.status == "checked_in":
            return self._ticket_of_booking(booking.code), False
        if booking.status != "booked":
            raise RuleViolation("not_active", "该预约已取消。This booking was cancelled.")
        now = self.now
        hall, config = self.hall(booking.place_id)
        if booking.slot.date() != now.date():
            raise RuleViolation(
                "not_today",
                f"预约日期是{booking.slot:%m月%d日}，请当天签到。The booking is for {booking.slot:%Y-%m-%d}.",
            )
        if now < booking.slot - CHECKIN_EARLY:
            opens = booking.slot - CHECKIN_EARLY
            raise RuleViolation("too_early", f"请于{opens:%H:%M}以后签到。Check-in opens at {opens:%H:%M}.")
        late = now > booking.slot + dt.timedelta(minutes=config.slot_minutes) + CHECKIN_LATE
        priority = GREEN if green else (WALK_IN if late else BOOKED)

        def work() -> TicketRecord | None:
            with self.engine.begin() as conn:
                marked = conn.execute(
                    update(bookings_table)
                    .where(bookings_table.c.code == booking.code, bookings_table.c.status == "booked")
                    .values(status="checked_in", checked_in=now)
                )
                if marked.rowcount != 1:
                    return None  # checked in (or cancelled) a moment ago
                return self._new_ticket(
                    conn, hall.id, booking.group_letter, priority, booking.item_id, booking.code
                )

        ticket = retrying(work)
        if ticket is None:
            return self.check_in(code, place_id=place_id, green=green)
        log.info("checked in %s: %s%s", booking.code, ticket.label, " (late)" if late else "")
        return ticket, late

    def _ticket_of_booking(self, code: str) -> TicketRecord:
        with self.engine.connect() as conn:
            return TicketRecord.of(conn.execute(select(tickets).where(tickets.c.booking_code == code)).one())

    def issue(
        self, place_id: str, *, item_id: str | None = None, group: str | None = None, green: bool = False
    ) -> TicketRecord:
        """A walk-in ticket (取号) for an item, or directly for a group letter."""
        hall, config = self.hall(place_id)
        if item_id:
            chosen: ItemGroup | None = self.bookings.resolve(place_id, item_id).group
        elif group:
            chosen = config.group(group.upper())
            if chosen is None:
                raise NotFound("group", f"没有{group}类业务。No group {group} here.")
        else:
            raise RuleViolation("item", "请选择要办理的事项。Say which item (or group) the ticket is for.")
        now = self.now
        today = opening_hours(config, now.date(), self.bookings.calendar)
        weekday = service_weekday(config, now.date(), self.bookings.calendar)
        if weekday is None or not today or not chosen.open_on(weekday) or now.time() >= today[-1][1]:
            raise RuleViolation(
                "closed", "现在不在办理时间，请在工作时间取号。The hall is not taking tickets now."
            )
        ticket = retrying(
            lambda: self._in_transaction(
                lambda conn: self._new_ticket(
                    conn, hall.id, chosen.letter, GREEN if green else WALK_IN, item_id, None
                )
            )
        )
        log.info("walk-in ticket %s at %s", ticket.label, hall.id)
        return ticket

    def _in_transaction(self, work):
        with self.engine.begin() as conn:
            return work(conn)

    # -- windows -----------------------------------------------------------------------------------
    def call_next(self, place_id: str, window: str, groups: list[str] | None = None) -> TicketRecord | None:
        """Call the next visitor to ``window`` (the one it was serving is done). None: nobody waits."""
        hall, config = self.hall(place_id)
        if groups:
            unknown = [g for g in groups if config.group(g) is None]
            if unknown:
                raise NotFound("group", f"没有这些业务分组：{unknown}。No such groups here.")
            letters = list(groups)
        else:  # the groups this window serves (a group without a window list is served anywhere)
            letters = [g.letter for g in config.groups if not g.windows or window in g.windows]
            if not letters:
                raise RuleViolation(
                    "window", f"{window}号窗口不办理任何业务分组。Window {window} serves no group."
                )
        now = self.now

        def work() -> TicketRecord | None:
            with self.engine.begin() as conn:
                conn.execute(
                    update(tickets)
                    .where(
                        tickets.c.place_id == hall.id,
                        tickets.c.day == now.date(),
                        tickets.c.window == window,
                        tickets.c.status == "called",
                    )
                    .values(status="done", finished=now)
                )
                candidate = (
                    select(tickets.c.id)
                    .where(
                        tickets.c.place_id == hall.id,
                        tickets.c.day == now.date(),
                        tickets.c.status == "waiting",
                        tickets.c.group_letter.in_(letters),
                    )
                    .order_by(tickets.c.priority.desc(), tickets.c.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                    .scalar_subquery()
                )
                row = conn.execute(
                    update(tickets)
                    .where(tickets.c.id == candidate, tickets.c.status == "waiting")
                    .values(status="called", window=window, called=now, last_called=now, calls=1)
                    .returning(*tickets.c)
                ).first()
                self._bump(conn, hall.id)
                return TicketRecord.of(row) if row else None

        called = retrying(work)
        if called:
            log.info("called %s to window %s at %s", called.label, window, hall.id)
        return called

    def _change(
        self, ticket_id: int, allowed: tuple[str, ...], values: dict, window: str | None
    ) -> TicketRecord:
        def work() -> TicketRecord | None:
            with self.engine.begin() as conn:
                where = [tickets.c.id == ticket_id, tickets.c.status.in_(allowed)]
                if window is not None:
                    where.append(tickets.c.window == window)
                row = conn.execute(
                    update(tickets).where(*where).values(**values).returning(*tickets.c)
                ).first()
                if row is not None:
                    self._bump(conn, row.place_id)
                return TicketRecord.of(row) if row else None

        changed = retrying(work)
        if changed is None:
            current = self.ticket(ticket_id)
            if window is not None and current.window != window:
                raise RuleViolation(
                    "other_window", "这个号码不在本窗口。This ticket was called to another window."
                )
            raise RuleViolation(
                "ticket_state", f"这个号码当前状态为{current.status}。This ticket is {current.status}."
            )
        return changed

    def recall(self, ticket_id: int, window: str | None = None) -> TicketRecord:
        """Call the same number again (the screen shows and reads it once more)."""
        return self._change(
            ticket_id, ("called",), {"calls": tickets.c.calls + 1, "last_called": self.now}, window
        )

    def finish(
        self, ticket_id: int, outcome: Literal["done", "no_show"], window: str | None = None
    ) -> TicketRecord:
        return self._change(ticket_id, ("called",), {"status": outcome, "finished": self.now}, window)

    # -- reading -----------------------------------------------------------------------------------
    def ticket(self, ticket_id: int) -> TicketRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        if row is None:
            raise NotFound("ticket", "没有这个号码。No such ticket.")
        return TicketRecord.of(row)

    def version(self, place_id: str) -> int:
        hall, _ = self.hall(place_id)
        with self.engine.connect() as conn:
            return (
                conn.execute(select(versions.c.version).where(versions.c.place_id == hall.id)).scalar() or 0
            )

    def _service_minutes(
        self, conn: Connection, place_id: str, letter: str, now: dt.datetime
    ) -> tuple[float, int]:
        """(average minutes per visitor, windows serving the group lately) from recent services."""
        served = conn.execute(
            select(tickets.c.called, tickets.c.finished)
            .where(
                tickets.c.place_id == place_id,
                tickets.c.group_letter == letter,
                tickets.c.status == "done",
                tickets.c.finished.is_not(None),
            )
            .order_by(tickets.c.finished.desc())
            .limit(RECENT_SERVICES)
        ).all()
        spans = [(f - c).total_seconds() / 60 for c, f in served if c and f and f >= c]
        per_visitor = sum(spans) / len(spans) if spans else DEFAULT_SERVICE.total_seconds() / 60
        windows = conn.execute(
            select(func.count(func.distinct(tickets.c.window))).where(
                tickets.c.place_id == place_id,
                tickets.c.group_letter == letter,
                tickets.c.day == now.date(),
                tickets.c.last_called >= now - ACTIVE_WINDOW,
            )
        ).scalar_one()
        return min(max(per_visitor, 0.5), 120.0), max(1, windows)

    def _estimate(self, conn: Connection, place_id: str, letter: str, ahead: int, now: dt.datetime) -> int:
        per_visitor, windows = self._service_minutes(conn, place_id, letter, now)
        return math.ceil(ahead * per_visitor / windows)

    def position(self, ticket_id: int) -> Position:
        ticket = self.ticket(ticket_id)
        now = self.now
        with self.engine.connect() as conn:
            ahead = 0
            if ticket.status == "waiting":
                ahead = conn.execute(
                    select(func.count()).where(
                        tickets.c.place_id == ticket.place_id,
                        tickets.c.day == ticket.day,
                        tickets.c.group_letter == ticket.group_letter,
                        tickets.c.status == "waiting",
                        (tickets.c.priority > ticket.priority)
                        | ((tickets.c.priority == ticket.priority) & (tickets.c.id < ticket.id)),
                    )
                ).scalar_one()
            wait = self._estimate(conn, ticket.place_id, ticket.group_letter, ahead, now) if ahead else 0
        return Position(ticket, ahead, wait)

    def find(self, place_id: str, label: str) -> TicketRecord:
        """Today's ticket with this number at the hall (what a visitor reads off their slip)."""
        hall, _ = self.hall(place_id)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tickets).where(
                    tickets.c.place_id == hall.id,
                    tickets.c.day == self.now.date(),
                    tickets.c.label == label.upper(),
                )
            ).first()
        if row is None:
            raise NotFound("ticket", f"今天没有{label}号。No ticket {label} today.")
        return TicketRecord.of(row)

    def status(self, place_id: str, calls: int = 10) -> QueueStatus:
        hall, config = self.hall(place_id)
        now = self.now
        with self.engine.connect() as conn:
            version = (
                conn.execute(select(versions.c.version).where(versions.c.place_id == hall.id)).scalar() or 0
            )
            recent = conn.execute(
                select(tickets)
                .where(
                    tickets.c.place_id == hall.id,
                    tickets.c.day == now.date(),
                    tickets.c.last_called.is_not(None),
                )
                .order_by(tickets.c.last_called.desc(), tickets.c.id.desc())
                .limit(calls)
            ).all()
            waiting = dict(
                conn.execute(
                    select(tickets.c.group_letter, func.count())
                    .where(
                        tickets.c.place_id == hall.id,
                        tickets.c.day == now.date(),
                        tickets.c.status == "waiting",
                    )
                    .group_by(tickets.c.group_letter)
                ).all()
            )
            groups = [
                GroupStatus(
                    g.letter,
                    g.label,
                    waiting.get(g.letter, 0),
                    self._estimate(conn, hall.id, g.letter, waiting.get(g.letter, 0), now),
                )
                for g in config.groups
            ]
        return QueueStatus(hall, version, now, [TicketRecord.of(r) for r in recent], groups)

    def board(self, place_id: str) -> list[tuple[TicketRecord, Any]]:
        """Staff view: today's waiting and called tickets with their booking's masked name and phone."""
        hall, _ = self.hall(place_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    tickets,
                    bookings_table.c.name_masked,
                    bookings_table.c.phone_masked,
                    bookings_table.c.slot,
                )
                .select_from(
                    tickets.outerjoin(bookings_table, bookings_table.c.code == tickets.c.booking_code)
                )
                .where(
                    tickets.c.place_id == hall.id,
                    tickets.c.day == self.now.date(),
                    tickets.c.status.in_(("waiting", "called")),
                )
                .order_by(tickets.c.group_letter, tickets.c.priority.desc(), tickets.c.id)
            ).all()
        return [(TicketRecord.of(r), r) for r in rows]

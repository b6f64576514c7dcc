"""Appointments (预约): book, look up, cancel, reschedule — capacity is enforced by the database.

Why a slot can never go to two people: every (place, item group, slot) has a row in
``slot_counts``; a booking inserts its own row and then runs
``INSERT INTO slot_counts … ON CONFLICT DO UPDATE SET booked = booked + 1 WHERE booked < capacity``
in the same transaction, and gives up (409, rolling its row back) when that writes nothing.
PostgreSQL re-checks the condition on the row after waiting for its lock; SQLite lets one writer at a
time. A CHECK constraint (``booked <= capacity``) backs it up. Nothing is decided by reading first
and writing later.

The other rules live in the database too: one active booking per phone, item and day is a partial
unique index; a retried create with the same idempotency key hits a unique column and gets the
first booking back. A confirmed booking is committed before its 201 is sent.

Privacy: a name is kept only masked (张*三); a phone as a keyed hash (for the rules), its last four
digits (for look-ups) and a masked form (138****5678); an ID number as a keyed hash and its last four.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from doorplate.codes import ALPHABET, normalise_code
from doorplate.models import Booking, BookingTry, SlotCount
from doorplate.slots import (
    HolidayCalendar,
    SlotRuleError,
    bookable_days,
    bookable_slots,
    check_slot,
    china_calendar,
)
from halls import sql
from halls.booking_config import BookingConfig, ItemGroup
from halls.clock import hall_now, hall_time
from halls.places import Place, PlaceDirectory
from halls.privacy import mask_name, mask_phone
from halls.sql import insert_or_ignore
from knowledge.models import Guide

log = logging.getLogger("zhiyin.booking")

BOOKING_CODE_LEN = 8  # 40 random bits; a look-up also needs the phone's last four digits
# ASCII digits only: a bare \d also matches full-width and other scripts' digits, which would make
# "1386666555５" a valid phone with another hash (and another booking) than "13866665555"
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")
_SEPARATORS = re.compile(r"[\s\-.()]")  # what people put between digit groups: 138 1234-5678, (0086)
_COUNTRY_PREFIXES = ("+86", "0086", "86")  # China's calling code, written three ways
# A right guess among 10,000 last-four combinations needs ~5,000 tries; 5 an hour make that ~40 days
# per code while the owner who mistypes twice still gets in. Counted in the database (booking_tries).
WRONG_TRIES_PER_HOUR = 5
TRY_WINDOW = dt.timedelta(hours=1)
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
STATUS_ZH = {"booked": "已预约", "checked_in": "已签到", "cancelled": "已取消"}

bookings_table = Booking.__table__
slot_counts = SlotCount.__table__
booking_tries = BookingTry.__table__


# -- errors: each knows its HTTP status, a short code and a bilingual message ---------------------
class BookingError(Exception):
    status = 400
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error
        self.message = message


class NotFound(BookingError):
    status = 404


class SlotFull(BookingError):
    status = 409


class RuleViolation(BookingError):
    status = 422


class Busy(BookingError):
    """The database stayed locked (SQLite) or kept deadlocking: the client may simply retry."""

    status = 503
    retry_after = 1


class TooManyTries(BookingError):
    """The code's budget of wrong last-four tries for the hour is spent."""

    status = 429

    def __init__(self, retry_after: int):
        super().__init__(
            "too_many_tries",
            "手机号后四位输错次数过多，请一小时后再试，或到大厅窗口凭身份证办理。"
            "Too many wrong tries for this booking code; please try again in an hour, or ask at the hall.",
        )
        self.retry_after = retry_after


# -- what can be booked where ---------------------------------------------------------------------
class ItemCatalog(Protocol):
    """What the booking service needs to know about items (``doorplate.catalog.ServiceCatalog``)."""

    directory: PlaceDirectory

    def guide(self, guide_id: str) -> Guide | None: ...

    def items_at(self, place_id: str) -> list[Guide]: ...


class StaticCatalog:
    """An ItemCatalog over a fixed list of guides (for tools and tests without an index)."""

    def __init__(self, directory: PlaceDirectory, guides: Iterable[Guide]):
        self.directory = directory
        self._guides = {g.id: g for g in guides}

    def guide(self, guide_id: str) -> Guide | None:
        return self._guides.get(guide_id)

    def items_at(self, place_id: str) -> list[Guide]:
        inside = self.directory.subtree(place_id)
        return [g for g in self._guides.values() if inside.intersection(g.locations)]


def booking_place(directory: PlaceDirectory, place_id: str) -> Place | None:
    """The place whose booking configuration serves ``place_id``: a zone or window takes its hall's
    bookings (the hall's groups cover its zones); any other place its own, if it has one."""
    chain: list[Place] = []
    current = directory.get(place_id)
    while current is not None and current not in chain:
        chain.append(current)
        if current.kind not in ("zone", "window"):
            break
        current = directory.get(current.parent)
    return next((p for p in reversed(chain) if p.booking is not None), None)


def serves(directory: PlaceDirectory, place_id: str, guide: Guide) -> bool:
    return bool(directory.subtree(place_id) & set(guide.locations)) or directory.handles(
        place_id, guide.locations
    )


@dataclass(frozen=True)
class Bookable:
    """An item at a place, with the hall that takes its bookings and the group it is booked in."""

    place: Place  # the booking place (holds the configuration)
    config: BookingConfig
    group: ItemGroup
    guide: Guide


@dataclass(frozen=True)
class SlotView:
    slot: dt.datetime
    capacity: int
    free: int


@dataclass(frozen=True)
class BookingRecord:
    code: str
    place_id: str
    group_letter: str
    item_id: str
    slot: dt.datetime
    status: str
    name_masked: str
    phone_masked: str
    id_last4: str | None
    created: dt.datetime
    cancelled: dt.datetime | None = None
    checked_in: dt.datetime | None = None
    replaced_by: str | None = None

    @classmethod
    def of(cls, row: Any) -> BookingRecord:
        m = row._mapping
        return cls(**{f: m[f] for f in cls.__dataclass_fields__})


# -- input checks ---------------------------------------------------------------------------------
def _folded(raw: str | None) -> str:
    """NFKC (full-width digits and letters → ASCII) without separators: the one form a phone or an
    ID number is validated, compared and hashed in. Lone surrogates and other junk survive to fail
    the ASCII pattern that follows — never to raise."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))


def normalise_phone(raw: str | None) -> str:
    """A mainland mobile as its 11 ASCII digits, however it was typed: ``１３８…``, ``138 1234 5678``,
    ``+86 138-1234-5678``, ``008613812345678``, ``8613812345678``."""
    phone = _folded(raw)
    for prefix in _COUNTRY_PREFIXES:
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            phone = phone[len(prefix) :]
            break
    if not MOBILE.match(phone):
        raise RuleViolation("phone", "请填写11位手机号码。Please give a mainland mobile number (11 digits).")
    return phone


def normalise_id_number(raw: str | None) -> str:
    number = _folded(raw).upper()
    if not ID_NUMBER.match(number):
        raise RuleViolation("id_number", "身份证号码应为18位。An ID number has 18 characters.")
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    if "10X98765432"[total % 11] != number[17]:
        raise RuleViolation(
            "id_number", "身份证号码校验位不对，请核对。The ID number's check digit is wrong."
        )
    return number


def clean_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not 1 <= len(name) <= 30 or any(c.isdigit() or not c.isprintable() for c in name):
        raise RuleViolation("name", "请填写办事人姓名。Please give the visitor's name.")
    return name


def new_booking_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(BOOKING_CODE_LEN))


def clean_code(raw: str) -> str | None:
    code = normalise_code(raw or "")
    if len(code) != BOOKING_CODE_LEN or any(c not in ALPHABET for c in code):
        return None
    return code


T = TypeVar("T")


def retrying(work: Callable[[], T]) -> T:
    """``halls.sql.retrying``, a database that stays busy told as the booking refusal ``busy`` (503)."""
    try:
        return sql.retrying(work)
    except sql.DatabaseBusy as exc:
        raise Busy("busy", "系统繁忙，请稍后重试。The system is busy; please try again.") from exc


class _Full(Exception):
    pass


@lru_cache(maxsize=4)
def _take_statement(dialect: str):
    """``INSERT … ON CONFLICT DO UPDATE SET booked = booked + 1 WHERE booked < capacity RETURNING``:
    the slot's row is made on its first booking and incremented only while a place is free, in one
    statement. PostgreSQL re-evaluates the WHERE on the newest row after waiting for its lock."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return None
    row = dialect_insert(slot_counts).values(
        place_id=bindparam("place_id"),
        group_letter=bindparam("letter"),
        slot=bindparam("slot"),
        capacity=bindparam("capacity"),
        booked=1,
    )
    return row.on_conflict_do_update(
        index_elements=[slot_counts.c.place_id, slot_counts.c.group_letter, slot_counts.c.slot],
        set_={"booked": slot_counts.c.booked + 1, "capacity": row.excluded.capacity},
        where=slot_counts.c.booked < row.excluded.capacity,
    ).returning(slot_counts.c.booked)


_TAKE_BY_UPDATE = (
    update(slot_counts)
    .where(
        slot_counts.c.place_id == bindparam("place_id"),
        slot_counts.c.group_letter == bindparam("letter"),
        slot_counts.c.slot == bindparam("slot"),
        slot_counts.c.booked < bindparam("capacity"),
    )
    .values(booked=slot_counts.c.booked + 1, capacity=bindparam("capacity"))
)
_INSERT_BOOKING = insert(bookings_table).returning(*bookings_table.c)


class BookingService:
    def __init__(
        self,
        engine: Engine,
        catalog: ItemCatalog,
        key: bytes,
        *,
        calendar: HolidayCalendar | None = None,
        clock: Callable[[], dt.datetime] = hall_now,
    ):
        if not key:
            raise ValueError("the booking key must not be empty")
        self.engine = engine
        self.catalog = catalog
        self.calendar = calendar or china_calendar()
        self.clock = clock
        self._key = key

    # -- what can be booked ------------------------------------------------------------------------
    def place(self, place_id: str) -> tuple[Place, Place]:
        """(the place asked for, the place that takes its bookings)."""
        place = self.catalog.directory.get(place_id)
        if place is None:
            raise NotFound("place", f"没有这个地点。No place {place_id}.")
        hall = booking_place(self.catalog.directory, place_id)
        if hall is None:
            raise NotFound("no_booking", f"{place.name}不提供预约。{place_id} takes no bookings.")
        return place, hall

    def resolve(self, place_id: str, item_id: str) -> Bookable:
        place, hall = self.place(place_id)
        guide = self.catalog.guide(item_id)
        if guide is None:
            raise NotFound("item", f"没有这个事项。No item {item_id}.")
        if not serves(self.catalog.directory, place.id, guide):
            raise NotFound(
                "item_not_here", f"{place.name}不办理“{guide.name}”。{item_id} is not handled here."
            )
        assert hall.booking is not None
        group = hall.booking.group_for(guide.id, guide.category)
        if group is None:
            raise NotFound(
                "item_not_bookable", f"“{guide.name}”在{hall.name}无需预约。{item_id} cannot be booked here."
            )
        return Bookable(hall, hall.booking, group, guide)

    def bookable_items(self, place_id: str) -> list[tuple[Guide, ItemGroup]]:
        place, hall = self.place(place_id)
        assert hall.booking is not None
        found = []
        for guide in self.catalog.items_at(place.id):
            group = hall.booking.group_for(guide.id, guide.category)
            if group is not None:
                found.append((guide, group))
        return sorted(found, key=lambda gg: (gg[1].letter, gg[0].name))

    def open_days(self, place_id: str, item_id: str | None = None) -> list[dt.date]:
        if item_id:
            item = self.resolve(place_id, item_id)
            return bookable_days(item.config, item.group, self.clock(), self.calendar)
        _, hall = self.place(place_id)
        assert hall.booking is not None
        return bookable_days(hall.booking, None, self.clock(), self.calendar)

    def slots(self, place_id: str, item_id: str, day: dt.date) -> list[SlotView]:
        """The bookable slots of a day with their free places (past slots are left out)."""
        item = self.resolve(place_id, item_id)
        starts = bookable_slots(item.config, item.group, day, self.clock(), self.calendar)
        if not starts:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(slot_counts.c.slot, slot_counts.c.booked).where(
                    slot_counts.c.place_id == item.place.id,
                    slot_counts.c.group_letter == item.group.letter,
                    slot_counts.c.slot >= starts[0],
                    slot_counts.c.slot <= starts[-1],
                )
            )
            booked = {slot: n for slot, n in rows}
        capacity = item.group.capacity
        return [SlotView(s, capacity, max(0, capacity - booked.get(s, 0))) for s in starts]

    # -- booking -----------------------------------------------------------------------------------
    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def _check_slot(self, item: Bookable, slot: dt.datetime) -> dt.datetime:
        try:
            return check_slot(item.config, item.group, slot, self.clock(), self.calendar)
        except SlotRuleError as exc:
            raise RuleViolation(exc.reason, str(exc)) from exc

    def book(
        self,
        place_id: str,
        item_id: str,
        slot: dt.datetime,
        name: str,
        phone: str,
        id_number: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[BookingRecord, bool]:
        """Book a slot. Returns (the booking, replayed): ``replayed`` when the idempotency key had
        already booked, in which case the first booking is returned and nothing new is taken."""
        item = self.resolve(place_id, item_id)
        name, phone = clean_name(name), normalise_phone(phone)
        id_number = normalise_id_number(id_number) if id_number else None
        if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
            raise RuleViolation("idempotency_key", "Idempotency-Key: 8-64 letters, digits, _ . : -")
        phone_hash = self._hash("phone", phone)
        if idempotency_key:  # a retry after a timeout gets the first answer, even if the slot filled since
            earlier = self._replay(idempotency_key, phone_hash, item, slot)
            if earlier:
                return earlier, True
        slot = self._check_slot(item, slot)
        now = hall_time(self.clock())
        values = {
            "place_id": item.place.id,
            "group_letter": item.group.letter,
            "item_id": item.guide.id,
            "slot": slot,
            "day": slot.date(),
            "status": "booked",
            "name_masked": mask_name(name),
            "phone_hash": phone_hash,
            "phone_last4": phone[-4:],
            "phone_masked": mask_phone(phone),
            "id_hash": self._hash("id", id_number) if id_number else None,
            "id_last4": id_number[-4:] if id_number else None,
            "idempotency_key": idempotency_key,
            "created": now,
        }
        for _ in range(3):
            code = new_booking_code()

            def work(code: str = code) -> BookingRecord:
                with self.engine.begin() as conn:
                    # the booking row first: a duplicate (same phone/item/day, same idempotency key)
                    # fails here before the slot is touched
                    row = conn.execute(_INSERT_BOOKING, {"code": code, **values}).one()
                    if not self._take(conn, item.place.id, item.group.letter, slot, item.group.capacity):
                        raise _Full  # rolls the booking row back with the transaction
                    return BookingRecord.of(row)

            try:
                record = retrying(work)
            except _Full:
                raise SlotFull(
                    "slot_full",
                    "该时段已约满，请选择其他时段。This time slot is fully booked; please choose another.",
                ) from None
            except IntegrityError:
                if idempotency_key:
                    earlier = self._replay(idempotency_key, phone_hash, item, slot)
                    if earlier:
                        return earlier, True
                if self._active_booking(phone_hash, item.guide.id, slot.date()):
                    raise RuleViolation(
                        "already_booked",
                        "该手机号当天已预约过此事项，如需改时间请改约。"
                        "This phone already has a booking for this item on that day; reschedule it instead.",
                    ) from None
                continue  # the random code collided: draw another
            log.info(
                "booked %s: %s %s %s for %s",
                record.code,
                item.place.id,
                item.group.letter,
                slot.isoformat(),
                record.phone_masked,
            )
            return record, False
        raise RuntimeError("could not draw a free booking code")

    @staticmethod
    def _take(conn: Connection, place_id: str, letter: str, slot: dt.datetime, capacity: int) -> bool:
        """Take one place in the slot if one is free: the conditional write is the whole decision."""
        params = {"place_id": place_id, "letter": letter, "slot": slot, "capacity": capacity}
        upsert = _take_statement(conn.dialect.name)
        if upsert is not None:
            return conn.execute(upsert, params).first() is not None
        insert_or_ignore(  # other databases: make the row, then the conditional update
            conn,
            slot_counts,
            {"place_id": place_id, "group_letter": letter, "slot": slot, "capacity": capacity, "booked": 0},
        )
        return conn.execute(_TAKE_BY_UPDATE, params).rowcount == 1

    @staticmethod
    def _release(conn: Connection, place_id: str, letter: str, slot: dt.datetime) -> None:
        conn.execute(
            update(slot_counts)
            .where(
                slot_counts.c.place_id == place_id,
                slot_counts.c.group_letter == letter,
                slot_counts.c.slot == slot,
                slot_counts.c.booked > 0,
            )
            .values(booked=slot_counts.c.booked - 1)
        )

    def _replay(
        self, idempotency_key: str, phone_hash: str, item: Bookable, slot: dt.datetime
    ) -> BookingRecord | None:
        """The booking this key already made, if the request is the same one again; a key reused for
        another phone, item or slot is refused (422): answering with the first booking as 201 would tell
        the caller the other slot was booked."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(bookings_table).where(bookings_table.c.idempotency_key == idempotency_key)
            ).first()
        if row is None:
            return None
        if not hmac.compare_digest(row.phone_hash, phone_hash):
            raise RuleViolation(
                "idempotency_key",
                "这个幂等键已用于另一笔预约。This Idempotency-Key belongs to another booking.",
            )
        earlier = BookingRecord.of(row)
        if (earlier.place_id, earlier.item_id, earlier.slot) != (
            item.place.id,
            item.guide.id,
            hall_time(slot),
        ):
            raise RuleViolation(
                "idempotency_key",
                "这个幂等键已用于另一个事项或时段的预约。"
                "This Idempotency-Key was used for a booking of another item or time slot.",
            )
        return earlier

    def _active_booking(self, phone_hash: str, item_id: str, day: dt.date) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(bookings_table.c.code).where(
                        bookings_table.c.phone_hash == phone_hash,
                        bookings_table.c.item_id == item_id,
                        bookings_table.c.day == day,
                        bookings_table.c.status != "cancelled",
                    )
                ).first()
                is not None
            )

    # -- the booking's owner: look up, cancel, reschedule (code + the phone's last four digits) ----
    def lookup(self, code: str, last4: str) -> BookingRecord:
        """The booking, for its owner: the code and the phone's last four digits. At most
        ``WRONG_TRIES_PER_HOUR`` wrong tries per code, then ``TooManyTries`` (429) for the hour."""
        not_found = NotFound(
            "booking",
            "没有找到这个预约，请核对预约码和手机号后四位。No booking with this code and phone number.",
        )
        cleaned = clean_code(code)
        if cleaned is None:
            raise not_found
        try_id, tries = self._count_try(cleaned)
        with self.engine.connect() as conn:
            row = conn.execute(select(bookings_table).where(bookings_table.c.code == cleaned)).first()
        # one answer for "no such code" and "wrong digits": a guess learns nothing
        if row is None or not hmac.compare_digest(row.phone_last4.encode(), (last4 or "").strip().encode()):
            log.warning(  # never the digits tried
                "wrong last four digits for booking %s (%d of %d this hour)",
                cleaned,
                tries,
                WRONG_TRIES_PER_HOUR,
            )
            raise not_found
        self._forget_try(try_id)  # the owner's own look-ups do not spend the budget
        return BookingRecord.of(row)

    def _count_try(self, code: str) -> tuple[int, int]:
        """Record a try at ``code`` before its digits are compared, then count the code's tries of
        the last hour (committed first, so concurrent guesses see each other and at most the budget
        get through). (this try's id, tries counted) — or ``TooManyTries``, this try not kept."""
        now = hall_time(self.clock())
        since = now - TRY_WINDOW

        def record() -> int:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(booking_tries).where(booking_tries.c.code == code, booking_tries.c.tried <= since)
                )
                return conn.execute(
                    insert(booking_tries).values(code=code, tried=now).returning(booking_tries.c.id)
                ).scalar_one()

        try_id = retrying(record)
        with self.engine.connect() as conn:
            tries, oldest = conn.execute(
                select(func.count(), func.min(booking_tries.c.tried)).where(
                    booking_tries.c.code == code, booking_tries.c.tried > since
                )
            ).one()
        if tries > WRONG_TRIES_PER_HOUR:
            self._forget_try(try_id)  # a refused try does not push the hour further
            log.warning("booking %s: too many wrong tries this hour, refused", code)
            raise TooManyTries(max(1, int((oldest + TRY_WINDOW - now).total_seconds()) + 1))
        return try_id, tries

    def _forget_try(self, try_id: int) -> None:
        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(delete(booking_tries).where(booking_tries.c.id == try_id))

        retrying(work)

    def _not_active(self, record: BookingRecord, doing: str) -> RuleViolation:
        return RuleViolation(
            "not_active",
            f"该预约{STATUS_ZH.get(record.status, record.status)}，不能{doing}。This booking is {record.status}.",
        )

    def cancel(self, code: str, last4: str) -> BookingRecord:
        """Cancel a booking; its place in the slot is free again at once (same transaction)."""
        record = self.lookup(code, last4)
        if record.status != "booked":
            raise self._not_active(record, "取消")
        now = hall_time(self.clock())
        if record.slot <= now:
            raise RuleViolation("past", "预约时段已过，不能取消。The slot has passed.")

        def work() -> BookingRecord | None:
            with self.engine.begin() as conn:
                row = conn.execute(
                    update(bookings_table)
                    .where(bookings_table.c.code == record.code, bookings_table.c.status == "booked")
                    .values(status="cancelled", cancelled=now)
                    .returning(*bookings_table.c)
                ).first()
                if row is None:
                    return None  # cancelled or checked in meanwhile
                self._release(conn, row.place_id, row.group_letter, row.slot)
                return BookingRecord.of(row)

        cancelled = retrying(work)
        if cancelled is None:
            raise self._not_active(self.lookup(code, last4), "取消")
        log.info("cancelled %s (%s)", cancelled.code, cancelled.phone_masked)
        return cancelled

    def reschedule(
        self, code: str, last4: str, slot: dt.datetime, item_id: str | None = None
    ) -> BookingRecord:
        """Cancel the booking and book ``slot`` (and optionally another item) in one transaction:
        either both happen or neither; the new booking gets a new code."""
        old = self.lookup(code, last4)
        if old.status != "booked":
            raise self._not_active(old, "改约")
        item = self.resolve(old.place_id, item_id or old.item_id)
        slot = self._check_slot(item, slot)
        now = hall_time(self.clock())
        new_key = (item.place.id, item.group.letter, slot)

        def work(new_code: str) -> BookingRecord | None:
            with self.engine.begin() as conn:
                row = conn.execute(
                    update(bookings_table)
                    .where(bookings_table.c.code == old.code, bookings_table.c.status == "booked")
                    .values(status="cancelled", cancelled=now, replaced_by=new_code)
                    .returning(*bookings_table.c)
                ).first()
                if row is None:
                    return None
                old_key = (row.place_id, row.group_letter, row.slot)
                # slot rows are locked in key order (release first on the same row): two reschedules
                # crossing each other's slots cannot deadlock
                if new_key < old_key:
                    if not self._take(conn, *new_key, item.group.capacity):
                        raise _Full
                    self._release(conn, *old_key)
                else:
                    self._release(conn, *old_key)
                    if not self._take(conn, *new_key, item.group.capacity):
                        raise _Full
                m = row._mapping
                created = conn.execute(
                    insert(bookings_table)
                    .values(
                        code=new_code,
                        place_id=item.place.id,
                        group_letter=item.group.letter,
                        item_id=item.guide.id,
                        slot=slot,
                        day=slot.date(),
                        status="booked",
                        created=now,
                        **{
                            k: m[k]
                            for k in (
                                "name_masked",
                                "phone_hash",
                                "phone_last4",
                                "phone_masked",
                                "id_hash",
                                "id_last4",
                            )
                        },
                    )
                    .returning(*bookings_table.c)
                ).one()
                return BookingRecord.of(created)

        try:
            new = retrying(lambda: work(new_booking_code()))
        except _Full:
            raise SlotFull(
                "slot_full",
                "该时段已约满，原预约保留不变。This slot is fully booked; your booking is unchanged.",
            ) from None
        except IntegrityError:
            raise RuleViolation(
                "already_booked",
                "该手机号当天已预约过此事项。This phone already has this item booked that day.",
            ) from None
        if new is None:
            raise self._not_active(self.lookup(code, last4), "改约")
        log.info("rescheduled %s → %s (%s)", old.code, new.code, new.phone_masked)
        return new

    # -- staff -------------------------------------------------------------------------------------
    def bookings_at(self, place_id: str, day: dt.date) -> list[BookingRecord]:
        """A day's bookings at a place (masked: the records hold no name or phone in clear)."""
        _, hall = self.place(place_id)
        start = dt.datetime.combine(day, dt.time())
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(bookings_table)
                .where(
                    bookings_table.c.place_id == hall.id,
                    bookings_table.c.slot >= start,
                    bookings_table.c.slot < start + dt.timedelta(days=1),
                )
                .order_by(bookings_table.c.slot, bookings_table.c.created)
            )
            return [BookingRecord.of(r) for r in rows]

    def slot_end(self, record: BookingRecord) -> dt.datetime:
        place = self.catalog.directory.get(record.place_id)
        minutes = place.booking.slot_minutes if place and place.booking else 30
        return record.slot + dt.timedelta(minutes=minutes)


__all__ = [
    "Bookable",
    "BookingError",
    "BookingRecord",
    "BookingService",
    "Busy",
    "NotFound",
    "RuleViolation",
    "SlotFull",
    "SlotView",
    "StaticCatalog",
    "TooManyTries",
    "booking_place",
]

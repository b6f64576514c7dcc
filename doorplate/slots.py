"""Appointment slots from a place's booking configuration: pure functions of (config, day, now).

Every time here is the hall's wall clock (Asia/Shanghai) as a naive datetime: a slot "09:00" means
09:00 in the hall, whatever the server's time zone is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import yaml

from halls.booking_config import BookingConfig, ItemGroup, OpeningRange
from halls.clock import hall_time


@dataclass(frozen=True)
class HolidayCalendar:
    """Statutory holidays (closed) and 调休 working weekend days (open with weekday hours)."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    @classmethod
    def read(cls, path: Path) -> HolidayCalendar:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls(frozenset(data.get("holidays") or ()), frozenset(data.get("workdays") or ()))


@lru_cache(maxsize=1)
def china_calendar() -> HolidayCalendar:
    """The bundled calendar (``doorplate/data/holidays-cn.yaml``)."""
    return HolidayCalendar.read(Path(str(files("doorplate") / "data" / "holidays-cn.yaml")))


class SlotRuleError(ValueError):
    """A slot that cannot be booked, with the reason as a short code and a bilingual message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def service_weekday(config: BookingConfig, day: dt.date, calendar: HolidayCalendar) -> int | None:
    """The weekday whose hours and groups apply to ``day`` (Monday for a 调休 working weekend day),
    or None when the place is closed that day."""
    if day in config.closed:
        return None
    if config.holidays:
        if day in calendar.holidays:
            return None
        if day in calendar.workdays and day.weekday() >= 5:
            return 0 if config.workday_hours else None
    return day.weekday() if config.opening(day.weekday()) else None


def opening_hours(config: BookingConfig, day: dt.date, calendar: HolidayCalendar) -> list[OpeningRange]:
    """When the place is open on ``day``; [] when it is closed."""
    weekday = service_weekday(config, day, calendar)
    if weekday is None:
        return []
    if weekday != day.weekday():
        return config.workday_hours
    return config.opening(weekday)


def day_slots(
    config: BookingConfig, group: ItemGroup, day: dt.date, calendar: HolidayCalendar
) -> list[dt.datetime]:
    """Every slot start of the day for the group, past or not: each opening range is cut into
    ``slot_minutes`` pieces; a piece that would run past closing (or into lunch) is not offered."""
    weekday = service_weekday(config, day, calendar)
    if weekday is None or not group.open_on(weekday):
        return []
    step = dt.timedelta(minutes=config.slot_minutes)
    starts = []
    for opens, closes in opening_hours(config, day, calendar):
        start, end = dt.datetime.combine(day, opens), dt.datetime.combine(day, closes)
        while start + step <= end:
            starts.append(start)
            start += step
    return starts


def last_bookable_day(config: BookingConfig, now: dt.datetime) -> dt.date:
    return hall_time(now).date() + dt.timedelta(days=config.days_ahead)


def bookable_slots(
    config: BookingConfig, group: ItemGroup, day: dt.date, now: dt.datetime, calendar: HolidayCalendar
) -> list[dt.datetime]:
    """The slots of ``day`` that can still be booked at ``now``."""
    local_now = hall_time(now)
    if day < local_now.date() or day > last_bookable_day(config, now):
        return []
    return [s for s in day_slots(config, group, day, calendar) if s > local_now]


def bookable_days(
    config: BookingConfig, group: ItemGroup | None, now: dt.datetime, calendar: HolidayCalendar
) -> list[dt.date]:
    """Days from today to the end of the booking window with at least one bookable slot."""
    today = hall_time(now).date()
    days = [today + dt.timedelta(days=n) for n in range(config.days_ahead + 1)]
    groups = [group] if group else config.groups
    return [d for d in days if any(bookable_slots(config, g, d, now, calendar) for g in groups)]


def check_slot(
    config: BookingConfig, group: ItemGroup, slot: dt.datetime, now: dt.datetime, calendar: HolidayCalendar
) -> dt.datetime:
    """The slot as a naive hall time if it can be booked at ``now``; SlotRuleError says why not."""
    slot = hall_time(slot)
    local_now = hall_time(now)
    if slot <= local_now:
        raise SlotRuleError("past", "该时段已过，请选择之后的时段。This slot is in the past.")
    if slot.date() > last_bookable_day(config, now):
        raise SlotRuleError(
            "too_far",
            f"最多可预约{config.days_ahead}天内的时段。Slots can be booked at most {config.days_ahead} days ahead.",
        )
    slots = day_slots(config, group, slot.date(), calendar)
    if not slots:
        raise SlotRuleError(
            "closed", "该日不办理此类业务（休息日或节假日）。The hall does not take this on that day."
        )
    if slot not in slots:
        raise SlotRuleError("not_a_slot", "没有这个预约时段。There is no such slot.")
    return slot


def slot_end(config: BookingConfig, slot: dt.datetime) -> dt.datetime:
    return slot + dt.timedelta(minutes=config.slot_minutes)

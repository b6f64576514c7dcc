"""A place's appointment configuration (预约配置): opening hours per weekday, holidays, slots, item groups.

In a places file, under a place::

    booking:
      hours:                        # opening ranges per weekday; one range = 午间不休, two = a lunch break
        mon-fri: ["09:00-17:00"]
        sat: ["09:00-12:00"]
      # or the hall's own words:  hours: 周一至周五 8:30-12:00，14:00-17:30，周六 9:00-11:30
      holidays: true                # closed on the statutory holidays, open on 调休 working weekend days
      closed: [2026-12-31]          # this place's own extra closing days
      slot_minutes: 30
      days_ahead: 7                 # today plus this many days can be booked
      groups:                       # each group has its own ticket letter, queue and capacity per slot
        - letter: A
          label: 企业开办与经营许可
          categories: [企业开办, 经营许可]   # the guides' categories it covers …
          items: [990100-SCJG-0001]        # … and/or item ids (an id beats a category)
          capacity: 4               # bookings per slot
          days: [mon-fri]           # optional: weekdays it can be booked (周六仅部分窗口)
          windows: [A01, A02]       # optional: the windows that call it (default: any)
        - letter: Z
          label: 综合事项             # no items and no categories: every other item of the place

``booking: true`` means: hours read from the place's ``hours`` text, one catch-all group ``A`` with
2 places per 30-minute slot, 7 days ahead. Zones and windows of a hall take their hall's bookings.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CN_DAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
DEFAULT_HOURS = "周一至周五 9:00-17:00"

_RANGE = re.compile(r"(\d{1,2})[:：](\d{2})\s*[-–—~至到]\s*(\d{1,2})[:：](\d{2})")
_CN_DAYS = re.compile(
    r"(?:周|星期)([一二三四五六日天])(?:\s*(?:至|到|-|–|—|~)\s*(?:周|星期)?([一二三四五六日天]))?|每日|每天|工作日"
)

OpeningRange = tuple[dt.time, dt.time]


def weekdays_of(spec: str) -> list[int]:
    """``mon-fri`` → [0..4]; ``sat`` → [5]; ``mon,wed`` → [0, 2]; ``daily`` → all."""
    spec = spec.strip().lower()
    if spec in ("daily", "all", "every day"):
        return list(range(7))
    days: list[int] = []
    for part in re.split(r"[,\s]+", spec):
        if not part:
            continue
        ends = part.split("-")
        if len(ends) > 2 or any(e not in WEEKDAYS for e in ends):
            raise ValueError(f"unknown weekday {part!r}: use mon..sun, ranges like mon-fri, or daily")
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        if last < first:
            raise ValueError(f"weekday range {part!r} runs backwards")
        days += range(first, last + 1)
    return sorted(set(days))


def parse_range(text: str) -> OpeningRange:
    """``"9:00-17:00"`` → (09:00, 17:00)."""
    match = _RANGE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"opening range {text!r}: expected HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"opening range {text!r}: {exc}") from exc
    if end <= start:
        raise ValueError(f"opening range {text!r} ends before it starts")
    return start, end


def parse_chinese_hours(text: str) -> dict[int, list[OpeningRange]]:
    """Opening ranges per weekday from a hall's hours text, e.g.
    ``周一至周五 8:30-12:00，14:00-17:30，周六 9:00-11:30，法定节假日休息``.

    Only the first clause (up to "；") is read: what follows is usually another desk's hours
    (``；自助签注区 每日 8:00-20:00``). Notes such as （午间不休） are ignored: one range is no lunch break.
    """
    clause = re.split(r"[；;]", text, maxsplit=1)[0]
    week: dict[int, list[OpeningRange]] = {}
    pending: set[int] = set()
    after_times = False
    tokens = sorted(
        [(m.start(), "days", m) for m in _CN_DAYS.finditer(clause)]
        + [(m.start(), "range", m) for m in _RANGE.finditer(clause)],
        key=lambda t: t[0],
    )
    for _, kind, match in tokens:
        if kind == "days":
            word = match.group(0)
            if word in ("每日", "每天"):
                days = set(range(7))
            elif word == "工作日":
                days = set(range(5))
            else:
                first = _CN_DAY[match.group(1)]
                last = _CN_DAY[match.group(2)] if match.group(2) else first
                days = set(range(first, last + 1))
            pending = days if after_times else pending | days
            after_times = False
        elif pending:
            span = parse_range(match.group(0))
            for day in pending:
                week.setdefault(day, []).append(span)
            after_times = True
    return {day: sorted(spans) for day, spans in week.items()}


class ItemGroup(BaseModel):
    """Items booked and queued together: one ticket letter, one capacity per slot."""

    model_config = ConfigDict(extra="forbid")

    letter: str = Field(pattern=r"^[A-Z]$", description="Ticket prefix: A001, B014 …")
    label: str = Field(min_length=1, max_length=40)
    items: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    capacity: int = Field(2, ge=1, le=100_000, description="Bookings per slot.")
    days: list[str] | None = Field(None, description="Weekdays it can be booked; default every open day.")
    windows: list[str] = Field(default_factory=list, description="Windows that call it; empty = any.")

    _weekdays: set[int] | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _read_days(self) -> ItemGroup:
        if self.days is not None:
            self._weekdays = {d for spec in self.days for d in weekdays_of(spec)}
        return self

    @property
    def catch_all(self) -> bool:
        return not self.items and not self.categories

    def open_on(self, weekday: int) -> bool:
        return self._weekdays is None or weekday in self._weekdays


class BookingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: dict[str, list[str]] | str = Field(default=DEFAULT_HOURS)
    holidays: bool = Field(True, description="Follow the statutory holiday calendar (and its 调休 days).")
    closed: list[dt.date] = Field(default_factory=list, description="This place's extra closing days.")
    slot_minutes: int = Field(30, ge=5, le=240)
    days_ahead: int = Field(7, ge=0, le=90)
    groups: list[ItemGroup] = Field(
        default_factory=lambda: [ItemGroup(letter="A", label="综合业务")], min_length=1
    )

    _week: dict[int, list[OpeningRange]] = PrivateAttr(default_factory=dict)

    @field_validator("groups")
    @classmethod
    def _distinct_letters(cls, groups: list[ItemGroup]) -> list[ItemGroup]:
        letters = [g.letter for g in groups]
        if len(set(letters)) != len(letters):
            raise ValueError(f"ticket letters must differ between groups: {letters}")
        return groups

    @model_validator(mode="after")
    def _read_hours(self) -> BookingConfig:
        if isinstance(self.hours, str):
            week = parse_chinese_hours(self.hours)
            if not week:
                raise ValueError(f"no opening hours found in {self.hours!r}")
        else:
            week = {}
            for spec, ranges in self.hours.items():
                for day in weekdays_of(spec):
                    week.setdefault(day, []).extend(parse_range(r) for r in ranges)
        for day, spans in week.items():
            spans.sort()
            for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
                if start < end:
                    raise ValueError(f"opening ranges overlap on {WEEKDAYS[day]}")
        self._week = week
        return self

    def opening(self, weekday: int) -> list[OpeningRange]:
        """The opening ranges of a weekday (0 = Monday); [] when closed."""
        return list(self._week.get(weekday, []))

    @property
    def workday_hours(self) -> list[OpeningRange]:
        """The hours of a 调休 working weekend day: those of the first weekday the place opens."""
        return next((self._week[d] for d in range(5) if self._week.get(d)), [])

    def group(self, letter: str) -> ItemGroup | None:
        return next((g for g in self.groups if g.letter == letter), None)

    def group_for(self, item_id: str, category: str | None) -> ItemGroup | None:
        """The group that books an item: by id first, then by category, then the catch-all group."""
        for rule in (
            lambda g: item_id in g.items,
            lambda g: category is not None and category in g.categories,
            lambda g: g.catch_all,
        ):
            found = next((g for g in self.groups if rule(g)), None)
            if found:
                return found
        return None


def booking_from_place_record(value: Any, hours_text: str | None) -> Any:
    """``booking: true`` → the defaults, with the place's own hours; ``false``/missing → None."""
    if value is True:
        hours = hours_text if hours_text and parse_chinese_hours(hours_text) else DEFAULT_HOURS
        return {"hours": hours}
    if value is False:
        return None
    return value

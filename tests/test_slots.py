"""Slot generation from a place's booking configuration: pure, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from doorplate.slots import (
    HolidayCalendar,
    SlotRuleError,
    bookable_days,
    bookable_slots,
    check_slot,
    china_calendar,
    day_slots,
    opening_hours,
)
from halls.booking_config import BookingConfig, parse_chinese_hours
from halls.places import Place, load_places
from knowledge import demo_dir

T = dt.time
MON, SAT, SUN = dt.date(2026, 11, 23), dt.date(2026, 11, 28), dt.date(2026, 11, 29)
CAL = china_calendar()


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, T(hh, mm))


def demo(place_id: str) -> BookingConfig:
    place = next(p for p in load_places(demo_dir() / "places.yaml") if p.id == place_id)
    assert place.booking is not None
    return place.booking


def test_hall_hours_text_is_read_as_weekday_ranges():
    week = parse_chinese_hours(
        "周一至周五 9:00-17:00（午间不休），周六 9:00-12:00（仅部分窗口），法定节假日休息"
    )
    assert week == {d: [(T(9), T(17))] for d in range(5)} | {5: [(T(9), T(12))]}
    lunch = parse_chinese_hours("周一至周五 8:30-12:00，14:00-17:30，周六 9:00-11:30")
    assert lunch[0] == [(T(8, 30), T(12)), (T(14), T(17, 30))] and lunch[5] == [(T(9), T(11, 30))]
    # another desk's hours after "；" are not the hall's
    assert 6 not in parse_chinese_hours("周一至周五 9:00-17:00；自助签注区 每日 8:00-20:00")


def test_no_lunch_break_hall_gives_sixteen_half_hours():
    center = demo("yc-center")
    slots = day_slots(center, center.group("C"), MON, CAL)
    assert len(slots) == 16 and slots[0] == at(MON, 9) and slots[-1] == at(MON, 16, 30)
    assert at(MON, 12) in slots and at(MON, 12, 30) in slots  # 午间不休


def test_township_lunch_break_has_no_slots():
    taoxi = demo("yc-taoxi")
    slots = day_slots(taoxi, taoxi.group("A"), MON, CAL)
    assert at(MON, 11, 30) in slots and at(MON, 14) in slots
    assert not [s for s in slots if T(12) <= s.time() < T(14)]
    assert len(slots) == 7 + 7


def test_a_slot_that_would_run_past_closing_is_not_offered():
    shuikou = demo("yc-shuikou")  # 20-minute slots, 8:30-12:00 and 14:00-17:30
    morning = [s for s in day_slots(shuikou, shuikou.groups[0], MON, CAL) if s.hour < 12]
    assert morning[-1] == at(MON, 11, 30) and len(morning) == 10  # 11:50-12:10 would run into lunch


def test_saturday_mornings_only_for_the_groups_open_then_and_sunday_closed():
    center = demo("yc-center")
    assert [s.time() for s in day_slots(center, center.group("B"), SAT, CAL)] == [
        T(9),
        T(9, 30),
        T(10),
        T(10, 30),
        T(11),
        T(11, 30),
    ]
    assert day_slots(center, center.group("A"), SAT, CAL) == []  # 周六仅部分窗口
    assert all(day_slots(center, g, SUN, CAL) == [] for g in center.groups)
    assert day_slots(demo("yc-taoxi"), demo("yc-taoxi").group("A"), SAT, CAL) == []


def test_statutory_holidays_close_and_makeup_workdays_open_with_weekday_hours():
    center = demo("yc-center")
    national_day, makeup_saturday = dt.date(2026, 10, 1), dt.date(2026, 10, 10)
    assert opening_hours(center, national_day, CAL) == []
    assert day_slots(center, center.group("A"), national_day, CAL) == []
    # 10月10日 is a Saturday worked for the National Day holiday: full weekday hours, all groups
    assert opening_hours(center, makeup_saturday, CAL) == [(T(9), T(17))]
    assert len(day_slots(center, center.group("A"), makeup_saturday, CAL)) == 16
    # a place may ignore the calendar
    own = BookingConfig(hours={"mon-sun": ["09:00-12:00"]}, holidays=False)
    assert day_slots(own, own.groups[0], national_day, CAL) != []


def test_a_place_closes_on_its_own_extra_days():
    linjiang = demo("yc-linjiang")
    assert dt.date(2026, 12, 31) in linjiang.closed
    assert day_slots(linjiang, linjiang.group("A"), dt.date(2026, 12, 31), CAL) == []
    assert day_slots(linjiang, linjiang.group("A"), dt.date(2026, 12, 30), CAL) != []


def test_the_booking_window_runs_from_now_to_days_ahead():
    taoxi = demo("yc-taoxi")  # 5 days ahead
    now = at(MON, 10, 10)
    today = bookable_slots(taoxi, taoxi.group("A"), MON, now, CAL)
    assert today[0] == at(MON, 10, 30)  # 10:00 started already
    days = bookable_days(taoxi, taoxi.group("A"), now, CAL)
    assert days == [
        MON,
        MON + dt.timedelta(1),
        MON + dt.timedelta(2),
        MON + dt.timedelta(3),
        MON + dt.timedelta(4),
    ]
    assert bookable_slots(taoxi, taoxi.group("A"), MON + dt.timedelta(days=7), now, CAL) == []  # beyond


@pytest.mark.parametrize(
    ("slot", "reason"),
    [
        (at(MON, 9), "past"),
        (at(MON, 10), "past"),  # has begun
        (at(MON + dt.timedelta(days=6), 9), "too_far"),
        (at(SAT, 9), "closed"),
        (at(MON + dt.timedelta(days=1), 12, 30), "not_a_slot"),  # lunch
        (at(MON + dt.timedelta(days=1), 9, 10), "not_a_slot"),  # off the grid
    ],
)
def test_check_slot_says_why_a_slot_cannot_be_booked(slot, reason):
    taoxi = demo("yc-taoxi")
    with pytest.raises(SlotRuleError) as refused:
        check_slot(taoxi, taoxi.group("A"), slot, at(MON, 10, 10), CAL)
    assert refused.value.reason == reason
    assert check_slot(taoxi, taoxi.group("A"), at(MON, 14), at(MON, 10, 10), CAL) == at(MON, 14)


def test_now_is_read_on_the_halls_clock():
    taoxi = demo("yc-taoxi")
    utc = dt.datetime(2026, 11, 23, 1, 40, tzinfo=dt.UTC)  # 09:40 in the hall
    assert bookable_slots(taoxi, taoxi.group("A"), MON, utc, CAL)[0] == at(MON, 10)
    with pytest.raises(SlotRuleError):
        check_slot(taoxi, taoxi.group("A"), at(MON, 9, 30), utc, CAL)


def test_booking_true_means_defaults_with_the_places_own_hours():
    place = Place(id="x", name="X", kind="township", hours="周一至周五 8:30-12:00，14:00-17:30", booking=True)
    assert place.booking is not None and [g.letter for g in place.booking.groups] == ["A"]
    assert place.booking.opening(0) == [(T(8, 30), T(12)), (T(14), T(17, 30))]
    assert place.booking.slot_minutes == 30 and place.booking.days_ahead == 7
    assert Place(id="y", name="Y", kind="village", booking=False).booking is None
    # a saved places file keeps the structured form
    again = Place.model_validate(place.model_dump(mode="json"))
    assert again.booking is not None and again.booking.opening(0) == place.booking.opening(0)


def test_item_groups_match_by_id_then_category_then_catch_all():
    center, qingshi = demo("yc-center"), demo("yc-qingshi")
    assert center.group_for("990100-JS-0002", "工程建设").letter == "D"  # an id beats its category
    assert center.group_for("990100-JS-0001", "工程建设").letter == "A"
    assert center.group_for("x", "教育") is None  # no catch-all group at the city hall
    assert qingshi.group_for("990100-JY-0001", "教育").letter == "E"


def test_bad_configurations_are_refused():
    with pytest.raises(ValidationError, match="overlap"):
        BookingConfig(hours={"mon": ["09:00-12:00", "11:00-17:00"]})
    with pytest.raises(ValidationError, match="letters"):
        BookingConfig(groups=[{"letter": "A", "label": "x"}, {"letter": "A", "label": "y"}])
    with pytest.raises(ValidationError, match="weekday"):
        BookingConfig(hours={"monday-friday": ["09:00-17:00"]})
    with pytest.raises(ValidationError, match="ends before"):
        BookingConfig(hours={"mon": ["17:00-09:00"]})


def test_the_bundled_calendar_has_the_2026_schedule():
    assert {dt.date(2026, 2, 15), dt.date(2026, 2, 23), dt.date(2026, 5, 5)} <= CAL.holidays
    assert {dt.date(2026, 2, 14), dt.date(2026, 2, 28), dt.date(2026, 9, 20)} <= CAL.workdays
    assert not CAL.holidays & CAL.workdays
    assert HolidayCalendar() == HolidayCalendar(frozenset(), frozenset())

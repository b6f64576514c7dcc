"""The hall's wall clock. Halls run on China Standard Time whatever the server's zone is: a slot
"09:00", a queue day and a day of ask counts are the hall's, as a naive datetime or date."""

from __future__ import annotations

import datetime as dt


def _hall_zone() -> dt.tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Shanghai")
    except Exception:  # no tz database on the machine: China has kept UTC+8 without DST since 1991
        return dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


HALL_TZ = _hall_zone()


def hall_now() -> dt.datetime:
    return dt.datetime.now(HALL_TZ)


def hall_time(moment: dt.datetime) -> dt.datetime:
    """``moment`` on the hall's wall clock, naive. A naive ``moment`` is taken as hall time already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(HALL_TZ).replace(tzinfo=None)


def hall_today(now: dt.datetime | None = None) -> dt.date:
    """The hall's today at the aware moment ``now`` (default: now): 00:30 in Beijing is already
    the next day there while UTC still says the day before."""
    return hall_time(now or hall_now()).date()

"""Sleep schedules as a pure function of (now, schedule). Windows may wrap midnight (22:00-06:00)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class SleepWindow:
    is_active: bool
    days: frozenset[str]  # empty = every day
    start: dt.time
    end: dt.time


def parse_time(text: str) -> dt.time:
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise ScheduleError(f"time {text!r} is not HH:MM (24-hour clock, for example 22:00)") from None


def clean_days(text: str) -> str:
    """Lower-case two-letter day names, space-separated; raises ScheduleError on unknown names."""
    days = [d.strip().lower()[:2] for d in (text or "").replace(",", " ").split() if d.strip()]
    unknown = [d for d in days if d not in DAYS]
    if unknown:
        raise ScheduleError(f"unknown day(s) {', '.join(unknown)}; use mo tu we th fr sa su")
    return " ".join(d for d in DAYS if d in days)


def parse_window(is_active: bool, days_of_week: str, start_time: str, end_time: str) -> SleepWindow:
    return SleepWindow(is_active, frozenset(clean_days(days_of_week).split()),
                       parse_time(start_time), parse_time(end_time))


def _day_listed(window: SleepWindow, day: dt.date) -> bool:
    return not window.days or DAYS[day.weekday()] in window.days


def should_sleep(now: dt.datetime, window: SleepWindow) -> bool:
    """True when a worker following `window` should be asleep at local time `now`.

    A window that wraps midnight belongs to the day it starts on: "fr 22:00-06:00" sleeps from
    Friday 22:00 to Saturday 06:00.
    """
    if not window.is_active or window.start == window.end:
        return False
    t = now.time()
    if window.start < window.end:
        return _day_listed(window, now.date()) and window.start <= t < window.end
    if t >= window.start:
        return _day_listed(window, now.date())
    if t < window.end:
        return _day_listed(window, now.date() - dt.timedelta(days=1))
    return False


def next_check(now: dt.datetime, window: SleepWindow) -> dt.datetime:
    """The next moment the answer of `should_sleep` may change (a boundary or midnight)."""
    candidates = []
    for day_offset in (0, 1):
        day = now.date() + dt.timedelta(days=day_offset)
        for t in (window.start, window.end, dt.time(0, 0)):
            moment = dt.datetime.combine(day, t, tzinfo=now.tzinfo)
            if moment > now:
                candidates.append(moment)
    return min(candidates)

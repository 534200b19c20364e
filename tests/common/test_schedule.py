"""Sleep-schedule evaluation is a pure function of (now, schedule)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.common.schedule import ScheduleError, clean_days, next_check, parse_window, should_sleep


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    # 2026-11-16 is a Monday.
    return dt.datetime(2026, 11, 16 + day, hour, minute)


def test_daytime_window():
    w = parse_window(True, "", "09:00", "17:00")
    assert should_sleep(at(0, 9), w) and should_sleep(at(0, 16, 59), w)
    assert not should_sleep(at(0, 8, 59), w) and not should_sleep(at(0, 17), w)


def test_window_wrapping_midnight_belongs_to_its_start_day():
    w = parse_window(True, "fr", "22:00", "06:00")
    assert should_sleep(at(4, 23), w)  # Friday night
    assert should_sleep(at(5, 5, 59), w)  # Saturday early morning, still Friday's window
    assert not should_sleep(at(5, 6), w)
    assert not should_sleep(at(4, 5), w)  # Friday early morning belongs to Thursday, not listed
    assert not should_sleep(at(5, 23), w)  # Saturday night: not listed


def test_inactive_schedule_never_sleeps():
    assert not should_sleep(at(0, 12), parse_window(False, "", "00:00", "23:59"))


def test_days_cleaned_and_validated():
    assert clean_days("Monday, tu  SU") == "mo tu su"
    with pytest.raises(ScheduleError, match="xx"):
        clean_days("mo xx")
    with pytest.raises(ScheduleError, match="HH:MM"):
        parse_window(True, "", "25", "06:00")


def test_next_check_is_next_boundary():
    w = parse_window(True, "", "22:00", "06:00")
    assert next_check(at(0, 12), w) == at(0, 22)
    assert next_check(at(0, 23), w) == at(1, 0)

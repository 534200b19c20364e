"""The tray state as a pure function of the Manager's view of this worker (no Qt, no network)."""

from __future__ import annotations

import datetime as dt

from app.ui import tray_state as ts

NOW = dt.datetime(2026, 11, 27, 14, 30)  # a Friday
NIGHT = {"is_active": True, "days_of_week": "", "start_time": "22:00", "end_time": "06:00"}
AFTERNOON = {"is_active": True, "days_of_week": "fr", "start_time": "12:00", "end_time": "18:00"}


def test_lost_manager_wins_over_everything():
    state = ts.derive(connected=False, status="awake", now=NOW, message="lost the Manager at http://x")
    assert state.kind == ts.UNREACHABLE and "lost" in state.text


def test_asleep_by_schedule_says_until_when():
    state = ts.derive(connected=True, status="asleep", schedule=AFTERNOON, now=NOW)
    assert state == ts.TrayState(ts.ASLEEP, "asleep until 18:00")


def test_a_window_past_midnight_wakes_tomorrow():
    late = dt.datetime(2026, 11, 27, 23, 0)
    assert ts.asleep_until(late, NIGHT) == dt.datetime(2026, 11, 28, 6, 0)
    assert ts.derive(connected=True, status="asleep", schedule=NIGHT, now=late).text == "asleep until tomorrow 06:00"


def test_asleep_outside_the_schedule_was_paused_by_someone():
    assert ts.derive(connected=True, status="asleep", schedule=NIGHT, now=NOW).kind == ts.PAUSED
    snoozed = ts.derive(connected=True, status="asleep", now=NOW, snoozed_until=NOW + dt.timedelta(hours=1))
    assert snoozed.kind == ts.PAUSED and snoozed.text == "snoozed until 15:30"


def test_rendering_shows_progress_and_a_pending_lazy_stop():
    task = {"name": "Shot 12", "status": "active", "steps_completed": 2, "steps_total": 8}
    state = ts.derive(connected=True, status="awake", task=task, now=NOW,
                      lazy_request={"status": "asleep", "is_lazy": True})
    assert state.kind == ts.RENDERING and state.progress == 0.25
    assert state.text == "rendering Shot 12 (25%); stops after this task"


def test_awake_without_a_task_is_idle_and_error_is_error():
    assert ts.derive(connected=True, status="awake", now=NOW).kind == ts.IDLE
    assert ts.derive(connected=True, status="error", now=NOW).kind == ts.ERROR


def test_the_load_hold_says_why_the_worker_sleeps():
    why = "your programs use 80% CPU (limit 50%)"
    assert ts.derive(connected=True, status="asleep", now=NOW, held=why) == ts.TrayState(ts.PAUSED, f"held asleep: {why}")
    assert ts.derive(connected=True, status="awake", now=NOW, held=why).text == f"going to sleep: {why}"
    task = {"status": "active", "name": "Shot 12", "steps_completed": 1, "steps_total": 4}
    assert ts.derive(connected=True, status="awake", task=task, now=NOW, held=why).text.endswith(
        f"stops after this task: {why}")

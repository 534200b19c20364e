"""The tray state as a pure function of the Manager's view of this worker (no Qt, no network)."""

from __future__ import annotations

import datetime as dt

from app.api.workers import WorkerSleepSchedule
from app.ui import tray_state as ts

NOW = dt.datetime(2026, 11, 27, 14, 30)  # a Friday
NIGHT = WorkerSleepSchedule(is_active=True, days_of_week="", start_time="22:00", end_time="06:00")
AFTERNOON = WorkerSleepSchedule(is_active=True, days_of_week="fr", start_time="12:00", end_time="18:00")


def test_lost_manager_wins_over_everything():
    state = ts.derive(connected=False, status="awake", now=NOW, message="lost the Manager at http://x")
    assert state.kind == ts.UNREACHABLE and state.text == "offline: lost the Manager at http://x"
    assert state.word == "offline" and state.detail == "lost the Manager at http://x"


def test_asleep_by_schedule_says_until_when():
    state = ts.derive(connected=True, status="asleep", schedule=AFTERNOON, now=NOW)
    assert state == ts.TrayState(ts.ASLEEP, "asleep until 18:00 (sleep schedule)")


def test_a_window_past_midnight_wakes_tomorrow():
    late = dt.datetime(2026, 11, 27, 23, 0)
    assert ts.asleep_until(late, NIGHT) == dt.datetime(2026, 11, 28, 6, 0)
    assert ts.derive(connected=True, status="asleep", schedule=NIGHT, now=late).text == \
        "asleep until tomorrow 06:00 (sleep schedule)"


def test_asleep_outside_the_schedule_was_put_to_sleep_by_someone_and_says_so_with_the_same_word():
    by_hand = ts.derive(connected=True, status="asleep", schedule=NIGHT, now=NOW)
    assert by_hand.kind == ts.PAUSED and by_hand.text == "asleep until you choose Render now"
    snoozed = ts.derive(connected=True, status="asleep", now=NOW, snoozed_until=NOW + dt.timedelta(hours=1))
    assert snoozed.kind == ts.PAUSED and snoozed.text == "asleep until 15:30 (as you asked)"
    assert snoozed.word == by_hand.word == "asleep" and snoozed.detail == "until 15:30 (as you asked)"


def test_every_state_is_said_with_the_word_the_dashboard_uses_for_the_wire_status():
    from app.ui.state_words import worker_word

    task = {"name": "Shot 12", "status": "active"}
    cases = [  # (what the Manager says, the wire status the dashboard shows for it)
        (dict(connected=True, status="awake"), "awake"),
        (dict(connected=True, status="asleep", schedule=AFTERNOON), "asleep"),
        (dict(connected=True, status="asleep"), "asleep"),
        (dict(connected=True, status="asleep", snoozed_until=NOW + dt.timedelta(hours=1)), "asleep"),
        (dict(connected=True, status="asleep", held="busy"), "asleep"),
        (dict(connected=True, status="offline"), "offline"),
        (dict(connected=False, status="awake"), "offline"),
        (dict(connected=True, status="error"), "error"),
        (dict(connected=True, status="starting"), "starting"),
        (dict(connected=True, status="restart"), "restart"),
        (dict(connected=True, status="testing"), "testing"),
    ]
    for given, wire in cases:
        state = ts.derive(now=NOW, **given)
        assert state.word == worker_word(wire) and state.text.startswith(state.word), (given, state)
        for other in ("paused", "snoozed", "idle", "held"):
            assert other not in state.text, (given, state.text)
    rendering = ts.derive(connected=True, status="awake", task=task, now=NOW)
    assert rendering.word == worker_word("awake", rendering=True) == "rendering"


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
    assert ts.derive(connected=True, status="asleep", now=NOW, held=why) == ts.TrayState(ts.PAUSED, f"asleep: {why}")
    assert ts.derive(connected=True, status="awake", now=NOW, held=why).text == f"awake, going to sleep: {why}"
    task = {"status": "active", "name": "Shot 12", "steps_completed": 1, "steps_total": 4}
    assert ts.derive(connected=True, status="awake", task=task, now=NOW, held=why).text.endswith(
        f"stops after this task: {why}")

"""What the tray worker shows, as a pure function of what the Manager says (no Qt here).

The Manager's requested status is the truth: the tray never keeps a "paused" flag of its own.
Each state is said with its one word (`app.ui.state_words`), the same as the dashboard's, and the
sentence after it says why and until when: an asleep worker is "asleep until 18:00 (sleep
schedule)", "asleep until 15:30 (as you asked)" or "asleep until you choose Render now", never
"paused" or "snoozed". The kinds below tell the code (icons, which actions make sense) apart; a
person sees only their words: `ASLEEP` and `PAUSED` both read "asleep" and look alike, `PAUSED`
only marks a worker asleep for a reason other than its schedule (so the load hold may wake it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app.api.workers import WorkerSleepSchedule
from app.common import schedule as sched
from app.ui import state_words as words

IDLE, RENDERING, ASLEEP, PAUSED, UNREACHABLE, ERROR, STARTING = (
    "idle", "rendering", "asleep", "paused", "unreachable", "error", "starting")
STATES = (IDLE, RENDERING, ASLEEP, PAUSED, UNREACHABLE, ERROR, STARTING)
#: The one word of each kind, from the table every view uses.
KIND_WORDS = {
    IDLE: words.worker_word("awake"), RENDERING: words.RENDERING, ASLEEP: words.worker_word("asleep"),
    PAUSED: words.worker_word("asleep"), UNREACHABLE: words.worker_word("offline"),
    ERROR: words.worker_word("error"), STARTING: words.worker_word("starting"),
}


@dataclass(frozen=True)
class TrayState:
    kind: str
    text: str                      # the tooltip, starting with the word: "asleep until 18:00 (sleep schedule)"
    progress: float | None = None  # 0..1 while rendering with known steps
    said: str = ""                 # the word where the wire status has its own ("restarting", "testing")

    @property
    def word(self) -> str:
        """The state's one word ("asleep"), as every view says it."""
        return self.said or KIND_WORDS.get(self.kind, self.kind)

    @property
    def detail(self) -> str:
        """What `text` says after the word ("until 18:00 (sleep schedule)"); '' when nothing."""
        rest = self.text[len(self.word):] if self.text.startswith(self.word) else self.text
        return rest.lstrip(" ,:")


def window_of(schedule: WorkerSleepSchedule | None) -> sched.SleepWindow | None:
    if schedule is None or not schedule.is_active:
        return None
    try:
        return sched.parse_window(True, schedule.days_of_week, schedule.start_time, schedule.end_time)
    except sched.ScheduleError:
        return None


def asleep_until(now: dt.datetime, schedule: WorkerSleepSchedule | None) -> dt.datetime | None:
    """When a schedule that has the worker asleep at `now` wakes it; None when it is not asleep by it."""
    window = window_of(schedule)
    if window is None or not sched.should_sleep(now, window):
        return None
    moment = now
    for _ in range(24):  # boundaries and midnights: a week of windows is well within this
        moment = sched.next_check(moment, window)
        if not sched.should_sleep(moment, window):
            return moment
    return None


def _when(now: dt.datetime, moment: dt.datetime) -> str:
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    if moment.date() == now.date() + dt.timedelta(days=1):
        return "tomorrow " + moment.strftime("%H:%M")
    return moment.strftime("%a %H:%M")


def derive(*, connected: bool, status: str, lazy_request: dict[str, Any] | None = None,
           task: dict[str, Any] | None = None, schedule: WorkerSleepSchedule | None = None,
           now: dt.datetime, snoozed_until: dt.datetime | None = None, message: str = "",
           held: str = "") -> TrayState:
    """The tray state from the Manager's view of this worker.

    `held`: why the load of the artist's own programs holds the worker asleep ('' when it does not).
    """
    if not connected:
        return TrayState(UNREACHABLE, f"offline: {message or 'cannot reach the Manager'}")
    if status == "offline":
        return TrayState(UNREACHABLE, f"offline: {message or 'the worker is not signed on to the Manager'}")
    if status == "error":
        return TrayState(ERROR, f"error: {message or 'the Manager reports a problem with this worker'}")
    if status in ("", "starting"):
        return TrayState(STARTING, "starting")
    if status == "restart":
        word = words.worker_word("restart")
        return TrayState(STARTING, f"{word}: the Manager asked this worker to restart", said=word)
    if status == "testing":
        word = words.worker_word("testing")
        return TrayState(IDLE, f"{word}: the Manager is testing this worker", said=word)
    if task is not None and task.get("status") == "active":
        done, total = int(task.get("steps_completed") or 0), int(task.get("steps_total") or 0)
        progress = done / total if total > 0 else None
        pct = f" ({progress:.0%})" if progress is not None else ""
        then = ""
        if lazy_request and lazy_request.get("status") == "asleep":
            then = "; stops after this task"
        if held:
            then = f"; stops after this task: {held}"
        return TrayState(RENDERING, f"rendering {task.get('name', '')}{pct}{then}", progress)
    if status == "asleep":
        if held:
            return TrayState(PAUSED, f"asleep: {held}")
        until = asleep_until(now, schedule)
        if until is not None:
            return TrayState(ASLEEP, f"asleep until {_when(now, until)} (sleep schedule)")
        if snoozed_until is not None and snoozed_until > now:
            return TrayState(PAUSED, f"asleep until {_when(now, snoozed_until)} (as you asked)")
        return TrayState(PAUSED, "asleep until you choose Render now")
    if held:
        return TrayState(IDLE, f"awake, going to sleep: {held}")
    return TrayState(IDLE, "awake, waiting for work")

"""The sleep schedule editor: days, start and end; windows past midnight allowed (22:00-06:00).

The same widget edits a schedule in the dashboard's worker list and in the tray worker's window.
It edits Flamenco's `WorkerSleepSchedule` (`app.api.workers`): is_active, days_of_week, start_time,
end_time, days as two-letter lower-case names separated by spaces ("" means every day).
"""

from __future__ import annotations

from PySide6.QtCore import QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.api.workers import WorkerSleepSchedule

DAYS = (("mo", "Mon"), ("tu", "Tue"), ("we", "Wed"), ("th", "Thu"), ("fr", "Fri"), ("sa", "Sat"), ("su", "Sun"))


def _time(text: str, fallback: str) -> QTime:
    value = QTime.fromString(text or fallback, "HH:mm")
    return value if value.isValid() else QTime.fromString(fallback, "HH:mm")


def describe(schedule: WorkerSleepSchedule | None) -> str:
    """One line for a tooltip or a table: 'asleep Mon-Fri 22:00-06:00 (past midnight)'."""
    if schedule is None or not schedule.is_active:
        return "no sleep schedule"
    days = schedule.days_of_week.split()
    names = ", ".join(n for k, n in DAYS if k in days) if days else "every day"
    start, end = schedule.start_time, schedule.end_time
    wrap = " (past midnight)" if start and end and end < start else ""
    return f"asleep {names} {start}-{end}{wrap}"


class SleepScheduleEditor(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.active = QCheckBox("Sleep on a schedule")
        self.active.setObjectName("scheduleActive")
        self.days: dict[str, QCheckBox] = {}
        day_row = QHBoxLayout()
        for key, name in DAYS:
            box = QCheckBox(name)
            box.setObjectName(f"day_{key}")
            self.days[key] = box
            day_row.addWidget(box)
            box.toggled.connect(self._changed)
        self.start = QTimeEdit()
        self.start.setDisplayFormat("HH:mm")
        self.start.setObjectName("scheduleStart")
        self.end = QTimeEdit()
        self.end.setDisplayFormat("HH:mm")
        self.end.setObjectName("scheduleEnd")
        self.summary = QLabel()
        self.summary.setObjectName("scheduleSummary")
        self.summary.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Days (none ticked: every day):", day_row)
        form.addRow("Go to sleep at:", self.start)
        form.addRow("Wake up at:", self.end)
        layout = QVBoxLayout(self)
        layout.addWidget(self.active)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        for signal in (self.active.toggled, self.start.timeChanged, self.end.timeChanged):
            signal.connect(self._changed)
        self.set_schedule(None)

    def set_schedule(self, schedule: WorkerSleepSchedule | None) -> None:
        """Show this schedule (None: the worker has none)."""
        self.active.setChecked(schedule is not None and schedule.is_active)
        days = set(schedule.days_of_week.split()) if schedule is not None else set()
        for key, box in self.days.items():
            box.setChecked(key in days)
        self.start.setTime(_time(schedule.start_time if schedule is not None else "", "22:00"))
        self.end.setTime(_time(schedule.end_time if schedule is not None else "", "07:00"))
        self._changed()

    def schedule(self) -> WorkerSleepSchedule:
        return WorkerSleepSchedule(
            is_active=self.active.isChecked(),
            days_of_week=" ".join(k for k, b in self.days.items() if b.isChecked()),
            start_time=self.start.time().toString("HH:mm"),
            end_time=self.end.time().toString("HH:mm"))

    def _changed(self, *_args) -> None:
        for widget in (*self.days.values(), self.start, self.end):
            widget.setEnabled(self.active.isChecked())
        self.summary.setText(describe(self.schedule()))
        self.changed.emit()


class SleepScheduleDialog(QDialog):
    def __init__(self, worker_name: str, schedule: WorkerSleepSchedule | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Sleep schedule of {worker_name}")
        self.editor = SleepScheduleEditor()
        self.editor.set_schedule(schedule)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor)
        layout.addWidget(buttons)

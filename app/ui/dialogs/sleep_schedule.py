"""The sleep schedule editor: days, start and end; windows past midnight allowed (22:00-06:00).

The same widget edits a schedule in the dashboard's worker list and in the tray worker's window.
It edits Flamenco's `WorkerSleepSchedule` shape: `{is_active, days_of_week, start_time, end_time}`,
days as two-letter lower-case names separated by spaces ("" means every day).
"""

from __future__ import annotations

from typing import Any

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

DAYS = (("mo", "Mon"), ("tu", "Tue"), ("we", "Wed"), ("th", "Thu"), ("fr", "Fri"), ("sa", "Sat"), ("su", "Sun"))


def _time(text: str, fallback: str) -> QTime:
    value = QTime.fromString(text or fallback, "HH:mm")
    return value if value.isValid() else QTime.fromString(fallback, "HH:mm")


def describe(schedule: dict[str, Any]) -> str:
    """One line for a tooltip or a table: 'asleep Mon-Fri 22:00-06:00 (past midnight)'."""
    if not schedule.get("is_active"):
        return "no sleep schedule"
    days = schedule.get("days_of_week", "").split()
    names = ", ".join(n for k, n in DAYS if k in days) if days else "every day"
    start, end = schedule.get("start_time", ""), schedule.get("end_time", "")
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
        self.set_schedule({})

    def set_schedule(self, schedule: dict[str, Any]) -> None:
        self.active.setChecked(bool(schedule.get("is_active")))
        days = set((schedule.get("days_of_week") or "").split())
        for key, box in self.days.items():
            box.setChecked(key in days)
        self.start.setTime(_time(schedule.get("start_time", ""), "22:00"))
        self.end.setTime(_time(schedule.get("end_time", ""), "07:00"))
        self._changed()

    def schedule(self) -> dict[str, Any]:
        return {
            "is_active": self.active.isChecked(),
            "days_of_week": " ".join(k for k, b in self.days.items() if b.isChecked()),
            "start_time": self.start.time().toString("HH:mm"),
            "end_time": self.end.time().toString("HH:mm"),
        }

    def _changed(self, *_args) -> None:
        for widget in (*self.days.values(), self.start, self.end):
            widget.setEnabled(self.active.isChecked())
        self.summary.setText(describe(self.schedule()))
        self.changed.emit()


class SleepScheduleDialog(QDialog):
    def __init__(self, worker_name: str, schedule: dict[str, Any], parent=None):
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

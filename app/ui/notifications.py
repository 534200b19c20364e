"""Desktop notifications for a job completed, a job failed, a preview frame failed and a worker lost.

A job that finished or failed is what someone waiting on a render wants to hear about, so those
two are on until switched off; a lost worker is off until switched on (a farm where people turn
their computers off would say so all day). The choice per kind lives in QSettings (UI state, not
farm configuration). A notification goes to the system tray when there is one, and to the
window's status bar otherwise.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.api.events import JobUpdate, WorkerUpdate
from app.ui.models.job_row import JobDelta

KINDS = {
    "job_completed": "A job completed",
    "job_failed": "A job failed",
    "worker_lost": "A worker was lost",
    "preview_failed": "A job's preview frame failed",
}
#: What each kind is until the user chooses.
ON_BY_DEFAULT = {"job_completed": True, "job_failed": True, "worker_lost": False, "preview_failed": True}
#: How the Manager's job activity starts when a worker failed one of the job's preview chunks
#: (app/manager/scheduling/preview_first.py): said once per job and failure, not on every later event.
PREVIEW_FAILED = "Preview task "


def job_message(update: JobUpdate) -> tuple[str, str] | None:
    """(kind, text) for a job event worth a notification, or None."""
    previous, status, name = update.previous_status, update.status, update.name or ""
    if previous and previous != status:
        if status == "completed":
            return "job_completed", f"Job '{name}' completed."
        if status == "failed":
            return "job_failed", f"Job '{name}' failed."
    activity = update.activity or ""
    if activity.startswith(PREVIEW_FAILED) and " failed" in activity:
        return "preview_failed", f"Job '{name}': {activity}."
    return None


def worker_message(update: WorkerUpdate) -> tuple[str, str] | None:
    """(kind, text) for a worker event worth a notification, or None."""
    previous, status, name = update.previous_status, update.status, update.name
    if previous in ("awake", "asleep") and status in ("offline", "error"):
        return "worker_lost", f"Worker '{name}' is {status} (was {previous})."
    return None


def message_for(event: JobUpdate | WorkerUpdate) -> tuple[str, str] | None:
    """(kind, text) for an event worth a notification, or None."""
    return job_message(event) if isinstance(event, JobUpdate) else worker_message(event)


class Notifier(QObject):
    shown = Signal(str, str)  # kind, text (also for tests)

    def __init__(self, status_bar=None, parent=None):
        super().__init__(parent)
        self.status_bar = status_bar
        self.tray: QSystemTrayIcon | None = None
        self.actions: dict[str, QAction] = {}
        self._previews_said: set[tuple[str, str]] = set()  # (job id, activity) already said

    def enabled(self, kind: str) -> bool:
        return bool(QSettings().value(f"notifications/{kind}", ON_BY_DEFAULT.get(kind, False), type=bool))

    def set_enabled(self, kind: str, on: bool) -> None:
        QSettings().setValue(f"notifications/{kind}", bool(on))

    def menu(self, parent) -> QMenu:
        menu = QMenu("&Notifications", parent)
        for kind, text in KINDS.items():
            action = QAction(text, menu, checkable=True, checked=self.enabled(kind))
            action.toggled.connect(lambda on, kind=kind: self.set_enabled(kind, on))
            self.actions[kind] = action
            menu.addAction(action)
        return menu

    def jobs_changed(self, deltas: list[JobDelta]) -> None:
        for delta in deltas:
            self._consider(delta.update)

    def workers_changed(self, updates: list[WorkerUpdate]) -> None:
        for update in updates:
            self._consider(update)

    def _consider(self, item: JobUpdate | WorkerUpdate) -> None:
        found = message_for(item)
        if found is None or not self.enabled(found[0]):
            return
        kind, text = found
        if kind == "preview_failed":
            said = (item.id, text)
            if said in self._previews_said:
                return  # the same activity rides on the job's later events
            self._previews_said.add(said)
        if self.tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(self)
            self.tray.show()
        if self.tray is not None and QSystemTrayIcon.supportsMessages():
            self.tray.showMessage("Tablao", text)
        elif self.status_bar is not None:
            self.status_bar.showMessage(text, 15000)
        self.shown.emit(kind, text)

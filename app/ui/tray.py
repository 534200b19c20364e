"""The tray icon of Worker mode: its look tells the state; its menu holds the artist's controls.

`WorkerActions` is the one set of QActions (render now, stop, finish then stop, snooze, schedule,
open, quit) shared by the tray menu and the worker window, so a desktop without a tray gets the
same controls in the window. Each action is a request to the Manager through the controller.
Notifications (each can be turned off in QSettings) go through the tray icon when there is one.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.ui import tray_icons
from app.ui import tray_state as ts
from app.ui.aio import spawn
from app.ui.worker_controller import WorkerController, tomorrow_morning

NOTIFY_KINDS = {"Task failed": "notify/task_failed", "Manager lost": "notify/manager",
                "Manager found": "notify/manager", "Worker asleep": "notify/sleep", "Worker awake": "notify/sleep"}


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class WorkerActions(QObject):
    open_requested = Signal()
    schedule_requested = Signal()
    quit_requested = Signal()

    def __init__(self, controller: WorkerController, parent=None):
        super().__init__(parent)
        self.controller = controller
        c = controller
        self.open = QAction("Open the worker window", self)
        self.render_now = QAction("Render now", self)
        self.stop = QAction("Stop rendering (the task goes back to the queue)", self)
        self.finish = QAction("Finish the current task, then stop", self)
        # "Sleep", the word of the state it leads to (asleep), as the dashboard says it.
        self.snooze_hour = QAction("Sleep for an hour", self)
        self.snooze_tomorrow = QAction("Sleep until tomorrow morning", self)
        self.schedule = QAction("Sleep schedule…", self)
        self.quit = QAction("Quit", self)
        self.open.triggered.connect(self.open_requested.emit)
        self.render_now.triggered.connect(lambda: spawn(c.render_now()))
        self.stop.triggered.connect(lambda: spawn(c.stop_rendering()))
        self.finish.triggered.connect(lambda: spawn(c.finish_then_stop()))
        self.snooze_hour.triggered.connect(lambda: spawn(c.snooze(c.clock() + dt.timedelta(hours=1))))
        self.snooze_tomorrow.triggered.connect(lambda: spawn(c.snooze(tomorrow_morning(c.clock()))))
        self.schedule.triggered.connect(self.schedule_requested.emit)
        self.quit.triggered.connect(self.quit_requested.emit)
        controller.state_changed.connect(self.update)
        self.update(controller.state)

    def update(self, state: ts.TrayState) -> None:
        """Grey out what cannot be done now."""
        reachable = state.kind not in (ts.UNREACHABLE, ts.STARTING)
        rendering = state.kind == ts.RENDERING
        self.render_now.setEnabled(reachable and state.kind in (ts.ASLEEP, ts.PAUSED, ts.ERROR))
        self.stop.setEnabled(reachable and state.kind in (ts.RENDERING, ts.IDLE))
        self.finish.setEnabled(reachable and rendering)
        for action in (self.snooze_hour, self.snooze_tomorrow, self.schedule):
            action.setEnabled(reachable)

    def fill(self, menu: QMenu, open_window: bool = True) -> QMenu:
        """The actions in `menu`; `open_window` False leaves out "Open the worker window" (the
        worker window's own menu: no menu offers the window it is in)."""
        if open_window:
            menu.addAction(self.open)
            menu.addSeparator()
        for action in (self.render_now, self.stop, self.finish):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.snooze_hour, self.snooze_tomorrow, self.schedule):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.quit)
        return menu


class WorkerTray(QObject):
    """The QSystemTrayIcon: icon and tooltip follow the controller's state."""

    def __init__(self, controller: WorkerController, actions: WorkerActions, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.menu = actions.fill(QMenu())
        self.menu.setObjectName("trayMenu")
        self.icon = QSystemTrayIcon()
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self._actions = actions
        controller.state_changed.connect(self.show_state)
        controller.notify.connect(self.notify)
        self.show_state(controller.state)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def show_state(self, state: ts.TrayState) -> None:
        self.icon.setIcon(tray_icons.icon(state.kind, state.progress))
        self.icon.setToolTip(f"Tablao worker: {state.text}")

    def notify(self, title: str, text: str) -> None:
        if notification_enabled(title):
            self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 8000)

    def _activated(self, reason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._actions.open_requested.emit()


def notification_enabled(title: str) -> bool:
    key = NOTIFY_KINDS.get(title)
    return key is None or bool(QSettings().value(key, True, type=bool))


def set_notification(key: str, on: bool) -> None:
    QSettings().setValue(key, on)

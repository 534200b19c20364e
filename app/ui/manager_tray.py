"""The tray icon while this computer runs the farm's Manager: the farm goes on with the window closed.

Its look follows the farm's status (the worker tray's drawings: rendering, idle, asleep, not
working); a click or "Open the dashboard" brings the window back; Quit is the app's one Quit.
The first time the window closes into it, it says so once (remembered in QSettings).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.ui import tray_icons
from app.ui import tray_state as ts
from app.ui.state_words import farm_word

STILL_RUNNING_SAID = "manager/still_running_said"
_LOOKS = {"active": ts.RENDERING, "idle": ts.IDLE, "waiting": ts.IDLE, "asleep": ts.ASLEEP,
          "inoperative": ts.UNREACHABLE}


class ManagerTray(QObject):
    open_requested = Signal()
    quit_requested = Signal()

    def __init__(self, address: str, parent: QObject | None = None):
        super().__init__(parent)
        self.address = address
        self.menu = QMenu()
        self.menu.setObjectName("managerTrayMenu")
        self.open = QAction("Open the dashboard", self)
        self.quit = QAction("Quit", self)
        self.open.triggered.connect(self.open_requested.emit)
        self.quit.triggered.connect(self.quit_requested.emit)
        self.menu.addAction(self.open)
        self.menu.addSeparator()
        self.menu.addAction(self.quit)
        self.icon = QSystemTrayIcon()
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.shown = False
        self.show_farm("starting")

    def show_farm(self, status: str) -> None:
        self.icon.setIcon(tray_icons.icon(_LOOKS.get(status, ts.STARTING)))
        self.icon.setToolTip(f"Tablao Manager at {self.address}: farm {farm_word(status)}")

    def show(self) -> None:
        self.icon.show()
        self.shown = True

    def hide(self) -> None:
        self.icon.hide()
        self.shown = False

    def say_still_running(self) -> None:
        """Once: the window closed, the farm did not."""
        if QSettings().value(STILL_RUNNING_SAID, False, type=bool):
            return
        QSettings().setValue(STILL_RUNNING_SAID, True)
        self.icon.showMessage("Tablao keeps running", "The farm goes on here in the tray. Quit from this "
                              "icon's menu (or Ctrl+Q in the window) to stop it.",
                              QSystemTrayIcon.MessageIcon.Information, 8000)

    def _activated(self, reason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.open_requested.emit()

"""Worker mode's window: this computer renders for a Manager.

The full tray worker (tray icon, sleep schedule, idle detection, history) is its own piece of
work; this window is where it will live, and already carries the mode switch and the Manager URL.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from app.ui.windows.main_window import MODE_MANAGER, MODE_WORKER


class WorkerModeWindow(QMainWindow):
    mode_requested = Signal(str)
    closed = Signal()

    def __init__(self, services, role, parent=None):
        super().__init__(parent)
        self.services = services
        self.setWindowTitle("Tablao — Worker")
        url = services.manager_url if services.manager_running else role.manager_url
        text = QLabel(f"<h3>This computer renders for the Manager at {url}</h3>"
                      "<p>The worker runs while this window is open. The tray icon, sleep schedule and "
                      "'render only when I'm away' are coming in the next release.</p>")
        text.setObjectName("workerModeText")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(text)
        self.setCentralWidget(central)
        mode = self.menuBar().addMenu("&Mode")
        self.manager_mode = QAction("Manager mode (dashboard)", self, checkable=True)
        self.manager_mode.setEnabled(role.runs_manager)
        self.worker_mode = QAction("Worker mode (this computer renders)", self, checkable=True, checked=True)
        self.manager_mode.triggered.connect(lambda: self.mode_requested.emit(MODE_MANAGER))
        self.worker_mode.triggered.connect(lambda: self.mode_requested.emit(MODE_WORKER))
        mode.addAction(self.manager_mode)
        mode.addAction(self.worker_mode)
        self.resize(560, 260)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()

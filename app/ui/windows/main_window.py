"""The dashboard window: jobs with their detail, workers, a status bar that tells the farm's state.

The connection banner under the toolbar is the one place that says a Manager was lost; it hides
itself when every watched Manager is connected again.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QInputDialog, QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget
from qasync import asyncSlot

from app.ui.connection import CONNECTED, CONNECTING
from app.ui.dashboard import Dashboard
from app.ui.notifications import Notifier
from app.ui.windows.job_detail import JobDetail
from app.ui.windows.jobs_view import JobsView
from app.ui.windows.settings_view import SettingsView
from app.ui.windows.variables_view import VariablesView
from app.ui.windows.workers_view import WorkersView

MODE_MANAGER, MODE_WORKER = "manager", "worker"


class MainWindow(QMainWindow):
    mode_requested = Signal(str)
    wizard_requested = Signal()
    closed = Signal()

    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.setWindowTitle("Tablao")
        self.jobs_view = JobsView(dashboard)
        self.detail = JobDetail(dashboard)
        self.jobs_view.job_selected.connect(self.detail.show_job)
        self.workers_view = WorkersView(dashboard)

        self.banner = QLabel()
        self.banner.setObjectName("connectionBanner")
        self.banner.setStyleSheet("QLabel#connectionBanner { background: #7a2e12; color: white; padding: 6px; }")
        self.banner.setWordWrap(True)
        self.banner.hide()

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.jobs_view)
        split.addWidget(self.detail)
        split.setSizes([380, 420])
        self.job_split = split
        self.tabs = QTabWidget()
        self.tabs.addTab(split, "Jobs")
        self.tabs.addTab(self.workers_view, "Workers")
        self.variables_view = VariablesView(dashboard)
        self.tabs.addTab(self.variables_view, "Variables")
        self.settings_view = SettingsView(dashboard)
        self.tabs.addTab(self.settings_view, "Settings")
        self.tabs.currentChanged.connect(self._tab_changed)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs)
        self.setCentralWidget(central)

        self.farm_label = QLabel("farm: connecting…")
        self.farm_label.setObjectName("farmStatus")
        self.statusBar().addPermanentWidget(self.farm_label)
        self._states: dict[str, tuple[str, str]] = {}
        self._farm: dict[str, str] = {}
        dashboard.connection_state_changed.connect(self._connection_state)
        dashboard.farm_status_changed.connect(self._farm_status)
        dashboard.managers_changed.connect(self._refresh_status)
        dashboard.admin_token_needed.connect(self._ask_admin_token)
        self._asking_token = False
        self.notifier = Notifier(self.statusBar(), self)
        dashboard.job_events.connect(self.notifier.jobs_changed)
        dashboard.worker_events.connect(self.notifier.workers_changed)
        self._make_menus()
        self._restore()

    # --- menus -----------------------------------------------------------------------------------
    def _make_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        add = QAction("Watch another Manager…", self)
        add.triggered.connect(self._add_manager)
        file_menu.addAction(add)
        remove = QAction("Stop watching a Manager…", self)
        remove.triggered.connect(self._remove_manager)
        file_menu.addAction(remove)
        file_menu.addSeparator()
        quit_action = QAction("Quit", self)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        jobs_menu = self.menuBar().addMenu("&Jobs")
        for action in self.jobs_view.actions.values():
            jobs_menu.addAction(action)
        workers_menu = self.menuBar().addMenu("&Workers")
        for action in self.workers_view.actions.values():
            workers_menu.addAction(action)
        self.menuBar().addMenu(self.notifier.menu(self))
        mode = self.menuBar().addMenu("&Mode")
        self.manager_mode = QAction("Manager mode (dashboard)", self, checkable=True, checked=True)
        self.worker_mode = QAction("Worker mode (this computer renders)", self, checkable=True)
        self.manager_mode.triggered.connect(lambda: self.mode_requested.emit(MODE_MANAGER))
        self.worker_mode.triggered.connect(lambda: self.mode_requested.emit(MODE_WORKER))
        mode.addAction(self.manager_mode)
        mode.addAction(self.worker_mode)
        mode.addSeparator()
        wizard = QAction("Setup wizard…", self)
        wizard.triggered.connect(self.wizard_requested.emit)
        mode.addAction(wizard)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.settings_view and not self.settings_view.raw:
            self.settings_view.load()

    def set_mode(self, mode: str) -> None:
        self.manager_mode.setChecked(mode == MODE_MANAGER)
        self.worker_mode.setChecked(mode == MODE_WORKER)

    def _add_manager(self) -> None:
        url, ok = QInputDialog.getText(self, "Watch a Manager", "Manager URL (for example http://render:8080/):")
        if ok and url.strip():
            self.dashboard.add_manager(url.strip())
            remember_managers(list(self.dashboard.connections))

    @asyncSlot()
    async def _remove_manager(self) -> None:
        urls = list(self.dashboard.connections)
        if not urls:
            return
        url, ok = QInputDialog.getItem(self, "Stop watching", "Manager:", urls, 0, False)
        if ok:
            await self.dashboard.remove_manager(url)
            remember_managers(list(self.dashboard.connections))

    @asyncSlot()
    async def _ask_admin_token(self, url: str, message: str) -> None:
        """Ask once for a Manager's admin token; it is remembered (keyring where there is one)."""
        if self._asking_token:
            return
        self._asking_token = True
        try:
            from PySide6.QtWidgets import QLineEdit
            token, ok = QInputDialog.getText(
                self, "Admin token needed", f"{message}\n\nPaste the admin token of {url}:",
                QLineEdit.EchoMode.Password)
            if ok and token.strip():
                await self.dashboard.use_admin_token(url, token.strip())
                self.statusBar().showMessage("Admin token saved; try the action again.", 10000)
        finally:
            self._asking_token = False

    # --- status ----------------------------------------------------------------------------------
    def _connection_state(self, label: str, state: str, message: str) -> None:
        self._states[label] = (state, message)
        self._refresh_status()

    def _farm_status(self, label: str, status: str) -> None:
        self._farm[label] = status
        self._refresh_status()

    def _refresh_status(self) -> None:
        labels = [c.label for c in self.dashboard.connections.values()]
        lost = [(lb, self._states[lb][1]) for lb in labels
                if self._states.get(lb, (CONNECTING, ""))[0] not in (CONNECTED, CONNECTING)]
        if lost:
            lines = [f"Lost {lb}: {msg or 'no connection'} — reconnecting…" for lb, msg in lost]
            if len(labels) == 1:
                lines = [f"{lost[0][1] or 'No connection to the Manager'} — reconnecting…"]
            self.banner.setText("\n".join(lines))
            self.banner.show()
        else:
            self.banner.hide()
        parts = []
        for lb in labels:
            state = self._states.get(lb, (CONNECTING, ""))[0]
            status = self._farm.get(lb, "…") if state == CONNECTED else state
            parts.append(f"farm: {status}" if len(labels) == 1 else f"{lb}: {status}")
        self.farm_label.setText("   ".join(parts) or "no Manager watched")

    # --- geometry --------------------------------------------------------------------------------
    def _restore(self) -> None:
        settings = QSettings()
        geometry = settings.value("dashboard/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        for name, view in (("jobs", self.jobs_view.table), ("workers", self.workers_view.table)):
            state = settings.value(f"dashboard/{name}_header")
            if state is not None:
                view.horizontalHeader().restoreState(state)
        split = settings.value("dashboard/job_split")
        if split is not None:
            self.job_split.restoreState(split)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = QSettings()
        settings.setValue("dashboard/geometry", self.saveGeometry())
        settings.setValue("dashboard/jobs_header", self.jobs_view.table.horizontalHeader().saveState())
        settings.setValue("dashboard/workers_header", self.workers_view.table.horizontalHeader().saveState())
        settings.setValue("dashboard/job_split", self.job_split.saveState())
        super().closeEvent(event)
        self.closed.emit()


def remembered_managers() -> list[str]:
    value = QSettings().value("dashboard/managers", [])
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value or []]


def remember_managers(urls: list[str]) -> None:
    QSettings().setValue("dashboard/managers", urls)

"""The dashboard window: jobs with their detail, workers, a status bar that tells the farm's state.

The connection banner under the toolbar is the one place that says a Manager was lost; it hides
itself when every watched Manager is connected again. File ▸ Submit… (Ctrl+N), or dropping a
`.blend` on the window, opens the submit dialog; the job it submits is selected (`show_job`).

Its Mode menu shows the one `ModeModel` of the desktop app (app/ui/mode.py): what this computer
runs, the same in every window; it offers the worker window, never this one.

Run by the desktop app (`owned`), closing the window and File ▸ Quit (Ctrl+Q) are the app's to
decide (`close_requested`, `quit_requested`): it may keep the farm running in the tray, or ask
before stopping it. A standalone window (tests, tools) simply closes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget
from qasync import asyncSlot

from app.ui.connection import CONNECTED, CONNECTING
from app.ui.dashboard import Dashboard
from app.ui.dialogs.blend_drop import blend_paths
from app.ui.mode import DASHBOARD, ModeMenu, ModeModel
from app.ui.notifications import Notifier
from app.ui.quitting import QUIT_SHORTCUT
from app.ui.state_words import farm_word
from app.ui.windows.job_detail import JobDetail
from app.ui.windows.jobs_view import JobsView
from app.ui.windows.settings_view import SettingsView
from app.ui.windows.variables_view import VariablesView
from app.ui.windows.workers_view import WorkersView

if TYPE_CHECKING:  # made on first use
    from app.ui.dialogs.submit_job import SubmitJobDialog
    from app.ui.models.job_row import JobRow

_log = logging.getLogger(__name__)

class MainWindow(QMainWindow):
    wizard_requested = Signal()
    open_requested = Signal(str)  # app.ui.mode.WORKER_WINDOW: Mode ▸ Open the worker window
    closed = Signal()
    close_requested = Signal()  # owned: the user closed the window
    quit_requested = Signal()   # owned: File ▸ Quit

    def __init__(self, dashboard: Dashboard, parent=None, modes: ModeModel | None = None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.modes = modes if modes is not None else ModeModel(parent=self)  # none runs: a dashboard only
        self.owned = False  # True: the desktop app decides what closing and Quit mean
        self._closing_for_good = False
        self.setWindowTitle("Tablao")
        self.jobs_view = JobsView(dashboard)
        self.detail = JobDetail(dashboard)
        self.jobs_view.job_selected.connect(self.detail.show_job)
        self.jobs_view.duplicate_requested.connect(self.duplicate_job)
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
        self.submit_dialog: SubmitJobDialog | None = None  # while open
        self._pending_job = ""  # a job to select as soon as it is in the table
        # The source model's signals: they come after the view's proxy has taken the rows in, and
        # also for rows the proxy filters out (show_job then clears the filter).
        dashboard.jobs.rowsInserted.connect(self._select_pending)
        dashboard.jobs.modelReset.connect(self._select_pending)
        self.setAcceptDrops(True)
        self._make_menus()
        self._restore()

    # --- menus -----------------------------------------------------------------------------------
    def _make_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.submit_action = QAction("Submit…", self)
        self.submit_action.setShortcut(QKeySequence.StandardKey.New)
        self.submit_action.setToolTip("Submit a .blend file as a render job (or drop one on this window)")
        self.submit_action.triggered.connect(lambda: self.open_submit_dialog())
        file_menu.addAction(self.submit_action)
        file_menu.addSeparator()
        add = QAction("Watch another Manager…", self)
        add.triggered.connect(self._add_manager)
        file_menu.addAction(add)
        remove = QAction("Stop watching a Manager…", self)
        remove.triggered.connect(self._remove_manager)
        file_menu.addAction(remove)
        file_menu.addSeparator()
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QUIT_SHORTCUT)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self._quit)
        file_menu.addAction(self.quit_action)
        jobs_menu = self.menuBar().addMenu("&Jobs")
        jobs_menu.addAction(self.submit_action)
        jobs_menu.addSeparator()
        for action in self.jobs_view.row_actions.values():
            jobs_menu.addAction(action)
        workers_menu = self.menuBar().addMenu("&Workers")
        for action in self.workers_view.row_actions.values():
            workers_menu.addAction(action)
        self.menuBar().addMenu(self.notifier.menu(self))
        self.mode_menu = ModeMenu(self.modes, DASHBOARD, self)
        self.mode_menu.open_requested.connect(self.open_requested.emit)
        self.mode_menu.wizard_requested.connect(self.wizard_requested.emit)
        self.menuBar().addMenu(self.mode_menu.menu)
        help_menu = self.menuBar().addMenu("&Help")
        self.addon_action = QAction("Get the Blender add-on…", self)
        self.addon_action.setToolTip("Save the Manager's Blender add-on, with its address filled in")
        self.addon_action.triggered.connect(self._save_addon)
        help_menu.addAction(self.addon_action)

    def _quit(self) -> None:
        if self.owned:
            self.quit_requested.emit()
        else:
            self.close()

    def close_for_good(self) -> None:
        """Close the window whatever `owned` says (the program ends)."""
        self._closing_for_good = True
        self.close()

    def bring_up(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.settings_view and not self.settings_view.raw:
            self.settings_view.load()

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

    @asyncSlot()
    async def _save_addon(self) -> None:
        """Ask where to save the Manager's add-on zip, then download and write it off the UI thread."""
        from app.ui.addon_download import ask_and_save_addon

        await ask_and_save_addon(self, self.dashboard)

    # --- submitting and showing jobs ---------------------------------------------------------------
    def open_submit_dialog(self, blendfile: Path | None = None):
        """The submit dialog (one at a time; a new file goes to the open one)."""
        from app.ui.dialogs.submit_job import SubmitJobDialog

        if self.submit_dialog is not None and self.submit_dialog.isVisible():
            if blendfile is not None:
                self.submit_dialog.set_blendfile(blendfile)
            self.submit_dialog.raise_()
            self.submit_dialog.activateWindow()
            return self.submit_dialog
        dialog = SubmitJobDialog(self.dashboard, blendfile, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.submitted.connect(lambda _url, job_id: self.show_job(job_id))
        dialog.destroyed.connect(lambda *_: setattr(self, "submit_dialog", None))
        self.submit_dialog = dialog
        dialog.show()
        return dialog

    def duplicate_job(self, row: JobRow) -> None:
        """Duplicate and edit: the submit dialog, filled in with the job's settings, for its Manager."""
        from app.ui.dialogs.submit_job import SubmitJobDialog

        if self.submit_dialog is not None and self.submit_dialog.isVisible():
            self.submit_dialog.close()
        conn = self.dashboard.connection_for(row)
        dialog = SubmitJobDialog(self.dashboard, manager_url=conn.url, parent=self, prefill=row)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.submitted.connect(lambda _url, job_id: self.show_job(job_id))
        dialog.destroyed.connect(lambda *_: setattr(self, "submit_dialog", None))
        self.submit_dialog = dialog
        dialog.show()

    def show_job(self, job_id: str) -> bool:
        """Select the job in the jobs view and show its detail; a job not yet in the table (its event
        is on the way) is selected when it arrives. True when it was selected now."""
        self.tabs.setCurrentWidget(self.job_split)
        self._pending_job = job_id
        return self._select_pending()

    def _select_pending(self, *_args) -> bool:
        job_id = self._pending_job
        if not job_id:
            return False
        view = self.jobs_view
        if not view.select_job(job_id):
            model = self.dashboard.jobs
            if not any(k.endswith("/" + job_id) for k in model.keys()):
                return False
            view.search.clear()  # in the table but filtered out: show every job again
            for button in view.filter_buttons.values():
                button.setChecked(False)
            if not view.select_job(job_id):
                return False
        self._pending_job = ""
        _log.info("selected job %s", job_id)
        view.table.scrollTo(view.table.currentIndex())
        view.table.setFocus()
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if blend_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = blend_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.open_submit_dialog(paths[0])

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
            status = farm_word(self._farm.get(lb, "…")) if state == CONNECTED else state
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
        for name, view, model in (("jobs", self.jobs_view.table, self.dashboard.jobs),
                                  ("workers", self.workers_view.table, self.dashboard.workers)):
            # Kept per set of columns: widths saved for another set (an older version, or a newer
            # one run from the same account) would land on the wrong columns.
            state = settings.value(_header_key(name, model))
            if state is not None:
                view.horizontalHeader().restoreState(state)
            view.setColumnHidden(0, not self.dashboard.multi)
        self.jobs_view.apply_saved_sort()  # the arrow and the order agree, whatever the header said
        split = settings.value("dashboard/job_split")
        if split is not None:
            self.job_split.restoreState(split)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_state()
        if self.owned and not self._closing_for_good:
            event.ignore()
            self.close_requested.emit()
            return
        if self.submit_dialog is not None:
            self.submit_dialog.close()  # its scene read stops with it
        super().closeEvent(event)
        self.closed.emit()

    def _save_state(self) -> None:
        settings = QSettings()
        settings.setValue("dashboard/geometry", self.saveGeometry())
        settings.setValue(_header_key("jobs", self.dashboard.jobs),
                          self.jobs_view.table.horizontalHeader().saveState())
        settings.setValue(_header_key("workers", self.dashboard.workers),
                          self.workers_view.table.horizontalHeader().saveState())
        settings.setValue("dashboard/job_split", self.job_split.saveState())


def _header_key(name: str, model) -> str:
    """The QSettings key of a table's header state, for exactly this set of columns."""
    import zlib

    titles = "|".join(c.title for c in model.columns)
    return f"dashboard/{name}_header_{zlib.crc32(titles.encode()):08x}"


def remembered_managers() -> list[str]:
    value = QSettings().value("dashboard/managers", [])
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def remember_managers(urls: list[str]) -> None:
    QSettings().setValue("dashboard/managers", urls)

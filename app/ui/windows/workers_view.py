"""The worker list: status, current task, the frame it renders and its samples, CPU, memory, GPU,
Blender version, platform, tags, last seen; sleep/wake/shutdown/delete.

An action is enabled only while it applies to a selected worker (`app.ui.applies`), and acts only
on the selected workers it applies to.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.api.workers import WorkerSleepSchedule
from app.ui.applies import worker_action_applies
from app.ui.dashboard import Dashboard
from app.ui.dialogs.sleep_schedule import SleepScheduleDialog
from app.ui.dialogs.worker_tags import WorkerTagsDialog
from app.ui.error_dialog import show_error, show_messages
from app.ui.models.filter_proxy import RowFilterProxy
from app.ui.models.keyed_table import ROW_ROLE
from app.ui.models.worker_row import WorkerRow, worker_field


class WorkersView(QWidget):
    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.proxy = RowFilterProxy(("name", "status", "platform", "manager"), self, read=worker_field)
        self.proxy.setSourceModel(dashboard.workers)
        self.search = QLineEdit(placeholderText="Search workers by name, status or platform")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        from app.ui.models.columns import column_of

        for title, width in (("Manager", 120), ("Name", 120), ("Status", 110), ("Task", 230),
                             ("Frame", 175), ("CPU", 80), ("Memory", 100), ("GPU", 150), ("Blender", 65),
                             ("Platform", 65), ("Version", 95), ("Tags", 90), ("Last seen", 90)):
            self.table.setColumnWidth(column_of(dashboard.workers, title), width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        dashboard.managers_changed.connect(lambda: self.table.setColumnHidden(0, not dashboard.multi))
        self.table.setColumnHidden(0, not dashboard.multi)
        bar = QHBoxLayout()
        bar.addWidget(self.search)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self.row_actions: dict[str, QAction] = self._make_actions()
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.update_actions())
        dashboard.workers.dataChanged.connect(lambda *_: self.update_actions()
                                              if self.table.selectionModel().hasSelection() else None)
        dashboard.workers.rowsRemoved.connect(lambda *_: self.update_actions())
        dashboard.workers.modelReset.connect(self.update_actions)
        self.update_actions()
        # A worker that falls silent sends no event: its vitals (and "Last seen") age with the clock.
        self._ticker = QTimer(self, interval=5000)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()

    def _tick(self) -> None:
        if self.table.isVisible():
            self.table.viewport().update()

    def selected_rows(self) -> list[WorkerRow]:
        return [r.data(ROW_ROLE) for r in self.table.selectionModel().selectedRows() if r.data(ROW_ROLE)]

    def update_actions(self) -> None:
        """Enable each action only where it applies to a selected worker."""
        rows = self.selected_rows()
        for key, action in self.row_actions.items():
            wanted = any(worker_action_applies(key, r) for r in rows)
            if action.isEnabled() != wanted:
                action.setEnabled(wanted)

    def _applicable(self, key: str) -> list[WorkerRow]:
        return [r for r in self.selected_rows() if worker_action_applies(key, r)]

    def _make_actions(self) -> dict[str, QAction]:
        spec = {
            "wake": ("Wake up", lambda: self._request("wake", "awake", False)),
            "sleep_lazy": ("Sleep after the current task",
                           lambda: self._request("sleep_lazy", "asleep", True)),
            "sleep_now": ("Sleep now", lambda: self._request("sleep_now", "asleep", False)),
            "restart_lazy": ("Restart after the current task",
                             lambda: self._request("restart_lazy", "restart", True)),
            "restart_now": ("Restart now", lambda: self._request("restart_now", "restart", False)),
            "shutdown_lazy": ("Shut down after the current task",
                              lambda: self._request("shutdown_lazy", "offline", True)),
            "shutdown_now": ("Shut down now", lambda: self._request("shutdown_now", "offline", False)),
            "schedule": ("Sleep schedule…", self._edit_schedule),
            "tags": ("Tags…", self._edit_tags),
            "delete": ("Delete…", self._delete),
        }
        actions = {}
        for key, (text, slot) in spec.items():
            action = QAction(text, self)
            action.triggered.connect(slot)
            actions[key] = action
        return actions

    def _context_menu(self, pos) -> None:
        if not self.selected_rows():
            return
        self.update_actions()
        menu = QMenu(self)
        for key, action in self.row_actions.items():
            if key in ("restart_lazy", "shutdown_lazy", "schedule"):
                menu.addSeparator()
            menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    @asyncSlot()
    async def _request(self, key: str, status: str, lazy: bool) -> None:
        rows = self._applicable(key)
        if not rows:
            return
        errors = await self.dashboard.request_worker_status(rows, status, lazy)
        show_messages(self, "Could not change every worker", errors)

    @asyncSlot()
    async def _delete(self) -> None:
        rows = self.selected_rows()
        if rows and QMessageBox.question(self, "Delete workers", f"Forget {len(rows)} worker(s)?"
                                         ) == QMessageBox.StandardButton.Yes:
            show_messages(self, "Could not delete every worker", await self.dashboard.delete_workers(rows))

    @asyncSlot()
    async def _edit_schedule(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        try:
            schedule = await self.dashboard.sleep_schedule(rows[0])
        except Exception as exc:  # noqa: BLE001
            show_error(self, "Could not read the sleep schedule", exc)
            return
        title = rows[0].name if len(rows) == 1 else f"{len(rows)} workers"
        dialog = SleepScheduleDialog(title, schedule, self)
        dialog.setObjectName("sleepScheduleDialog")
        dialog.accepted.connect(lambda: self._save_schedule(rows, dialog.editor.schedule()))
        dialog.open()

    @asyncSlot()
    async def _save_schedule(self, rows: list[WorkerRow], schedule: WorkerSleepSchedule) -> None:
        show_messages(self, "Could not save every schedule", await self.dashboard.set_sleep_schedule(rows, schedule))

    @asyncSlot()
    async def _edit_tags(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        try:
            conn = self.dashboard.connection_for(rows[0])
            current = {t.id for t in (await conn.client.worker(rows[0].id)).tags or [] if t.id is not None}
        except Exception as exc:  # noqa: BLE001
            show_error(self, "Could not read the worker's tags", exc)
            return
        title = f"Tags of {rows[0].name}" if len(rows) == 1 else f"Tags of {len(rows)} workers"
        dialog = WorkerTagsDialog(title, conn.tags, current, self)
        dialog.accepted.connect(lambda: self._save_tags(rows, dialog.chosen(), dialog.new_names()))
        dialog.open()

    @asyncSlot()
    async def _save_tags(self, rows: list[WorkerRow], chosen: list[str], new_names: list[str]) -> None:
        show_messages(self, "Could not save every worker's tags",
                      await self.dashboard.set_worker_tags(rows, chosen, new_names))

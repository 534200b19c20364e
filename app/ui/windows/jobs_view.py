"""The job table: instant search, status filters, sorting, multi-select actions."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.ui.dashboard import Dashboard
from app.ui.errors import show_messages
from app.ui.models.filter_proxy import FINISHED, RowFilterProxy
from app.ui.models.keyed_table import ROW_ROLE
from app.ui.saved_views import JobView, all_views, remember_view
from app.ui.widgets.progress_delegate import ProgressDelegate

STATUS_FILTERS = ("active", "queued", "paused", "failed", "completed", "canceled")


class JobsView(QWidget):
    job_selected = Signal(dict)     # the current row, or {} when nothing is selected

    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.proxy = RowFilterProxy(("name", "type", "status", "_manager", "id"), self)
        self.proxy.setSourceModel(dashboard.jobs)

        self.search = QLineEdit(placeholderText="Search jobs by name, type or status")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.filter_buttons: dict[str, QToolButton] = {}
        self.views = QComboBox()
        self.views.setObjectName("savedViews")
        self.views.setMinimumContentsLength(18)
        self.views.activated.connect(self._apply_view)
        save_view = QToolButton(text="Save view…")
        save_view.clicked.connect(self._save_view)
        self._fill_views()
        filters = QHBoxLayout()
        filters.addWidget(self.views)
        filters.addWidget(save_view)
        filters.addWidget(self.search, 1)
        for status in STATUS_FILTERS:
            button = QToolButton(text=status.capitalize(), checkable=True)
            button.toggled.connect(self._filters_changed)
            self.filter_buttons[status] = button
            filters.addWidget(button)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(8, Qt.SortOrder.DescendingOrder)  # created, newest first
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setItemDelegateForColumn(2, ProgressDelegate(self.table))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in ((0, 120), (1, 80), (2, 110), (3, 260), (4, 150), (5, 60), (8, 150), (9, 150)):
            self.table.setColumnWidth(col, width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        dashboard.managers_changed.connect(self._managers_changed)
        self._managers_changed()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table)
        self.actions = self._make_actions()

    # --- selection -------------------------------------------------------------------------------
    def selected_rows(self) -> list[dict]:
        rows = self.table.selectionModel().selectedRows()
        return [r.data(ROW_ROLE) for r in rows if r.data(ROW_ROLE) is not None]

    def select_job(self, job_id: str) -> bool:
        for row in range(self.proxy.rowCount()):
            data = self.proxy.index(row, 0).data(ROW_ROLE)
            if data and data.get("id") == job_id:
                self.table.selectRow(row)
                return True
        return False

    def _current_changed(self, current, _previous) -> None:
        self.job_selected.emit(current.data(ROW_ROLE) or {} if current.isValid() else {})

    # --- saved views -----------------------------------------------------------------------------
    def _fill_views(self) -> None:
        self._views = all_views()
        self.views.clear()
        self.views.addItems([v.name for v in self._views])

    def _apply_view(self, index: int) -> None:
        if not 0 <= index < len(self._views):
            return
        view = self._views[index]
        self.search.setText(view.text)
        for status, button in self.filter_buttons.items():
            button.blockSignals(True)
            button.setChecked(status in view.statuses)
            button.blockSignals(False)
        self._filters_changed()
        self.proxy.set_hide_finished_older_than(view.hide_finished_days)

    def current_view(self, name: str) -> JobView:
        cutoff = self.proxy._finished_cutoff
        days = None
        if cutoff is not None:
            from datetime import datetime, timezone
            days = round((datetime.now(timezone.utc) - cutoff).total_seconds() / 86400, 3)
        return JobView(name, self.search.text(), sorted(self.proxy.statuses), days)

    def _save_view(self) -> None:
        name, ok = QInputDialog.getText(self, "Save view", "Name of this view (for example 'my failed jobs'):")
        if ok and name.strip():
            remember_view(self.current_view(name.strip()))
            self._fill_views()
            self.views.setCurrentText(name.strip())

    def _filters_changed(self) -> None:
        self.proxy.set_statuses({s for s, b in self.filter_buttons.items() if b.isChecked()})

    def _managers_changed(self) -> None:
        self.table.setColumnHidden(0, not self.dashboard.multi)

    # --- actions ---------------------------------------------------------------------------------
    def _make_actions(self) -> dict[str, QAction]:
        spec = {
            "pause": ("Pause", lambda: self._set_status("pause-requested")),
            "cancel": ("Cancel", lambda: self._set_status("cancel-requested")),
            "requeue": ("Requeue whole job", lambda: self._set_status("requeueing")),
            "requeue_failed": ("Requeue failed tasks", self._requeue_failed),
            "priority": ("Change priority…", self._change_priority),
            "tag": ("Change worker tag…", self._change_tag),
            "delete": ("Delete…", self._delete),
            "delete_old": ("Delete finished jobs older than…", self._delete_old),
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
        menu = QMenu(self)
        for action in self.actions.values():
            menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    @asyncSlot()
    async def _set_status(self, status: str) -> None:
        rows = self.selected_rows()
        errors = await self.dashboard.set_job_status(rows, status, f"{status.replace('-requested', '')} from the dashboard")
        show_messages(self, "Could not change every job", errors)

    @asyncSlot()
    async def _requeue_failed(self) -> None:
        errors = await self.dashboard.requeue_failed_tasks(self.selected_rows())
        show_messages(self, "Could not requeue every job", errors)

    @asyncSlot()
    async def _change_priority(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        value, ok = QInputDialog.getInt(self, "Job priority", "Priority (0-100):",
                                        int(rows[0].get("priority") or 50), 0, 100)
        if ok:
            show_messages(self, "Could not change every priority",
                          await self.dashboard.set_job_priority(rows, value))

    @asyncSlot()
    async def _delete(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        names = ", ".join(r.get("name", "") for r in rows[:5]) + ("…" if len(rows) > 5 else "")
        answer = QMessageBox.question(self, "Delete jobs",
                                      f"Delete {len(rows)} job(s) and their files?\n{names}")
        if answer == QMessageBox.StandardButton.Yes:
            show_messages(self, "Could not delete every job", await self.dashboard.delete_jobs(rows))

    @asyncSlot()
    async def _change_tag(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        names = sorted({name for conn in self.dashboard.connections.values() for name in conn.tags.values()})
        no_tag = "(no tag: any worker)"
        choice, ok = QInputDialog.getItem(self, "Worker tag", "Only workers with this tag run the job:",
                                          [no_tag, *names], 0, False)
        if ok:
            show_messages(self, "Could not change every tag",
                          await self.dashboard.set_job_tag(rows, "" if choice == no_tag else choice))

    @asyncSlot()
    async def _delete_old(self) -> None:
        from datetime import datetime, timedelta, timezone

        from app.ui.models.columns import parse_time

        days, ok = QInputDialog.getInt(self, "Delete old jobs", "Delete finished jobs not updated for (days):",
                                       30, 0, 3650)
        if not ok:
            return
        cutoff = datetime.now(timezone.utc) - timedelta(days=days)
        model = self.dashboard.jobs
        rows = [r for r in (model.row(k) for k in model.keys()) if r and r.get("status") in FINISHED
                and (parse_time(r.get("updated")) or cutoff) < cutoff]
        if not rows:
            QMessageBox.information(self, "Delete old jobs", f"No finished job is older than {days} days.")
            return
        if QMessageBox.question(self, "Delete old jobs", f"Delete {len(rows)} finished job(s) older than "
                                f"{days} days, with their files?") == QMessageBox.StandardButton.Yes:
            show_messages(self, "Could not delete every job", await self.dashboard.delete_jobs(rows))

"""The job table: instant search, status filters, sorting, multi-select actions.

An action is enabled only while it applies to a selected job (`app.ui.applies`), and acts only on
the selected jobs it applies to. The sort (a column, by title, and its direction) is kept in
QSettings, so the table opens sorted as it was left, its arrow saying how. Times that move on
their own (elapsed, ETA) are redrawn every second; nothing is fetched for that.
"""

from __future__ import annotations

from datetime import UTC

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication
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

from app.ui.applies import job_action_applies
from app.ui.dashboard import Dashboard
from app.ui.error_dialog import show_error, show_messages
from app.ui.models.columns import column_of
from app.ui.models.filter_proxy import FINISHED, RowFilterProxy
from app.ui.models.job_row import JobRow, job_field
from app.ui.models.keyed_table import ROW_ROLE
from app.ui.saved_views import JobView, all_views, remember_view
from app.ui.widgets.progress_delegate import ProgressDelegate
from app.ui.windows.site_column import follow_site_column

STATUS_FILTERS = ("active", "queued", "paused", "failed", "completed", "canceled")
SORT_KEY = "dashboard/jobs_sort"          # "title|asc" or "title|desc"
DEFAULT_SORT = ("Created", Qt.SortOrder.DescendingOrder)
COLUMN_WIDTHS = {"Manager": 120, "Status": 110, "Progress": 80, "Name": 200, "ID": 72, "Frames": 86,
                 "Elapsed": 80, "ETA": 170, "Submitter": 140, "Type": 140, "Prio": 44, "Tag": 80,
                 "Created": 96, "Updated": 96, "Site": 130}  # fits "waiting at the hub"


class JobsView(QWidget):
    job_selected = Signal(object)   # the current `JobRow`, or None when nothing is selected
    duplicate_requested = Signal(object)  # a `JobRow` to open in the submit dialog, filled in

    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.proxy = RowFilterProxy(("name", "type", "status", "manager", "id", "metadata"), self, read=job_field)
        self.proxy.setSourceModel(dashboard.jobs)

        self.search = QLineEdit(placeholderText="Search jobs by name, type or status")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.filter_buttons: dict[str, QToolButton] = {}
        self.views = QComboBox()
        self.views.setObjectName("savedViews")
        self.views.setMinimumContentsLength(18)
        self.views.activated.connect(self._apply_view)
        save_view = QToolButton()
        save_view.setText("Save view…")
        save_view.clicked.connect(self._save_view)
        self._fill_views()
        filters = QHBoxLayout()
        filters.addWidget(self.views)
        filters.addWidget(save_view)
        filters.addWidget(self.search, 1)
        for status in STATUS_FILTERS:
            button = QToolButton()
            button.setText(status)  # the wire's word, as in the table
            button.setCheckable(True)
            button.toggled.connect(self._filters_changed)
            self.filter_buttons[status] = button
            filters.addWidget(button)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setItemDelegateForColumn(self.column("Progress"), ProgressDelegate(self.table))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for title, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(self.column(title), width)
        self.apply_saved_sort()
        header.sortIndicatorChanged.connect(self._remember_sort)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.update_actions())
        dashboard.jobs.dataChanged.connect(lambda *_: self._selection_changed_data())
        dashboard.jobs.rowsRemoved.connect(lambda *_: self.update_actions())
        dashboard.jobs.modelReset.connect(self.update_actions)
        dashboard.managers_changed.connect(self._managers_changed)
        self._managers_changed()
        follow_site_column(self.table, dashboard.jobs)
        self._ticker = QTimer(self, interval=1000)  # elapsed and ETA move on with the clock
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table)
        self.row_actions: dict[str, QAction] = self._make_actions()
        self.update_actions()

    def column(self, title: str) -> int:
        return column_of(self.dashboard.jobs, title)

    def _tick(self) -> None:
        if self.table.isVisible():
            self.table.viewport().update()

    # --- sorting ---------------------------------------------------------------------------------
    def apply_saved_sort(self) -> None:
        """Sort as the user left it (QSettings), the header's arrow and the rows agreeing."""
        title, order = saved_sort()
        try:
            column = self.column(title)
        except KeyError:
            title, order = DEFAULT_SORT
            column = self.column(title)
        self.table.sortByColumn(column, order)

    def _remember_sort(self, column: int, order: Qt.SortOrder) -> None:
        if 0 <= column < len(self.dashboard.jobs.columns):
            title = self.dashboard.jobs.columns[column].title
            word = "desc" if order == Qt.SortOrder.DescendingOrder else "asc"
            QSettings().setValue(SORT_KEY, f"{title}|{word}")

    # --- selection -------------------------------------------------------------------------------
    def selected_rows(self) -> list[JobRow]:
        rows = self.table.selectionModel().selectedRows()
        return [r.data(ROW_ROLE) for r in rows if r.data(ROW_ROLE) is not None]

    def select_job(self, job_id: str) -> bool:
        for row in range(self.proxy.rowCount()):
            data = self.proxy.index(row, 0).data(ROW_ROLE)
            if data and data.job.id == job_id:
                self.table.selectRow(row)
                return True
        return False

    def _current_changed(self, current, _previous) -> None:
        self.job_selected.emit(current.data(ROW_ROLE) if current.isValid() else None)

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
            from datetime import datetime
            days = round((datetime.now(UTC) - cutoff).total_seconds() / 86400, 3)
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
            "pause": ("Pause", lambda: self._set_status("pause", "pause-requested")),
            "resume": ("Resume", lambda: self._set_status("resume", "queued")),
            "cancel": ("Cancel", lambda: self._set_status("cancel", "cancel-requested")),
            "requeue": ("Requeue whole job", lambda: self._set_status("requeue", "requeueing")),
            "requeue_failed": ("Requeue failed tasks", self._requeue_failed),
            "resubmit": ("Resubmit (same settings, new job)", self._resubmit),
            "duplicate": ("Duplicate and edit…", self._duplicate),
            "open_output": ("Open output folder", self._open_output),
            "copy_output": ("Copy output path", self._copy_output),
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

    #: Actions for exactly one job (they open or copy something of that one job).
    SINGLE = ("duplicate", "open_output", "copy_output")
    SEPARATE_BEFORE = ("resubmit", "open_output", "priority", "delete")

    def update_actions(self) -> None:
        """Enable each action only where it applies to the selection."""
        if not hasattr(self, "actions"):
            return
        rows = self.selected_rows()
        for key, action in self.row_actions.items():
            if key == "delete_old":
                continue
            if key in self.SINGLE:
                wanted = len(rows) == 1 and job_action_applies(key, rows[0])
            else:
                wanted = bool(self.applicable(key, rows))
            if action.isEnabled() != wanted:  # this runs for every batch of events: touch only changes
                action.setEnabled(wanted)

    def _selection_changed_data(self) -> None:
        if self.table.selectionModel().hasSelection():
            self.update_actions()

    @staticmethod
    def applicable(key: str, rows: list[JobRow]) -> list[JobRow]:
        return [r for r in rows if job_action_applies(key, r)]

    def _context_menu(self, pos) -> None:
        if not self.selected_rows():
            return
        self.update_actions()
        menu = QMenu(self)
        for key, action in self.row_actions.items():
            if key == "delete_old":
                continue
            if key in self.SEPARATE_BEFORE:
                menu.addSeparator()
            menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    @asyncSlot()
    async def _set_status(self, key: str, status: str) -> None:
        rows = self.applicable(key, self.selected_rows())
        if not rows:
            return
        errors = await self.dashboard.set_job_status(rows, status, f"{key} from the dashboard")
        show_messages(self, "Could not change every job", errors)

    @asyncSlot()
    async def _requeue_failed(self) -> None:
        rows = self.applicable("requeue_failed", self.selected_rows())
        errors = await self.dashboard.requeue_failed_tasks(rows)
        show_messages(self, "Could not requeue every job", errors)

    @asyncSlot()
    async def _resubmit(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        errors = await self.dashboard.resubmit_jobs(rows)
        show_messages(self, "Could not resubmit every job", errors)

    def _duplicate(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            self.duplicate_requested.emit(rows[0])

    @asyncSlot()
    async def _open_output(self) -> None:
        from app.ui.output_folder import open_output_folder

        rows = self.selected_rows()
        if len(rows) == 1:
            await open_output_folder(self, self.dashboard, rows[0])

    @asyncSlot()
    async def _copy_output(self) -> None:
        from app.ui.output_folder import output_folder_here

        rows = self.selected_rows()
        if len(rows) != 1:
            return
        try:
            folder = await output_folder_here(self.dashboard, rows[0])
        except Exception as exc:  # noqa: BLE001 - the Manager's words
            show_error(self, "Could not find the output folder", exc)
            return
        if not folder:
            show_error(self, "No output folder", f"Job {rows[0].job.name} names no output folder.")
            return
        QGuiApplication.clipboard().setText(folder)

    @asyncSlot()
    async def _change_priority(self) -> None:
        rows = self.applicable("priority", self.selected_rows())
        if not rows:
            return
        value, ok = QInputDialog.getInt(self, "Job priority", "Priority (0-100):",
                                        rows[0].job.priority, 0, 100)
        if ok:
            show_messages(self, "Could not change every priority",
                          await self.dashboard.set_job_priority(rows, value))

    @asyncSlot()
    async def _delete(self) -> None:
        rows = self.applicable("delete", self.selected_rows())
        if not rows:
            return
        names = ", ".join(r.job.name for r in rows[:5]) + ("…" if len(rows) > 5 else "")
        answer = QMessageBox.question(self, "Delete jobs",
                                      f"Delete {len(rows)} job(s) and their files?\n{names}")
        if answer == QMessageBox.StandardButton.Yes:
            show_messages(self, "Could not delete every job", await self.dashboard.delete_jobs(rows))

    @asyncSlot()
    async def _change_tag(self) -> None:
        rows = self.applicable("tag", self.selected_rows())
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
        from datetime import datetime, timedelta

        from app.ui.models.columns import parse_time

        days, ok = QInputDialog.getInt(self, "Delete old jobs", "Delete finished jobs not updated for (days):",
                                       30, 0, 3650)
        if not ok:
            return
        cutoff = datetime.now(UTC) - timedelta(days=days)
        model = self.dashboard.jobs
        rows = [r for r in (model.row(k) for k in model.keys()) if r and r.job.status in FINISHED
                and (parse_time(r.job.updated) or cutoff) < cutoff]
        if not rows:
            QMessageBox.information(self, "Delete old jobs", f"No finished job is older than {days} days.")
            return
        if QMessageBox.question(self, "Delete old jobs", f"Delete {len(rows)} finished job(s) older than "
                                f"{days} days, with their files?") == QMessageBox.StandardButton.Yes:
            show_messages(self, "Could not delete every job", await self.dashboard.delete_jobs(rows))


def saved_sort() -> tuple[str, Qt.SortOrder]:
    """The job table's sort as the user left it: (column title, order); newest first by default."""
    raw = QSettings().value(SORT_KEY, "")
    title, _, word = str(raw or "").partition("|")
    if not title or word not in ("asc", "desc"):
        return DEFAULT_SORT
    return title, Qt.SortOrder.DescendingOrder if word == "desc" else Qt.SortOrder.AscendingOrder

"""The job detail pane: last rendered frame, the job's facts, tasks, failures by cause, a live log tail.

The facts are what a lead plans with: frames done of all, elapsed, an ETA with its range (from
`Dashboard.pace`), the submitter, the job's activity, and where its output goes, spelled for this
computer, with Open and Copy path. Everything shown follows the job's row in the dashboard's
model and the task events; the pane fetches the job and its tasks when it is shown, when the
Manager says many of its tasks changed at once, and after a reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.api.events import TaskUpdate
from app.ui.aio import spawn
from app.ui.connection import ManagerConnection
from app.ui.dashboard import Dashboard
from app.ui.error_dialog import show_error
from app.ui.manager_eta import job_eta_words
from app.ui.models.columns import short_id, short_time
from app.ui.models.filter_proxy import RowFilterProxy
from app.ui.models.formats import elapsed_text, frames, parse_time, submitter
from app.ui.models.job_row import JobRow
from app.ui.models.keyed_table import ROW_ROLE
from app.ui.models.task_row import TaskRow, task_field
from app.ui.task_stats import TaskStatsFeed, job_tasks_model
from app.ui.widgets.progress_delegate import ProgressDelegate
from app.ui.windows.job_chain import JobChainLabel

_log = logging.getLogger(__name__)
LOG_TAIL_LINES = 2000


class JobDetail(QWidget):
    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.job: JobRow | None = None   # a copy of the table's row, with what the detail fetched merged in
        self.why_waiting = ""
        self.conn: ManagerConnection | None = None
        self.task_id = ""
        self.log_ready = False
        self._load: asyncio.Task | None = None

        self.title = QLabel("Select a job to see its tasks and last rendered frame.")
        self.title.setObjectName("jobTitle")
        self.title.setWordWrap(True)
        self.image = QLabel("no frame rendered yet")
        self.image.setObjectName("lastRendered")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(320, 180)
        self.image.setStyleSheet("QLabel#lastRendered { background: #202020; color: #aaa; }")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setObjectName("jobFacts")
        self.output = QLabel()
        self.output.setObjectName("outputFolder")
        self.output.setWordWrap(True)
        self.output.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output_folder = ""  # spelled for this computer; "" while unknown or when the job names none
        self.open_output = QPushButton("Open")
        self.open_output.setToolTip("Open the job's output folder in the file manager")
        self.open_output.clicked.connect(self._open_output)
        self.copy_output = QPushButton("Copy path")
        self.copy_output.setToolTip("Copy the output folder's path, as this computer reaches it")
        self.copy_output.clicked.connect(self._copy_output)
        self._show_output("")

        self.tasks = job_tasks_model(self)
        self.task_stats = TaskStatsFeed(self.tasks, self)  # render time, peak memory, worker per task
        self.task_proxy = RowFilterProxy(("name", "status", "activity"), self, read=task_field)
        self.task_proxy.setSourceModel(self.tasks)
        self.task_table = QTableView()
        self.task_table.setModel(self.task_proxy)
        self.task_table.setSortingEnabled(True)
        self.task_table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.task_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.task_table.verticalHeader().hide()
        self.task_table.verticalHeader().setDefaultSectionSize(22)
        self.task_table.setItemDelegateForColumn(3, ProgressDelegate(self.task_table))
        self.task_table.horizontalHeader().setStretchLastSection(True)
        self.task_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in ((0, 50), (1, 80), (2, 180), (3, 90), (4, 110), (5, 85), (6, 95), (7, 260)):
            self.task_table.setColumnWidth(col, width)
        self.task_table.selectionModel().currentRowChanged.connect(self._task_selected)

        self.log = QPlainTextEdit(readOnly=True)
        self.log.setObjectName("taskLog")
        self.log.setMaximumBlockCount(LOG_TAIL_LINES)
        self.log.setPlaceholderText("Select a task to follow its log.")
        self.whole_log = QPushButton("Whole log…")
        self.whole_log.clicked.connect(self._show_whole_log)
        self.failures = QPlainTextEdit(readOnly=True)
        self.failures.setObjectName("failures")
        self.settings = QPlainTextEdit(readOnly=True)

        output_row = QHBoxLayout()
        output_row.addWidget(self.output, 1)
        output_row.addWidget(self.open_output)
        output_row.addWidget(self.copy_output)
        facts = QVBoxLayout()
        facts.addWidget(self.summary, 1)
        self.chain = JobChainLabel(dashboard, self)  # what it waits for, what waits for it
        facts.addWidget(self.chain)
        facts.addLayout(output_row)
        top = QHBoxLayout()
        top.addWidget(self.image, 2)
        top.addLayout(facts, 3)
        log_pane = QWidget()
        log_layout = QVBoxLayout(log_pane)
        log_layout.setContentsMargins(0, 0, 0, 0)
        log_layout.addWidget(self.log)
        log_layout.addWidget(self.whole_log, 0, Qt.AlignmentFlag.AlignRight)
        tabs = QTabWidget()
        tabs.addTab(log_pane, "Task log")
        tabs.addTab(self.failures, "Failures")
        tabs.addTab(self.settings, "Settings && metadata")
        tabs.addTab(self._make_blocklist(), "Blocklist")
        self.tabs = tabs
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.task_table)
        split.addWidget(tabs)
        split.setSizes([600, 500])
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(top, 2)
        layout.addWidget(split, 3)

        dashboard.tasks_changed.connect(self._tasks_changed)
        dashboard.task_log_appended.connect(self._log_appended)
        dashboard.last_rendered_changed.connect(self._last_rendered_changed)
        dashboard.jobs.dataChanged.connect(self._job_row_changed)
        dashboard.job_tasks_stale.connect(self._tasks_stale)
        dashboard.resynced.connect(self._resynced)
        self._ticker = QTimer(self, interval=1000)  # elapsed and ETA move on with the clock
        self._ticker.timeout.connect(lambda: self._show_summary() if self.job is not None and self.isVisible() else None)
        self._ticker.start()

    def _make_blocklist(self) -> QWidget:
        from PySide6.QtGui import QStandardItem, QStandardItemModel

        self.blocklist_model = QStandardItemModel(0, 2, self)
        self.blocklist_model.setHorizontalHeaderLabels(["Worker", "Task type"])
        self.blocklist_view = QTableView()
        self.blocklist_view.setObjectName("blocklist")
        self.blocklist_view.setModel(self.blocklist_model)
        self.blocklist_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.blocklist_view.horizontalHeader().setStretchLastSection(True)
        self.blocklist_view.verticalHeader().hide()
        self._item = QStandardItem
        remove = QPushButton("Let them try again")
        remove.setToolTip("Remove the selected workers from this job's blocklist")
        remove.clicked.connect(self._remove_blocklisted)
        pane = QWidget()
        layout = QVBoxLayout(pane)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Workers that failed this job too often and no longer get its tasks:"))
        layout.addWidget(self.blocklist_view)
        layout.addWidget(remove, 0, Qt.AlignmentFlag.AlignRight)
        self._blocklist: list = []
        return pane

    async def _load_blocklist(self, conn: ManagerConnection, job_id: str) -> None:
        try:
            entries = await conn.client.job_blocklist(job_id)
        except Exception as exc:  # noqa: BLE001
            _log.info("no blocklist for %s: %s", job_id, exc)
            return
        if job_id != self.shown_job_id():
            return
        self._blocklist = entries
        self.blocklist_model.removeRows(0, self.blocklist_model.rowCount())
        for entry in entries:
            self.blocklist_model.appendRow([self._item(entry.worker_name or entry.worker_id),
                                            self._item(entry.task_type)])

    @asyncSlot()
    async def _remove_blocklisted(self) -> None:
        rows = sorted({i.row() for i in self.blocklist_view.selectionModel().selectedRows()})
        if not rows or self.conn is None:
            return
        chosen = [self._blocklist[r] for r in rows if r < len(self._blocklist)]
        try:
            await self.conn.client.remove_from_blocklist(self.shown_job_id(), chosen)
        except Exception as exc:  # noqa: BLE001
            show_error(self, "Could not change the blocklist", exc)
            return
        await self._load_blocklist(self.conn, self.shown_job_id())

    # --- showing a job ---------------------------------------------------------------------------
    def shown_job_id(self) -> str:
        return self.job.job.id if self.job is not None else ""

    def show_job(self, row: JobRow | None) -> None:
        if (row is None and self.job is None) or (row is not None and self.job is not None
                                                    and row.key == self.job.key):
            return
        self._unfollow()
        self.job = row.copy() if row is not None else None
        self.why_waiting = ""
        self.tasks.reset([])
        self.log.clear()
        self.image.setPixmap(QPixmap())
        self.image.setText("no frame rendered yet")
        self._show_output("")
        if row is None:
            self.conn = None
            self.chain.show_job(None, "")
            self.title.setText("Select a job to see its tasks and last rendered frame.")
            self.summary.clear()
            return
        self.conn = self.dashboard.connection_for(row)
        self.chain.show_job(self.conn, row.job.id)
        self._show_summary()
        self._refetch()

    def _refetch(self) -> None:
        if self._load is not None:
            self._load.cancel()
        if self.conn is not None and self.job is not None:
            self._load = spawn(self._fetch(self.conn, self.job.job.id))

    async def _fetch(self, conn: ManagerConnection, job_id: str) -> None:
        try:
            job, tasks = await asyncio.gather(conn.client.job(job_id), conn.client.job_tasks(job_id))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            self.summary.setText(f"Could not load the job: {exc}")
            return
        if self.job is None or job_id != self.job.job.id:
            return
        if not _older(job.updated, self.job.job.updated):
            self.job.job = job
        self.tasks.reset(self._newest([TaskRow(t) for t in tasks]))
        self.dashboard.tasks_loaded(conn.label, job_id, tasks)
        self._show_summary()
        await self._load_output(conn, job_id)
        await self._explain_waiting(conn, [t.to_json() for t in tasks])
        self._show_summary()
        await self._load_blocklist(conn, job_id)
        self._show_failures()
        await self._fetch_image(conn, job_id)
        await self.task_stats.load(conn.client, job_id)

    def _newest(self, fetched: list[TaskRow]) -> list[TaskRow]:
        """The fetched tasks, except where an event that arrived meanwhile told of a newer state."""
        out = []
        for task in fetched:
            shown = self.tasks.row(task.id)
            newer = shown is not None and _older(task.task.updated, shown.task.updated)
            out.append(shown if shown is not None and newer else task)
        return out

    def _tasks_stale(self, label: str, job_id: str) -> None:
        if self.conn is not None and label == self.conn.label and job_id == self.shown_job_id():
            self._refetch()

    def _resynced(self, label: str) -> None:
        if self.conn is not None and label == self.conn.label and self.job is not None:
            row = self.dashboard.jobs.row(self.job.key)
            if row is not None:
                self.job = row.copy()
            self._refetch()

    def _show_summary(self) -> None:
        row = self.job
        if row is None:
            return
        job = row.job
        self.title.setText(f"<b>{_escape(job.name)}</b> <small>({short_id(row)})</small> — "
                           f"{_escape(job.type)}, {_escape(str(job.status))}")
        done, total, unit = frames(job)
        eta, why = job_eta_words(job, self.dashboard.eta_of(row) if row.manager else None)
        lines = [
            f"Status: {job.status}",
            f"Progress: {done} / {total} {unit}",
            f"Elapsed: {elapsed_text(job) or '—'}    ETA: {eta}" + (f"  ({why})" if eta == "—" and why else ""),
            f"Submitted by {submitter(job) or 'unknown'}, {short_time(job.created) or '—'}"
            f"    Priority: {job.priority}",
            f"Activity: {job.activity or '—'}",
        ]
        if self.why_waiting:
            lines.append(f"Why waiting: {self.why_waiting}")
        self.summary.setText("\n".join(lines))
        self.summary.setToolTip(why if eta != "—" else "")
        shown = json.dumps({"settings": job.settings, "metadata": job.metadata}, indent=2)
        if shown != self.settings.toPlainText():  # unchanged most seconds: keep where the reader is
            self.settings.setPlainText(shown)

    # --- the output folder --------------------------------------------------------------------------
    async def _load_output(self, conn: ManagerConnection, job_id: str) -> None:
        from app.ui.job_output import local_output_folder

        if self.job is None:
            return
        try:
            variables = await self.dashboard.variables_here(self.job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the folder then shows as the Manager spells it
            _log.info("no variables for this computer from %s: %s", conn.url, exc)
            variables = {}
        if self.job is not None and job_id == self.job.job.id:
            self._show_output(local_output_folder(self.job.job.settings, variables))

    def _show_output(self, folder: str) -> None:
        self.output_folder = folder
        self.output.setText(f"Output: {folder}" if folder else "Output: — (this job names no output folder)")
        self.open_output.setEnabled(bool(folder))
        self.copy_output.setEnabled(bool(folder))

    @asyncSlot()
    async def _open_output(self) -> None:
        from app.ui.output_folder import open_output_folder

        if self.job is not None:
            await open_output_folder(self, self.dashboard, self.job)

    def _copy_output(self) -> None:
        if self.output_folder:
            QGuiApplication.clipboard().setText(self.output_folder)

    async def _explain_waiting(self, conn: ManagerConnection, tasks: list[dict]) -> None:
        """Fill in `why_waiting` from the workers' details (tags, task types) and the blocklist."""
        from app.ui.why_waiting import explain, unmet_requirements

        self.why_waiting = ""
        row = self.job
        if row is None or row.job.status not in ("queued", "active", "paused", "pause-requested",
                                                 "under-construction"):
            return
        job_id = row.job.id
        try:
            summaries = await conn.client.workers()
            limit = asyncio.Semaphore(8)

            async def detail(worker_id: str) -> dict:
                async with limit:
                    return (await conn.client.worker(worker_id)).to_json()

            workers = await asyncio.gather(*(detail(w.id) for w in summaries[:200]))
            blocklist = await conn.client.request("GET", f"/api/v3/jobs/{job_id}/blocklist") or []
            unmet = await unmet_requirements(conn.client, job_id)
            share = await _fair_share(conn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the explanation is a nicety
            _log.info("cannot explain why %s waits: %s", job_id, exc)
            return
        if self.job is None or self.job.job.id != job_id:
            return
        tag = self.job.job.worker_tag
        self.why_waiting = explain(self.job.job.to_json(), tasks, list(workers), blocklist,
                                   conn.tags.get(tag, "") if tag else "", unmet, share)

    def _show_failures(self) -> None:
        causes = failure_causes(self.tasks)
        self.failures.setPlainText("\n".join(f"{n} task(s): {cause}" for cause, n in causes)
                                   or "No failed tasks.")

    async def _fetch_image(self, conn: ManagerConnection, job_id: str) -> None:
        try:
            data = await conn.client.last_rendered_image(job_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a missing preview is not an error dialog
            _log.info("no last-rendered image for %s: %s", job_id, exc)
            return
        pixmap = QPixmap()
        if data and pixmap.loadFromData(data) and job_id == self.shown_job_id():
            self.image.setPixmap(pixmap.scaled(self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))

    # --- live updates ----------------------------------------------------------------------------
    def _tasks_changed(self, label: str, events: list[TaskUpdate]) -> None:
        if self.job is None or label != self.job.manager:
            return
        job_id = self.job.job.id
        mine = [e for e in events if e.job_id == job_id and not self._older_than_shown(e)]
        if mine:
            self.tasks.upsert_many(mine)
            self.task_stats.tasks_changed(mine)
            self._show_failures()

    def _older_than_shown(self, event: TaskUpdate) -> bool:
        shown = self.tasks.row(event.id)
        return shown is not None and _older(event.updated, shown.task.updated)

    def _job_row_changed(self, top, bottom, _roles=()) -> None:
        if self.job is None:
            return
        for r in range(top.row(), bottom.row() + 1):
            row = self.dashboard.jobs.index(r, 0).data(ROW_ROLE)
            if row is not None and row.key == self.job.key:
                self.job = row.copy()
                self._show_summary()

    def _last_rendered_changed(self, label: str, job_id: str) -> None:
        if self.conn is not None and label == self.conn.label and job_id == self.shown_job_id():
            spawn(self._fetch_image(self.conn, job_id))

    def _task_selected(self, current, _previous) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        self._unfollow()
        self.log.clear()
        if not row or self.conn is None:
            return
        self.task_id = row.id
        self.log_ready = False
        spawn(self._load_tail(self.conn, self.task_id))

    async def _load_tail(self, conn: ManagerConnection, task_id: str) -> None:
        await conn.follow_task_log(task_id)  # first: lines logged from now on arrive as events
        with contextlib.suppress(Exception):
            text = await conn.client.task_log_tail(task_id)
            if task_id == self.task_id and text:
                self.log.setPlainText(text.rstrip("\n"))
                self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())
        if task_id == self.task_id:
            self.log_ready = True

    def _log_appended(self, label: str, task_id: str, text: str) -> None:
        if task_id == self.task_id and self.conn is not None and label == self.conn.label:
            self.log.appendPlainText(text.rstrip("\n"))

    def _unfollow(self) -> None:
        if self.task_id and self.conn is not None:
            self.conn.unfollow_task_log(self.task_id)
        self.task_id = ""

    @asyncSlot()
    async def _show_whole_log(self) -> None:
        if not self.task_id or self.conn is None:
            return
        try:
            text = await self.conn.client.task_log(self.task_id)
        except Exception as exc:  # noqa: BLE001
            show_error(self, "Could not load the log", exc)
            return
        self.log.setPlainText(text)


def failure_causes(tasks) -> list[tuple[str, int]]:
    """Failed tasks grouped by the last line of their activity, most common first."""
    counts: Counter[str] = Counter()
    for key in tasks.keys():
        row = tasks.row(key)
        if row is not None and row.task.status in ("failed", "soft-failed"):
            lines = [ln for ln in (row.task.activity or "unknown error").splitlines() if ln.strip()]
            counts[lines[-1] if lines else "unknown error"] += 1
    return counts.most_common()


def _older(incoming, known) -> bool:
    a, b = parse_time(incoming), parse_time(known)
    return a is not None and b is not None and a < b


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _fair_share(conn: ManagerConnection) -> dict | None:
    """The Manager's fair-share report; None from a Manager without one (Flamenco's, an older Tablao)."""
    try:
        return (await conn.client.fair_share()).to_json()
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - the explanation is a nicety
        return None

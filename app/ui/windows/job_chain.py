"""The job detail's chain: the jobs a job waits for and the jobs that wait for it, with their statuses.

A label under the job's facts, drawn from the Manager's `GET /api/v3/tablao/jobs/{id}/chain`; hidden
for a job that neither waits nor is waited for. It reloads when an event tells of a change to the job
or to a job in its chain (a dependency that completes, fails or is requeued).
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.api.jobs import JobChain, JobLink
from app.ui.aio import spawn
from app.ui.connection import ManagerConnection
from app.ui.dashboard import Dashboard
from app.ui.models.job_row import JobDelta

_log = logging.getLogger(__name__)


def chain_text(chain: JobChain | None) -> str:
    """The chain in words, one line each way; "" when the job is in no chain."""
    if chain is None:
        return ""
    lines = []
    if chain.depends_on:
        on_failure = "fails if one fails" if chain.on_dependency_failure == "fail" else "waits if one fails"
        lines.append(f"Waits for: {_links(chain.depends_on)} ({on_failure})")
    if chain.dependants:
        lines.append(f"Waited for by: {_links(chain.dependants)}")
    return "\n".join(lines)


def _links(links: list[JobLink]) -> str:
    return ", ".join(f"'{link.name}' ({link.status})" for link in links)


class JobChainLabel(QLabel):
    """What the shown job waits for and what waits for it; `load` it for a job, `clear` for none."""

    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.setObjectName("jobChain")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()
        self.chain: JobChain | None = None
        self._conn: ManagerConnection | None = None
        self._job_id = ""
        self._load: asyncio.Task | None = None
        dashboard.job_events.connect(self._jobs_changed)

    def show_job(self, conn: ManagerConnection | None, job_id: str) -> None:
        """Show the chain of `job_id` on `conn` (none: hide)."""
        self._conn, self._job_id, self.chain = conn, job_id, None
        self._draw()
        self._reload()

    def _reload(self) -> None:
        if self._load is not None:
            self._load.cancel()
        if self._conn is not None and self._job_id:
            self._load = spawn(self._fetch(self._conn, self._job_id))

    async def _fetch(self, conn: ManagerConnection, job_id: str) -> None:
        try:
            chain = await conn.client.job_chain(job_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a Manager without chains (Flamenco) shows none
            _log.info("no chain for job %s: %s", job_id, exc)
            chain = None
        if job_id == self._job_id and conn is self._conn:
            self.chain = chain
            self._draw()

    def _draw(self) -> None:
        text = chain_text(self.chain)
        self.setText(text)
        self.setVisible(bool(text))

    def _jobs_changed(self, deltas: list[JobDelta]) -> None:
        if self._conn is None or not self._job_id:
            return
        linked = {self._job_id}
        if self.chain is not None:
            linked |= {link.id for link in (*self.chain.depends_on, *self.chain.dependants)}
        if any(d.update.id in linked and d.manager == self._conn.label for d in deltas):
            self._reload()

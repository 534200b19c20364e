"""The submit dialog's "After job" choice: start the new job only once another job has completed.

A list of the chosen Manager's jobs that have not finished (newest first, from the dashboard's job
model), with "(as soon as possible)" first, and whether the new job fails or keeps waiting when the
chosen one fails or is canceled. It gives what `app.submit.SubmitRequest` takes: `after` (the job's
id) and `on_dependency_failure`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QWidget

from app.api.jobs import Job
from app.ui.dashboard import Dashboard

NO_JOB = "(as soon as possible)"
_FINISHED = ("completed", "canceled", "failed")


def unfinished_jobs(jobs: list[Job]) -> list[Job]:
    """The jobs a new job could wait for: not finished, not being deleted, newest first."""
    jobs = [j for j in jobs if j.status not in _FINISHED and not j.delete_requested_at]
    return sorted(jobs, key=lambda j: j.created or "", reverse=True)


class AfterJobPicker(QWidget):
    """A job to wait for (or none) and what to do if it fails."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setObjectName("afterJob")
        self.combo.setToolTip("Render this job only once the chosen job has completed (for example a "
                              "compositing job after its render jobs)")
        self.fail_too = QCheckBox("fail if it fails")
        self.fail_too.setObjectName("afterJobFails")
        self.fail_too.setToolTip("When the chosen job fails or is canceled, fail this one too; otherwise it "
                                 "waits until that job is requeued and completes")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.fail_too)
        self.combo.currentIndexChanged.connect(lambda _i: self.fail_too.setEnabled(bool(self.combo.currentData())))
        self._dashboard: Dashboard | None = None
        self._url = ""
        self.fill(None, "")

    def fill(self, dashboard: Dashboard | None, manager_url: str, keep: str = "") -> None:
        """List the unfinished jobs of the Manager at `manager_url`, keeping the job `keep` chosen."""
        keep = keep or str(self.combo.currentData() or "")
        if dashboard is not None and self._dashboard is None:  # jobs that arrive or change later too
            for signal in (dashboard.jobs.rowsInserted, dashboard.jobs.modelReset, dashboard.jobs.dataChanged):
                signal.connect(self._refill)
        self._dashboard, self._url = dashboard, manager_url
        jobs: list[Job] = []
        conn = dashboard.connections.get(manager_url) if dashboard is not None else None
        if dashboard is not None and conn is not None:
            every = [dashboard.jobs.row(k) for k in dashboard.jobs.keys()]
            jobs = unfinished_jobs([r.job for r in every if r is not None and r.manager == conn.label])
        items = [(NO_JOB, "")] + [(f"{j.name} ({j.status})", j.id) for j in jobs]
        shown = [(self.combo.itemText(i), str(self.combo.itemData(i) or "")) for i in range(self.combo.count())]
        if items == shown or self.combo.view().isVisible():  # unchanged, or the artist is choosing
            return
        self.combo.blockSignals(True)
        self.combo.clear()
        for text, job_id in items:
            self.combo.addItem(text, job_id)
        self.combo.setCurrentIndex(max(0, self.combo.findData(keep)))
        self.combo.blockSignals(False)
        self.fail_too.setEnabled(bool(self.combo.currentData()))

    def _refill(self, *_args: Any) -> None:
        self.fill(self._dashboard, self._url)

    def choose(self, job_id: str) -> None:
        self.combo.setCurrentIndex(max(0, self.combo.findData(job_id)))

    def depends_on(self) -> list[str]:
        job_id = str(self.combo.currentData() or "")
        return [job_id] if job_id else []

    def on_failure(self) -> str | None:
        return "fail" if self.depends_on() and self.fail_too.isChecked() else None

"""Reading a job's finished task runs for its task table: each task's latest run, with its worker.

`task_runs` holds one row per report of a finished task (`workers/task_runs.py` writes them); a
requeued task has several, and its latest is what the table shows. One indexed read on
`task_runs_job`, bounded by `MAX_RUNS` rows (newest first), so a job requeued many times over costs
a bounded answer; the caller says when it was cut.
"""

from __future__ import annotations

from app.manager.persistence.models import TaskRun, Worker, tuples

MAX_RUNS = 50_000  # rows read per answer at most: a 10,000-task job requeued four times fits


def latest_runs(job_uuid: str) -> tuple[list[tuple], bool]:
    """(task uuid, outcome, worker uuid, worker name, seconds, finished_at, render_time_s, peak_memory_mb)
    for each task's latest run, oldest first; and whether rows were left unread."""
    query = (TaskRun.select(TaskRun.task_uuid, TaskRun.outcome, Worker.uuid, Worker.name, TaskRun.seconds,
                            TaskRun.finished_at, TaskRun.render_time_s, TaskRun.peak_memory_mb)
             .join(Worker, on=(TaskRun.worker == Worker.id))
             .where(TaskRun.job_uuid == job_uuid)
             .order_by(TaskRun.id.desc()).limit(MAX_RUNS + 1))
    rows = list(tuples(query))
    truncated = len(rows) > MAX_RUNS
    latest: dict[str, tuple] = {}
    for row in rows[:MAX_RUNS]:
        latest.setdefault(row[0], row)
    return list(reversed(latest.values())), truncated

"""Queries on workers' finished task runs: adding a batch, a worker's totals since a moment, pruning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import peewee as pw

from app.manager.persistence.models import TaskRun, current_db, tuples


class RunRecord(NamedTuple):
    """One task a worker reported completed or failed (what a `task_runs` row holds)."""

    worker_id: int
    task_uuid: str
    job_uuid: str
    task_type: str
    outcome: str
    frames: int
    seconds: float
    finished_at: dt.datetime
    render_time_s: float | None = None
    peak_memory_mb: float | None = None
    steps: int = 0
    job_type: str = ""
    blend_key: str = ""


class RunTotals(NamedTuple):
    completed: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0


_COLUMNS = ("worker_id, task_uuid, job_uuid, task_type, outcome, frames, seconds, finished_at, render_time_s, "
            "peak_memory_mb, steps, job_type, blend_key")


_ROWS_PER_INSERT = 500  # PostgreSQL: rows per multi-row INSERT (its parameters stay far below 65,535)


def add_runs(records: Sequence[RunRecord]) -> None:
    """Insert finished runs, in one prepared statement (a batch holds a second or two of a busy farm's
    completions: building peewee's INSERT for each row would cost more than SQLite's own work).

    On PostgreSQL in multi-row INSERTs: psycopg2's `executemany` sends one statement per row, a round
    trip each, while the claims and completions of the whole farm wait behind it on the connection."""
    if not records:
        return
    db = current_db()
    marks = "(" + ", ".join([db.param] * len(RunRecord._fields)) + ")"
    if isinstance(db, pw.SqliteDatabase):
        db.cursor().executemany(f"INSERT INTO task_runs ({_COLUMNS}) VALUES {marks}", records)
        return
    for start in range(0, len(records), _ROWS_PER_INSERT):
        chunk = records[start:start + _ROWS_PER_INSERT]
        db.execute_sql(f"INSERT INTO task_runs ({_COLUMNS}) VALUES {', '.join([marks] * len(chunk))}",
                       [value for record in chunk for value in record])


def totals_since(worker_id: int, since: dt.datetime) -> RunTotals:
    """The worker's runs that finished at or after `since` (naive UTC)."""
    rows = (TaskRun.select(TaskRun.outcome, pw.fn.COUNT(TaskRun.id), pw.fn.SUM(TaskRun.frames),
                           pw.fn.SUM(TaskRun.seconds))
            .where((TaskRun.worker == worker_id) & (TaskRun.finished_at >= since))
            .group_by(TaskRun.outcome))
    by_outcome = {outcome: (count, frames or 0, seconds or 0.0)
                  for outcome, count, frames, seconds in tuples(rows)}
    done, failed = by_outcome.get("completed", (0, 0, 0.0)), by_outcome.get("failed", (0, 0, 0.0))
    return RunTotals(done[0], failed[0], int(done[1]), float(done[2]) + float(failed[2]))


def prune(before: dt.datetime) -> int:
    """Forget runs that finished before `before`; returns how many."""
    return TaskRun.delete().where(TaskRun.finished_at < before).execute()

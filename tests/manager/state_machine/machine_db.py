"""A real SQLite store (migrations applied) holding one job, driven through the status machine.

`MachineDb` makes a job whose tasks start in the statuses a test names, runs status-machine
functions on the store thread with a fresh `Effects`, and reads back statuses, `deps_left`, events
and log lines. Nothing here starts a Manager or speaks HTTP: these are the machine's unit tests.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from app.api import events as ev
from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.manager.persistence import jobs, tasks, workers
from app.manager.persistence.db import Store
from app.manager.persistence.jobs import NewJob, NewTask
from app.manager.persistence.models import Job, Task, TaskDependency, Worker
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.failures import FailurePolicy, task_failed_by_worker
from app.manager.state_machine.tasks import change_job_status, change_task_status, requeue_task_and_dependents

NOW = dt.datetime(2026, 3, 1, 12, 0, 0)
STAMP = "2026-03-01T12:00:00Z"  # NOW as events carry it


class MachineDb:
    def __init__(self, store: Store):
        self.store = store
        self.job_uuid = ""
        self.uuids: dict[str, str] = {}  # task name → uuid

    # -- setting up -------------------------------------------------------------------------------

    def make_job(self, statuses: dict[str, T], job_status: J = J.ACTIVE,
                 deps: dict[str, str] | None = None, steps: int = 1, worker: Worker | None = None) -> None:
        """A job whose tasks (named, in job order) have `statuses`; `deps` maps a task to the names it
        waits for ("c": "ab"); its active tasks run on `worker`. Statuses are written directly, then
        `deps_left` is counted afresh."""
        deps = deps or {}
        self.uuids = {name: str(uuid.uuid4()) for name in statuses}
        new_tasks = [NewTask(self.uuids[name], name, "misc", i, 50, [{"name": "echo", "parameters": {}}], steps,
                             [self.uuids[d] for d in deps.get(name, "")])
                     for i, name in enumerate(statuses)]
        self.job_uuid = str(uuid.uuid4())
        new = NewJob(self.job_uuid, "job", "echo-sleep-test", 50, J.QUEUED.value, {}, {}, "linux", "", "", None,
                     NOW - dt.timedelta(hours=1), new_tasks)

        def store() -> None:
            job = jobs.store_new_job(new)
            done = 0
            for name, status in statuses.items():
                finished = steps if status == T.COMPLETED else 0
                done += finished
                running = worker.id if worker is not None and status == T.ACTIVE else None
                Task.update(status=status.value, steps_completed=finished, worker=running,
                            last_touched_at=NOW if running else None).where(Task.uuid == self.uuids[name]).execute()
            tasks.recount_deps_left(job.id)
            jobs.update_job(job.id, status=job_status.value, steps_completed=done)

        self.store.call_sync(store)

    def make_worker(self, name: str, task_types: str = "misc") -> Worker:
        return self.store.call_sync(workers.create_worker, uuid=str(uuid.uuid4()), secret_hash="x", name=name,
                                    supported_task_types=task_types, status="awake", created_at=NOW,
                                    updated_at=NOW)

    def add_failures(self, names: str, worker: Worker) -> None:
        """Record that `worker` failed each named task before (its `task_failures` rows)."""
        self.store.call_sync(lambda: [tasks.add_failure(tasks.fetch_task(self.uuids[n]).id, worker.id, NOW)
                                      for n in names])

    # -- running the machine ----------------------------------------------------------------------

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Effects:
        """Run `fn(fx, now, *args)` in one store transaction, as `StatusMachine.run` does."""
        fx = Effects()
        self.store.call_sync(fn, fx, NOW, *args, **kwargs)
        return fx

    def on_task(self, name: str, fn: Callable[..., Any]) -> Effects:
        """Run `fn(fx, task, job, now)` on the named task, freshly read."""
        def call(fx: Effects, now: dt.datetime) -> None:
            task = tasks.fetch_task(self.uuids[name])
            fn(fx, task, task.job, now)
        return self.run(call)

    def set_status(self, name: str, new: T, **kwargs: Any) -> Effects:
        """`change_task_status` of the named task (activity, reason, worker as keywords)."""
        return self.on_task(name, lambda fx, task, job, now: change_task_status(fx, task, job, new, now, **kwargs))

    def fail(self, name: str, worker: Worker, policy: FailurePolicy, activity: str = "failed") -> Effects:
        """`worker` reports the named task failed (or it timed out on that worker)."""
        return self.on_task(name, lambda fx, task, job, now: task_failed_by_worker(
            fx, task, job, worker, now, activity, policy))

    def requeue(self, name: str, reason: str) -> Effects:
        """A user requeues the named task."""
        return self.on_task(name, lambda fx, task, job, now: requeue_task_and_dependents(fx, task, job, now, reason))

    def set_job_status(self, new: J, reason: str = "requested by a user", from_api: bool = True) -> Effects:
        """`change_job_status` of the job, as a user's request makes it (`from_api`)."""
        return self.run(lambda fx, now: change_job_status(fx, jobs.fetch_job(self.job_uuid), new, now, reason,
                                                          from_api=from_api))

    # -- reading back -----------------------------------------------------------------------------

    def statuses(self) -> dict[str, str]:
        return self.store.call_sync(lambda: {t.name: t.status for t in self._tasks()})

    def job(self) -> Job:
        return self.store.call_sync(jobs.fetch_job, self.job_uuid)

    def task(self, name: str) -> Task:
        return self.store.call_sync(tasks.fetch_task, self.uuids[name])

    def deps_left(self) -> dict[str, int]:
        """Each task's stored `deps_left`, after checking it against a count from the dependency rows."""
        def read() -> tuple[dict[str, int], dict[str, int]]:
            found = {t.name: t.status for t in self._tasks()}
            by_id = {t.id: t.name for t in self._tasks()}
            counted = dict.fromkeys(found, 0)
            for task_id, dep_id in TaskDependency.select(TaskDependency.task, TaskDependency.dependency).tuples():
                if task_id in by_id and found[by_id[dep_id]] != T.COMPLETED:
                    counted[by_id[task_id]] += 1
            return {t.name: t.deps_left for t in self._tasks()}, counted
        stored, counted = self.store.call_sync(read)
        assert stored == counted, f"deps_left {stored} differs from the dependency rows' count {counted}"
        return stored

    def _tasks(self) -> list[Task]:
        return list(Task.select().join(Job).where(Job.uuid == self.job_uuid).order_by(Task.index_in_job))

    def name_of(self, task_uuid: str) -> str:
        return next(name for name, u in self.uuids.items() if u == task_uuid)

    def log(self, fx: Effects) -> list[tuple[str, str]]:
        """(task name, line) of each task-log line, all of this job."""
        assert all(job_uuid == self.job_uuid for job_uuid, _, _ in fx.log_lines)
        return [(self.name_of(task_uuid), line) for _, task_uuid, line in fx.log_lines]


def task_events(fx: Effects) -> list[dict[str, Any]]:
    return [data for name, data in fx.events if name == ev.TASK_DID_CHANGE]


def job_events(fx: Effects) -> list[dict[str, Any]]:
    return [data for name, data in fx.events if name == ev.JOB_DID_CHANGE]


def job_moves(fx: Effects) -> list[tuple[str | None, str, bool]]:
    """(previous status, status, refresh_tasks) of each job event, in order."""
    return [(e.get("previous_status"), e["status"], e["refresh_tasks"]) for e in job_events(fx)]


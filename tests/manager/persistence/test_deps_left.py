"""`tasks.deps_left`: each task's count of unfinished dependencies, which keeps waiting tasks out of
the scheduler's index. Real SQLite files; the status changes go through the state machine."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

from playhouse.migrations import Runner

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.manager.persistence import jobs, scheduler_queries, workers
from app.manager.persistence.db import MIGRATIONS_DIR, Store, migrate
from app.manager.persistence.jobs import NewJob, NewTask
from app.manager.persistence.models import Task
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.tasks import change_job_status, change_task_status, requeue_task_and_dependents

NOW = dt.datetime(2026, 1, 1)


def _chain_job() -> NewJob:
    """a; b after a; c after a and b; d on its own."""
    ids = [str(uuid.uuid4()) for _ in range(4)]
    deps = [[], [ids[0]], [ids[0], ids[1]], []]
    new_tasks = [NewTask(ids[i], name, "misc", i + 1, 50, [{"name": "echo", "parameters": {}}], 1, deps[i])
                 for i, name in enumerate("abcd")]
    return NewJob(str(uuid.uuid4()), "chain", "echo-sleep-test", 50, "queued", {}, {}, "linux", "", "", None,
                  NOW, new_tasks)


def _deps_left() -> dict[str, int]:
    return {t.name: t.deps_left for t in Task.select(Task.name, Task.deps_left)}


def _task(name: str) -> Task:
    return Task.get(Task.name == name)


def _set(name: str, status: T) -> None:
    task = _task(name)
    change_task_status(Effects(), task, task.job, status, NOW)


def test_counts_follow_completions_requeues_and_job_requeue(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'deps.sqlite'}")
    store.open_sync()
    try:
        job = store.call_sync(jobs.store_new_job, _chain_job())
        assert store.call_sync(_deps_left) == {"a": 0, "b": 1, "c": 2, "d": 0}
        worker = store.call_sync(workers.create_worker, uuid=str(uuid.uuid4()), secret_hash="x", name="w",
                                 supported_task_types="misc", status="awake", created_at=NOW, updated_at=NOW)

        def runnable() -> set[str]:
            found = set()
            for name in "abcd":
                task = _task(name)
                if task.status in ("queued", "soft-failed") and task.deps_left == 0:
                    found.add(name)
            return found
        assert store.call_sync(runnable) == {"a", "d"}

        store.call_sync(_set, "a", T.ACTIVE)
        store.call_sync(_set, "a", T.COMPLETED)
        assert store.call_sync(_deps_left) == {"a": 0, "b": 0, "c": 1, "d": 0}
        # The scheduler now finds b (in job order, after the completed a).
        assert store.call_sync(scheduler_queries.find_runnable_task, worker.id, ["misc"]) == store.call_sync(
            lambda: _task("b").id)

        # Requeueing a completed task puts its dependents back to waiting for it.
        store.call_sync(lambda: requeue_task_and_dependents(Effects(), _task("a"), _task("a").job, NOW, "test"))
        assert store.call_sync(_deps_left) == {"a": 0, "b": 1, "c": 2, "d": 0}

        # Complete everything, then requeue the whole job: the counts are taken afresh.
        for name in "abcd":
            store.call_sync(_set, name, T.ACTIVE)
            store.call_sync(_set, name, T.COMPLETED)
        assert store.call_sync(_deps_left) == {"a": 0, "b": 0, "c": 0, "d": 0}
        assert store.call_sync(lambda: jobs.fetch_job(job.uuid).status) == J.COMPLETED.value
        store.call_sync(lambda: change_job_status(Effects(), jobs.fetch_job(job.uuid), J.REQUEUEING, NOW, "again"))
        assert store.call_sync(_deps_left) == {"a": 0, "b": 1, "c": 2, "d": 0}
        assert store.call_sync(runnable) == {"a", "d"}
    finally:
        store.close_sync()


def test_a_waiting_task_is_never_handed_out(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'deps.sqlite'}")
    store.open_sync()
    try:
        store.call_sync(jobs.store_new_job, _chain_job())
        handed = []
        for i in range(4):
            worker = store.call_sync(workers.create_worker, uuid=str(uuid.uuid4()), secret_hash="x", name=f"w{i}",
                                     supported_task_types="misc", status="awake", created_at=NOW, updated_at=NOW)
            found = store.call_sync(scheduler_queries.find_runnable_task, worker.id, ["misc"])
            if found is not None:
                store.call_sync(lambda task_id: _set(Task.get_by_id(task_id).name, T.ACTIVE), found)
                handed.append(store.call_sync(lambda task_id: Task.get_by_id(task_id).name, found))
        assert handed == ["a", "d"]  # b and c wait for a
    finally:
        store.close_sync()


def test_migration_counts_the_dependencies_of_an_existing_database(tmp_path):
    """A database made before `deps_left` existed gets its counts from the tasks' real statuses."""
    path = tmp_path / "old.sqlite"
    store = Store(f"sqlite:///{path}")
    Runner(store.db, str(MIGRATIONS_DIR)).up(target="0001_initial")
    db = store.db
    db.execute_sql("INSERT INTO jobs (uuid, name, job_type, priority, status, activity, settings, metadata, "
                   "submitter_platform, type_etag, storage_shaman_checkout_id, steps_completed, steps_total, "
                   "created_at, updated_at) VALUES ('j', 'old', 't', 50, 'active', '', '{}', '{}', 'linux', '', '', "
                   "0, 3, '2026-01-01', '2026-01-01')")
    for i, (name, status) in enumerate([("a", "completed"), ("b", "queued"), ("c", "queued")]):
        db.execute_sql("INSERT INTO tasks (uuid, job_id, name, type, index_in_job, priority, job_priority, status, "
                       "commands, activity, steps_completed, steps_total, created_at, updated_at) VALUES "
                       f"('{name}', 1, '{name}', 'misc', {i}, 50, 50, '{status}', '[]', '', 0, 1, "
                       "'2026-01-01', '2026-01-01')")
    # b after a (completed), c after a and b (b not completed).
    db.execute_sql("INSERT INTO task_dependencies (task_id, dependency_id) VALUES (2, 1), (3, 1), (3, 2)")
    migrate(db)
    assert dict(db.execute_sql("SELECT name, deps_left FROM tasks").fetchall()) == {"a": 0, "b": 0, "c": 1}
    db.close()
    with sqlite3.connect(path) as raw:
        sql = raw.execute("SELECT sql FROM sqlite_master WHERE name = 'tasks_runnable'").fetchone()[0]
    assert "deps_left = 0" in sql

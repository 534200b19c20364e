"""The store on real SQLite files: migrations, pragmas, and the scheduler's index."""

from __future__ import annotations

import datetime as dt
import uuid

from app.manager.persistence import jobs, scheduler_queries, workers
from app.manager.persistence.db import Store
from app.manager.persistence.jobs import NewJob, NewTask
from app.manager.persistence.requirements import NEEDS_MET


def open_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'test.sqlite'}")
    store.open_sync()
    return store


def _job(n_tasks: int, priority: int = 50) -> NewJob:
    now = dt.datetime(2026, 1, 1)
    tasks = [NewTask(str(uuid.uuid4()), f"t{i}", "misc", i + 1, 50, [{"name": "echo", "parameters": {}}], 1)
             for i in range(n_tasks)]
    return NewJob(str(uuid.uuid4()), "j", "echo-sleep-test", priority, "queued", {}, {}, "linux", "", "", None,
                  now, tasks)


def test_migrations_recorded_and_pragmas_set(tmp_path):
    store = open_store(tmp_path)
    try:
        names = store.call_sync(lambda: [r[0] for r in store.db.execute_sql(
            "SELECT name FROM schema_migration").fetchall()])
        assert names == ["0001_initial", "0002_tasks_waiting_on", "0003_jobs_credentialed", "0004_task_runs",
                         "0005_job_dependencies", "0006_scene_requirements", "0007_task_run_stats",
                         "0008_tasks_hand_out_rank", "0009_hub_sites_and_links",
                         "0012_schedfill_job_submitters"]
        assert store.call_sync(lambda: store.db.execute_sql("PRAGMA journal_mode").fetchone()[0]) == "wal"
        assert store.call_sync(lambda: store.db.execute_sql("PRAGMA foreign_keys").fetchone()[0]) == 1
    finally:
        store.close_sync()
    again = open_store(tmp_path)  # re-opening applies nothing twice
    again.close_sync()


def test_scheduler_query_uses_the_partial_index(tmp_path):
    store = open_store(tmp_path)
    try:
        plan = store.call_sync(lambda: store.db.execute_sql(
            "EXPLAIN QUERY PLAN " + scheduler_queries._SQL.format(types="?", p="?", hint="INDEXED BY tasks_runnable",
                                                                  needs=NEEDS_MET.format(p="?")),
            ["misc", 1, 1, 1, 1, 1, 1]).fetchall())
        text = " ".join(str(row[-1]) for row in plan)
        assert "tasks_runnable" in text and "TEMP B-TREE" not in text, text
    finally:
        store.close_sync()


def test_runnable_task_respects_task_types(tmp_path):
    store = open_store(tmp_path)
    try:
        now = dt.datetime(2026, 1, 1)
        store.call_sync(jobs.store_new_job, _job(3))
        worker = store.call_sync(workers.create_worker, uuid=str(uuid.uuid4()), secret_hash="x", name="w",
                                 supported_task_types="misc", status="awake", created_at=now, updated_at=now)
        first = store.call_sync(scheduler_queries.find_runnable_task, worker.id, ["misc"])
        assert first is not None
        assert store.call_sync(scheduler_queries.find_runnable_task, worker.id, ["blender"]) is None
    finally:
        store.close_sync()


def test_deleting_a_job_cascades_to_tasks(tmp_path):
    store = open_store(tmp_path)
    try:
        job = store.call_sync(jobs.store_new_job, _job(5))
        assert store.call_sync(jobs.delete_job, job.uuid)
        from app.manager.persistence.models import Task
        assert store.call_sync(lambda: Task.select().count()) == 0
    finally:
        store.close_sync()


def test_a_waiting_store_thread_goes_before_the_next_quick_call(tmp_path):
    """Quick calls on the loop come back to back on a busy farm; they must not starve the thread.

    A quick call holds the connection while the store thread asks for it: once the quick call is
    over, the next one steps aside (NotNow.STORE_BUSY) until the thread has had its turn.
    """
    import threading

    from app.manager.persistence.db import NotNow

    store = open_store(tmp_path)
    try:
        store._lock.acquire()  # a quick call in progress on the loop
        thread_ran = threading.Event()
        release_thread = threading.Event()

        def thread_work():
            thread_ran.set()
            release_thread.wait(30)
            return "thread"

        pending = store._executor.submit(store._in_transaction, thread_work)
        assert store._thread_waiting.wait(30), "the store thread never asked for the connection"
        store._lock.release()  # the quick call ends
        assert store.try_quick(lambda: "quick") is NotNow.STORE_BUSY
        assert thread_ran.wait(30)
        assert store.try_quick(lambda: "quick") is NotNow.STORE_BUSY  # the thread holds it now
        release_thread.set()
        assert pending.result(30) == "thread"
        assert store.try_quick(lambda: "quick") == "quick"  # the thread is done: quick calls again
    finally:
        store.close_sync()


def test_a_workers_active_task_comes_back_only_while_its_job_runs(tmp_path):
    from app.manager.persistence.models import Job, Task

    store = open_store(tmp_path)
    try:
        now = dt.datetime(2026, 1, 1)
        job = store.call_sync(jobs.store_new_job, _job(3))
        worker = store.call_sync(workers.create_worker, uuid=str(uuid.uuid4()), secret_hash="x", name="w",
                                 supported_task_types="misc", status="awake", created_at=now, updated_at=now)
        assert store.call_sync(scheduler_queries.active_task_of_worker, worker.id) is None
        ids = store.call_sync(lambda: [t.id for t in Task.select().where(Task.job == job.id).order_by(Task.id)])
        for task_id in reversed(ids[1:]):  # two active tasks: the lowest id comes back
            store.call_sync(lambda t=task_id: Task.update(status="active", worker=worker.id).where(Task.id == t)
                            .execute())
        for status, expected in (("active", ids[1]), ("queued", ids[1]), ("paused", None),
                                 ("cancel-requested", None), ("active", ids[1])):
            store.call_sync(lambda s=status: Job.update(status=s).where(Job.id == job.id).execute())
            assert store.call_sync(scheduler_queries.active_task_of_worker, worker.id) == expected, status
        store.call_sync(lambda: Task.update(status="completed").where(Task.id == ids[1]).execute())
        assert store.call_sync(scheduler_queries.active_task_of_worker, worker.id) == ids[2]
    finally:
        store.close_sync()

"""Each Store owns its database: queries run on the database of the Store that runs them, and a
query outside any Store's transaction raises instead of reaching some other Manager's database.
Real SQLite files."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid

import pytest

from app.manager.persistence import jobs, models, scheduler_queries, tasks, workers
from app.manager.persistence.db import NotNow, Store
from app.manager.persistence.jobs import NewJob, NewTask
from app.manager.persistence.models import Job, OutsideStore, Task

NOW = dt.datetime(2026, 1, 1)


def _job(name: str, n_tasks: int = 3) -> NewJob:
    command = [{"name": "echo", "parameters": {}}]
    new_tasks = [NewTask(str(uuid.uuid4()), f"{name}-t{i}", "misc", i + 1, 50, command, 1)
                 for i in range(n_tasks)]
    return NewJob(str(uuid.uuid4()), name, "echo-sleep-test", 50, "queued", {}, {}, "linux", "", "", None,
                  NOW, new_tasks)


def _open(path) -> Store:
    store = Store(f"sqlite:///{path}")
    store.open_sync()
    return store


def _worker(store: Store, name: str):
    return store.call_sync(workers.create_worker, uuid=str(uuid.uuid4()), secret_hash="x", name=name,
                           supported_task_types="misc", status="awake", created_at=NOW, updated_at=NOW)


def test_a_query_outside_a_store_raises(tmp_path):
    store = _open(tmp_path / "one.sqlite")
    try:
        job = store.call_sync(jobs.store_new_job, _job("one"))
        with pytest.raises(OutsideStore, match="outside a Manager's store"):
            jobs.fetch_job(job.uuid)  # a prepared statement
        with pytest.raises(OutsideStore):
            Job.select().count()  # a peewee query
        with pytest.raises(OutsideStore):
            tasks.fetch_task_by_id(1)  # hand-written SQL
        # A model handed out of the store cannot lazily load a relation on no database.
        bare = store.call_sync(lambda: Task.select(Task.id, Task.job).first())
        with pytest.raises(OutsideStore):
            bare.job  # noqa: B018
        # Nor can anything bind the models to one database for the whole process.
        with pytest.raises(OutsideStore):
            models.database_proxy.initialize(store.db)
        assert store.call_sync(jobs.fetch_job, job.uuid).name == "one"
    finally:
        store.close_sync()


def test_two_stores_in_one_process_each_query_their_own(tmp_path):
    a, b = _open(tmp_path / "a.sqlite"), _open(tmp_path / "b.sqlite")
    try:
        job_a = a.call_sync(jobs.store_new_job, _job("a"))
        job_b = b.call_sync(jobs.store_new_job, _job("b", n_tasks=5))
        worker_a, worker_b = _worker(a, "wa"), _worker(b, "wb")
        # The same prepared statements, compiled once, alternately on each store.
        for _ in range(3):
            assert a.call_sync(jobs.fetch_job, job_a.uuid).name == "a"
            assert b.call_sync(jobs.fetch_job, job_b.uuid).name == "b"
            with pytest.raises(jobs.NotFound):
                a.call_sync(jobs.fetch_job, job_b.uuid)
            with pytest.raises(jobs.NotFound):
                b.call_sync(jobs.fetch_job, job_a.uuid)
        assert a.call_sync(jobs.count_tasks, job_a.id) == 3 and b.call_sync(jobs.count_tasks, job_b.id) == 5
        task_a = a.call_sync(scheduler_queries.find_runnable_task, worker_a.id, ["misc"])
        task_b = b.call_sync(scheduler_queries.find_runnable_task, worker_b.id, ["misc"])
        assert a.call_sync(tasks.fetch_task_by_id, task_a).job.name == "a"
        assert b.call_sync(tasks.fetch_task_by_id, task_b).job.name == "b"
        assert [w.name for w in a.call_sync(workers.list_workers)] == ["wa"]
        assert [w.name for w in b.call_sync(workers.list_workers)] == ["wb"]
    finally:
        a.close_sync()
        b.close_sync()


def test_a_store_keeps_its_database_while_others_open_migrate_and_close(tmp_path):
    """Store A's thread and quick calls on a loop query on and on while other stores come and go."""
    a = _open(tmp_path / "a.sqlite")
    job_a = a.call_sync(jobs.store_new_job, _job("a"))
    stop = threading.Event()
    problems: list[BaseException] = []
    rounds = [0, 0]

    def on_the_thread() -> None:
        while not stop.is_set():
            try:
                listed, total = a.call_sync(jobs.list_jobs)
                assert [j.name for j in listed] == ["a"] and total == 1
                rounds[0] += 1
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                problems.append(exc)
                return

    async def on_the_loop() -> None:
        while not stop.is_set():
            result = a.try_quick(jobs.fetch_job, job_a.uuid)
            if result is not NotNow.STORE_BUSY and result is not NotNow.USE_THREAD:
                assert result.name == "a"
                rounds[1] += 1
            await asyncio.sleep(0)

    def others() -> None:
        try:
            for i in range(4):  # fresh databases: integrity check and every migration, then a job
                other = _open(tmp_path / f"other-{i}.sqlite")
                other.call_sync(jobs.store_new_job, _job(f"other-{i}"))
                assert [j.name for j in other.call_sync(jobs.list_jobs)[0]] == [f"other-{i}"]
                other.close_sync()
        finally:
            stop.set()

    async def main() -> None:
        loop_calls = asyncio.create_task(on_the_loop())
        await asyncio.to_thread(others)
        await loop_calls

    thread = threading.Thread(target=on_the_thread)
    thread.start()
    try:
        asyncio.run(main())
    finally:
        stop.set()
        thread.join(30)
        a.close_sync()
    assert problems == []
    assert rounds[0] > 0 and rounds[1] > 0

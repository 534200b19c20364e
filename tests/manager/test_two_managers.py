"""Two Managers in one process (the hub, tests with two farms): each works on its own database only.

Real Managers on real 127.0.0.1 ports, driven over HTTP by scripted workers. The first Manager serves
claims and task updates (the quick path on its event loop, its background loops on its store thread)
while the second one starts (integrity check, migrations of a fresh database), serves its own farm,
stops and starts again; afterwards each Manager holds exactly the jobs, workers and completed tasks
its own clients made.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.manager.persistence.models import Job, Task, Worker
from tests.conftest import RunningManager, echo_job, make_config
from tests.http_worker import HttpWorker

WORKERS = 4


class Farm:
    """Scripted workers that claim and complete tasks of one Manager until told to stop."""

    def __init__(self, manager: RunningManager, prefix: str):
        self.manager, self.prefix = manager, prefix
        self.workers: list[HttpWorker] = []
        self.completed: set[str] = set()
        self.bad: list[tuple[str, int, object]] = []  # (what, status, body) of every unexpected answer
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> Farm:
        for i in range(WORKERS):
            worker = HttpWorker(self.manager.url, name=f"{self.prefix}-worker-{i}", task_types=["misc"])
            self.workers.append(await worker.register_and_sign_on())
        self._tasks = [asyncio.create_task(self._run(w)) for w in self.workers]
        return self

    async def _run(self, worker: HttpWorker) -> None:
        while not self.stop.is_set():
            status, task = await worker.claim()
            if status == 204:
                await asyncio.sleep(0.01)
                continue
            if status != 200:
                self.bad.append(("claim", status, task))
                await asyncio.sleep(0.05)
                continue
            status, body = await worker.complete(task["uuid"])
            if status != 204:
                self.bad.append(("complete", status, body))
            else:
                self.completed.add(task["uuid"])

    async def finish(self) -> None:
        self.stop.set()
        await asyncio.gather(*self._tasks)
        for worker in self.workers:
            await worker.close()


async def _submit(manager: RunningManager, prefix: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        body = echo_job(f"{prefix}-{i}", repeats=500, name=f"{prefix}-job-{i}")
        status, job = await manager.request("POST", "/api/v3/jobs", json=body)
        assert status == 200, job
        ids.append(job["id"])
    return ids


async def _own_rows(manager: RunningManager) -> tuple[set[str], set[str], set[str]]:
    """Job names, worker names and completed task ids, read on the Manager's own store thread."""
    def read():
        return ({j.name for j in Job.select(Job.name)}, {w.name for w in Worker.select(Worker.name)},
                {t.uuid for t in Task.select(Task.uuid).where(Task.status == "completed")})
    return await manager.services.store.call(read)


async def _until_some_completed(farm: Farm, count: int) -> None:
    async with asyncio.timeout(60):
        while len(farm.completed) < count:
            await asyncio.sleep(0.02)


@pytest.mark.slow  # two Managers under load
async def test_two_managers_under_load_each_see_only_their_own_rows(manager, tmp_path: Path):
    first = manager
    first_jobs = await _submit(first, "first", 3)
    first_farm = await Farm(first, "first").start()
    second: RunningManager | None = None
    second_farm: Farm | None = None
    try:
        try:
            await _until_some_completed(first_farm, 5)
            # The second Manager creates and migrates its database while the first one serves claims.
            second = await RunningManager(make_config(tmp_path / "second")).start()
            second_jobs = await _submit(second, "second", 2)
            second_farm = await Farm(second, "second").start()
            await _until_some_completed(second_farm, 20)
            await _until_some_completed(first_farm, len(first_farm.completed) + 20)
            await second_farm.finish()
            # Stopped and started again (its store closed and opened) while the first one still serves.
            await second.stop()
            second = await RunningManager(second.cfg).start()
            await _until_some_completed(first_farm, len(first_farm.completed) + 10)
        finally:
            await first_farm.finish()
            if second_farm is not None and not second_farm.stop.is_set():
                await second_farm.finish()
        assert first_farm.bad == [] and second_farm.bad == []
        first_rows, second_rows = await _own_rows(first), await _own_rows(second)
        assert first_rows[0] == {f"first-job-{i}" for i in range(3)}
        assert second_rows[0] == {"second-job-0", "second-job-1"}
        assert first_rows[1] == {f"first-worker-{i}" for i in range(WORKERS)}
        assert second_rows[1] == {f"second-worker-{i}" for i in range(WORKERS)}
        assert first_rows[2] == first_farm.completed
        assert second_rows[2] == second_farm.completed
        # And over the API: each Manager's jobs and their tasks, nothing of the other farm.
        for running, ids, farm in ((first, first_jobs, first_farm), (second, second_jobs, second_farm)):
            _, listed = await running.request("GET", "/api/v3/jobs")
            assert sorted(j["id"] for j in listed["jobs"]) == sorted(ids)
            seen = set()
            for job_id in ids:
                status, body = await running.request("GET", f"/api/v3/jobs/{job_id}/tasks")
                assert status == 200, body
                seen |= {t["id"] for t in body["tasks"] if t["status"] == "completed"}
            assert seen == farm.completed
        for running, other_ids in ((first, second_jobs), (second, first_jobs)):
            status, _ = await running.request("GET", f"/api/v3/jobs/{other_ids[0]}")
            assert status == 404
    finally:
        if second is not None:
            await second.stop()

"""The farm's ETA on a real Manager, with simulated workers over HTTP whose tasks take a set time per
step: close to the real end for a uniform job, there before any task finished when the same .blend
file has history, slower for a slow worker; the render statistics a worker sends are stored, survive
a restart, and bad ones are refused in words.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from app.manager.persistence.models import TaskRun
from tests.conftest import echo_job
from tests.e2e.farm import blender_job
from tests.http_worker import HttpWorker

ETAS = "/api/v3/tablao/jobs/eta"


class SimWorker:
    """Claims and finishes tasks; each takes `per_step` seconds for each of its steps."""

    def __init__(self, http: HttpWorker, per_step: float, stats: dict | None = None) -> None:
        self.http, self.per_step, self.stats = http, per_step, stats or {}
        self.done = 0
        self.last_done_at = 0.0

    async def run_until(self, finished: asyncio.Event) -> None:
        while not finished.is_set():
            status, task = await self.http.claim(wait=0.3)
            if status != 200:
                continue
            await asyncio.sleep(self.per_step * max(1, task.get("steps_total") or 1))
            status, body = await self.http.update(task["uuid"], taskStatus="completed", activity="Completed",
                                                  **self.stats)
            assert status == 204, body
            self.done += 1
            self.last_done_at = time.monotonic()


async def job_status(manager, job_id: str) -> str:
    status, job = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    assert status == 200, job
    return job["status"]


async def run_job(manager, job_id: str, workers: list[SimWorker], until_done: int | None = None):
    """Run the job with `workers` to its end; returns the ETA answer read once `until_done` tasks were
    done (None without), the moment it was read, and the moment the last task was reported."""
    finished = asyncio.Event()
    runs = [asyncio.create_task(w.run_until(finished)) for w in workers]
    read, asked_at = None, 0.0
    try:
        while True:
            if until_done is not None and read is None and sum(w.done for w in workers) >= until_done:
                status, read = await manager.request("GET", ETAS)
                assert status == 200, read
                asked_at = time.monotonic()
            if await job_status(manager, job_id) == "completed":
                break
            await asyncio.sleep(0.02)
    finally:
        finished.set()
        await asyncio.gather(*runs)
    return read, asked_at, max(w.last_done_at for w in workers)


async def submit(manager, job: dict) -> str:
    status, body = await manager.request("POST", "/api/v3/jobs", json=job)
    assert status == 200, body
    return body["id"]


async def workers_of(manager, *names: str) -> list[HttpWorker]:
    return [await HttpWorker(manager.url, name).register_and_sign_on() for name in names]


@pytest.mark.slow
async def test_the_eta_after_10_of_40_uniform_tasks_is_within_a_quarter_of_the_real_end(manager):
    job_id = await submit(manager, echo_job(repeats=39))  # an echo, then 39 sleeps: 40 tasks of one step
    https = await workers_of(manager, "sim-1", "sim-2")
    try:
        answer, asked_at, ended_at = await run_job(manager, job_id, [SimWorker(h, 0.25) for h in https],
                                                   until_done=10)
    finally:
        for h in https:
            await h.close()
    eta = answer["jobs"][job_id]
    assert eta["source"] == "job" and eta["basis"] >= 10
    assert {w["name"] for w in eta["workers"]} == {"sim-1", "sim-2"}
    assert eta["low"] <= eta["at"] <= eta["high"]
    took = ended_at - asked_at
    print(f"ETA {eta['seconds']:.2f} s after 10 of 40 tasks; the job took {took:.2f} s more")
    assert abs(eta["seconds"] - took) <= 0.25 * took

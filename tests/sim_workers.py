"""Simulated workers over real HTTP whose tasks take a set time per step, for the ETA's tests (the
Manager's, the dashboard's, `farm status`'s and the status page's): they claim, wait, and report the
task completed, as a real worker would, with optional render statistics."""

from __future__ import annotations

import asyncio
import time

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
            await asyncio.sleep(0.05)
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

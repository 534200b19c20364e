"""A chain of jobs on a real farm: a Manager and two `tablao worker` processes run A, then B, then C.

Two workers could run all three at once; B and C wait, `queued` and saying for which job, until the
job before them completed, and then run without anyone touching them.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import echo_job
from tests.e2e.farm import wait_awake, wait_job

pytestmark = pytest.mark.slow


async def _get(manager, path: str) -> dict:
    status, body = await manager.request("GET", path)
    assert status == 200, body
    return body


async def test_two_workers_run_a_chain_in_order(farm):
    start_manager, start_workers, _ = farm
    manager = await start_manager()
    ids: list[str] = []
    for name in ("render A", "encode B", "upload C"):
        job = echo_job(name=name, repeats=2)
        job["settings"]["sleep_duration_seconds"] = 1
        if ids:
            job["depends_on"] = [ids[-1]]
        status, stored = await manager.request("POST", "/api/v3/jobs", json=job)
        assert status == 200, stored
        ids.append(stored["id"])
    workers = start_workers(2)
    await wait_awake(manager, 2)

    seen_waiting = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for before, after in zip(ids, ids[1:], strict=False):
            # The dependant's tasks first, then the job it waits for: a task seen started was handed out
            # before that status was read, so "started while not completed" is never a race of the reads.
            started = [t for t in (await _get(manager, f"/api/v3/jobs/{after}/tasks"))["tasks"]
                       if t["status"] != "queued"]
            waiting = await _get(manager, f"/api/v3/jobs/{after}")
            waited_for = await _get(manager, f"/api/v3/jobs/{before}")
            if waited_for["status"] != "completed":
                assert not started, f"{waiting['name']} started before {waited_for['name']} completed"
                assert waiting["activity"] == f"Waiting for '{waited_for['name']}'"
                seen_waiting.add(after)
        if (await _get(manager, f"/api/v3/jobs/{ids[-1]}"))["status"] == "completed":
            break
        await asyncio.sleep(0.2)
    assert await wait_job(manager, ids[-1], {"completed"}, 5, workers) == "completed"
    assert seen_waiting == set(ids[1:])

"""What a Manager has going on before it stops, and the drain behind "stop after current tasks":
no new task is handed out, the running one still reports, and the drain ends when it is done."""

from __future__ import annotations

import asyncio

from app.manager.scheduling.activity import FarmActivity, drain, farm_activity
from tests.conftest import echo_job
from tests.http_worker import HttpWorker


async def test_the_drain_hands_out_nothing_new_and_ends_when_the_running_task_is_done(manager):
    services = manager.services
    assert await farm_activity(services) == FarmActivity()
    busy = await HttpWorker(manager.url, name="busy").register_and_sign_on()
    idle = await HttpWorker(manager.url, name="idle").register_and_sign_on()
    try:
        await manager.request("POST", "/api/v3/jobs", json=echo_job("first"))
        await manager.request("POST", "/api/v3/jobs", json=echo_job("second"))
        status, task = await busy.claim()
        assert status == 200
        seen = await farm_activity(services)
        assert seen.workers == ("busy", "idle") and seen.tasks_active == 1
        assert seen.jobs_active == 1 and seen.jobs_queued == 1

        counts: list[int] = []
        draining = asyncio.ensure_future(drain(services, poll_s=0.05, progress=counts.append))
        await asyncio.sleep(0.3)
        assert not draining.done() and counts[-1] == 1
        status, _ = await idle.claim(wait=0.5)
        assert status == 204, "no new task while draining, though the second job has queued ones"
        status, _ = await busy.update(task["uuid"], steps_completed=1)
        assert status == 204, "the running task still reports"
        assert (await busy.complete(task["uuid"]))[0] == 204
        await asyncio.wait_for(draining, 5)
        assert counts[-1] == 0
        assert (await farm_activity(services)).tasks_active == 0
    finally:
        await busy.close()
        await idle.close()

"""Idle re-polls skip the scheduler query while nothing changed, and never miss work that appears.

A real Manager on a real port; workers speak HTTP and long-poll with a short wait, so they come back
empty-handed many times. Counted (the scheduler query module's counter), not timed.
"""

from __future__ import annotations

import asyncio

from app.manager.persistence import scheduler_queries
from tests.http_worker import HttpWorker

WORKERS = 6
GUARD_S = 30  # a hang guard, not a measurement


async def _claims() -> int:
    return scheduler_queries.QUERIES["claim"]


async def test_idle_repolls_skip_the_query_and_work_still_reaches_every_worker(manager_factory):
    manager = await manager_factory(worker_timeout=600.0, task_timeout=600.0)
    queue = manager.services.waiters.work
    workers = [await HttpWorker(manager.url, name=f"w{i}").register_and_sign_on() for i in range(WORKERS)]
    try:
        # Everyone asks once (a full claim each) and again several times with nothing new.
        before = await _claims()
        for _ in range(4):
            answers = await asyncio.gather(*(w.claim(wait=0.3) for w in workers))
            assert all(status == 204 for status, _ in answers), answers
        assert await _claims() - before == WORKERS  # the first round only
        assert queue.skipped_claims >= 3 * WORKERS

        # Work appears: the next claims run the query and hand it out, one task each.
        body = {"name": "after idle", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 0}}
        status, job = await manager.request("POST", "/api/v3/jobs", json=body)
        assert status == 200, job
        async with asyncio.timeout(GUARD_S):
            answers = await asyncio.gather(*(w.claim(wait=5) for w in workers))
        handed = [task for status, task in answers if status == 200]
        assert len(handed) == 1 and handed[0]["job"] == job["id"]  # the echo task, to one of them

        # A worker whose tags change looks for itself again at once (no stale "nothing for you").
        idle = [w for (status, _), w in zip(answers, workers, strict=True) if status == 204][0]
        before = await _claims()
        status, tag = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "red"})
        assert status == 200, tag
        status, _ = await manager.request("POST", f"/api/v3/worker-mgt/workers/{idle.uuid}/settags",
                                          json={"tag_ids": [tag["id"]]})
        assert status == 204
        status, _ = await idle.claim(wait=0.3)
        assert status == 204
        assert await _claims() - before == 1
    finally:
        for w in workers:
            await w.close()

"""Idle re-polls skip the scheduler query while nothing changed, and never miss work that appears.

A real Manager on a real port; workers speak HTTP and long-poll with a short wait, so they come back
empty-handed many times. Counted (the scheduler query module's counter), not timed.
"""

from __future__ import annotations

import asyncio

import pytest

from app.common.clock import to_rfc3339
from app.manager.persistence import scheduler_queries, workers
from tests.http_worker import HttpWorker

WORKERS = 6
GUARD_S = 30  # a hang guard, not a measurement


async def _claims() -> int:
    return scheduler_queries.QUERIES["claim"]


@pytest.mark.slow  # rounds of long polls by many workers
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
        status, tag = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "red"}, admin=True)
        assert status == 200, tag
        status, _ = await manager.request("POST", f"/api/v3/worker-mgt/workers/{idle.uuid}/settags",
                                          json={"tag_ids": [tag["id"]]}, admin=True)
        assert status == 204
        status, _ = await idle.claim(wait=0.3)
        assert status == 204
        assert await _claims() - before == 1
    finally:
        for w in workers:
            await w.close()


def _count_transactions(store) -> list[int]:
    """Counts store transactions (on the store thread, or quick calls on the loop) from now on."""
    count = [0]
    for name in ("_transaction", "_in_savepoint"):  # a quick call shares its loop turn's commit
        real = getattr(store, name)

        def counting(fn, *args, real=real, **kwargs):
            count[0] += 1
            return real(fn, *args, **kwargs)
        setattr(store, name, counting)
    return count


async def _last_seen(manager, worker: HttpWorker) -> str:
    status, body = await manager.request("GET", f"/api/v3/worker-mgt/workers/{worker.uuid}")
    assert status == 200, body
    return body["last_seen"]


async def _stored_last_seen(manager, worker: HttpWorker) -> str | None:
    """What the store holds (the API answers fresher times that still wait in memory)."""
    def read():
        return to_rfc3339(workers.fetch_worker(worker.uuid).last_seen_at)
    return await manager.services.store.call(read)


async def test_idle_repolls_touch_no_store_and_their_last_seen_is_written_in_one_batch(manager_factory):
    manager = await manager_factory(worker_timeout=600.0, task_timeout=600.0)
    last_seen = manager.services.machine.last_seen
    last_seen.flush_every_s = 3600  # only explicit flushes in this test
    workers = [await HttpWorker(manager.url, name=f"w{i}").register_and_sign_on() for i in range(3)]
    try:
        for w in workers:
            assert (await w.claim(wait=0.1))[0] == 204  # a full claim each: nothing to do
        seen_before = [await _stored_last_seen(manager, w) for w in workers]
        await asyncio.sleep(1.2)  # past the resolution of "last seen"
        transactions = _count_transactions(manager.services.store)
        for _ in range(3):
            answers = await asyncio.gather(*(w.claim(wait=0.1) for w in workers))
            assert all(status == 204 for status, _ in answers), answers
        assert transactions[0] == 0  # nine re-polls, not one store transaction
        told = [await _last_seen(manager, w) for w in workers]  # the API says the times waiting in memory
        assert all(new > old for new, old in zip(told, seen_before, strict=True)), (seen_before, told)
        assert [await _stored_last_seen(manager, w) for w in workers] == seen_before  # the store: not yet
        before_flush = transactions[0]
        await last_seen.flush()
        assert transactions[0] - before_flush == 1  # one batch for all three
        after = [await _stored_last_seen(manager, w) for w in workers]
        assert after == told, (told, after)
    finally:
        for w in workers:
            await w.close()


@pytest.mark.slow  # waits out three worker timeouts
async def test_the_timeout_check_sees_the_last_seen_of_idle_repolls(manager_factory):
    # A worker that only re-polls (answered from memory) must not time out: the check flushes first.
    manager = await manager_factory(worker_timeout=1.0, task_timeout=600.0)
    manager.services.machine.last_seen.flush_every_s = 3600
    worker = await HttpWorker(manager.url, name="idle").register_and_sign_on()
    try:
        assert (await worker.claim(wait=0.2))[0] == 204
        skipped = manager.services.waiters.work.skipped_claims
        loop = asyncio.get_running_loop()
        until = loop.time() + 3.0  # three worker timeouts, several timeout checks
        while loop.time() < until:
            status, body = await worker.claim(wait=0.2)
            assert status == 204, body
        assert manager.services.waiters.work.skipped_claims - skipped >= 5  # answered from memory
        status, body = await manager.request("GET", f"/api/v3/worker-mgt/workers/{worker.uuid}")
        assert body["status"] == "awake", body
    finally:
        await worker.close()

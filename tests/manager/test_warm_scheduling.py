"""The scheduler keeps a worker on the job it last ran when that breaks a tie (warm Blender reuse)."""

from __future__ import annotations

from tests.conftest import echo_job
from tests.http_worker import HttpWorker


async def test_equal_rank_prefers_the_workers_last_job_but_priority_wins(manager):
    w1 = await HttpWorker(manager.url, name="w1").register_and_sign_on()
    w2 = await HttpWorker(manager.url, name="w2").register_and_sign_on()
    try:
        _, old = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
        _, new = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
        _, a_echo = await w1.claim()
        assert a_echo["job"] == old["id"]
        _, b_echo = await w2.claim()  # the old job's sleeps wait for its echo
        assert b_echo["job"] == new["id"]
        await w2.complete(b_echo["uuid"])
        await w1.complete(a_echo["uuid"])

        # Both jobs now have equal-rank sleeps; each worker stays with the job it last ran.
        _, task = await w2.claim()
        assert task["job"] == new["id"], "w2 should stay on the job it last ran"
        await w2.complete(task["uuid"])
        _, task = await w1.claim()
        assert task["job"] == old["id"]
        await w1.complete(task["uuid"])

        # A job of higher priority still goes first.
        _, high = await manager.request("POST", "/api/v3/jobs", json=echo_job(priority=90, repeats=0))
        _, task = await w2.claim()
        assert task["job"] == high["id"]
        await w2.complete(task["uuid"])
        # Back on equal rank: the last job is now the high one (done), so plain order applies again.
        _, task = await w2.claim()
        assert task["job"] == old["id"]
    finally:
        await w1.close()
        await w2.close()

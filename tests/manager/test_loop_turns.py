"""LoopTurns: quick store calls beyond PER_TURN per loop iteration wait in line (unit tests)."""

from __future__ import annotations

import asyncio

import pytest

from app.manager.runtime.loop_turns import LoopTurns


async def test_calls_beyond_the_turn_wait_in_order_and_others_get_the_loop_in_between():
    turns = LoopTurns(per_turn=4)
    ran: list[str] = []

    async def call(i: int) -> None:
        await turns.turn()
        ran.append(f"c{i}")

    tasks = [asyncio.create_task(call(i)) for i in range(20)]
    # Something else that needs the loop, scheduled now (as a thread's result would be).
    asyncio.get_running_loop().call_soon(lambda: ran.append("other"))
    await asyncio.gather(*tasks)
    calls = [r for r in ran if r != "other"]
    assert calls == [f"c{i}" for i in range(20)]  # first come, first served
    assert ran.index("other") <= 2 * 4  # it waited for a turn or two of calls, not for all 20
    assert turns.queued == 16 and turns.waiting == 0


async def test_a_quiet_loop_lets_calls_through_at_once():
    turns = LoopTurns(per_turn=4)
    for _ in range(10):
        await turns.turn()  # one at a time: never more than one per iteration
        await asyncio.sleep(0)
    assert turns.queued == 0


async def test_a_cancelled_waiter_takes_no_place():
    turns = LoopTurns(per_turn=1)
    order: list[int] = []

    async def call(i: int) -> None:
        await turns.turn()
        order.append(i)

    first = asyncio.create_task(call(0))
    second = asyncio.create_task(call(1))
    third = asyncio.create_task(call(2))
    await asyncio.sleep(0)  # all three have asked; 0 went through, 1 and 2 wait
    second.cancel()
    await asyncio.gather(first, third)
    assert order == [0, 2] and second.cancelled()
    assert turns.waiting == 0


async def test_running_work_goes_before_the_waiting_line_and_the_line_still_moves():
    turns = LoopTurns(per_turn=2)
    ran: list[str] = []

    async def call(name: str, first: bool = False) -> None:
        await turns.turn(first)
        ran.append(name)

    normal = [asyncio.create_task(call(f"claim{i}")) for i in range(8)]
    await asyncio.sleep(0)  # two went through; six wait
    assert turns.waiting == 6
    updates = [asyncio.create_task(call(f"update{i}", first=True)) for i in range(3)]
    await asyncio.sleep(0)
    in_line = len(turns._waiting)  # claims not yet let through: the last ones, the line is FIFO
    still_waiting = [f"claim{i}" for i in range(8 - in_line, 8)]
    await asyncio.gather(*normal, *updates)
    claims = [r for r in ran if r.startswith("claim")]
    assert claims == [f"claim{i}" for i in range(8)]  # the waiting line keeps its order
    last_update = max(ran.index(f"update{i}") for i in range(3))
    # The updates went before every claim that was still waiting when they came.
    assert all(ran.index(c) > last_update for c in still_waiting), (ran, still_waiting)
    assert len(still_waiting) >= 2 and turns.waiting == 0


# --- with a real Manager ---------------------------------------------------------------------------

_MANY = """
const JOB_TYPE = {label: "Many tasks", settings: [{key: "count", type: "int32", default: 1}]};
function compileJob(job) {
  for (let i = 0; i < job.settings.count; i++) {
    const t = author.Task(`t${i}`, "misc");
    t.addCommand(author.Command("echo", {message: "hi"}));
    job.addTask(t);
  }
}
"""


_BURST_CLIENT = r"""
import asyncio, base64, json, sys
import aiohttp

async def main(url, creds, job):
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(url, connector=connector) as session:
        async def version():
            async with session.get("/api/v3/version") as resp:
                await resp.read()
        await asyncio.gather(*(version() for _ in range(len(creds) + 1)))  # open every connection first

        async def claim(uuid, secret):
            auth = base64.b64encode(f"{uuid}:{secret}".encode()).decode()
            async with session.post("/api/v3/worker/task", headers={"Authorization": "Basic " + auth}) as resp:
                await resp.read()
                return resp.status

        async def get():
            async with session.get(f"/api/v3/jobs/{job}") as resp:
                await resp.read()
                return resp.status
        answers = await asyncio.gather(*(claim(u, s) for u, s in creds), get())
        print(json.dumps(answers))

asyncio.run(main(sys.argv[1], json.loads(sys.stdin.read()), sys.argv[2]))
"""


@pytest.mark.slow  # a burst of claims
async def test_a_dashboard_get_is_answered_between_a_burst_of_worker_claims(manager_factory):
    """300 claims arrive at once from another process; a job GET sent with them is answered after
    a few turns of them, not after the whole burst.

    Counted, not timed: how many claim transactions had run when the GET was answered, and how many
    ran while it was in hand. Before, the whole burst ran in one loop iteration and the GET was
    read and answered only after all of it.
    """
    import json
    import sys

    from app.manager.persistence.db import NotNow
    from tests.http_worker import HttpWorker

    count = 300
    manager = await manager_factory(worker_timeout=600.0, task_timeout=600.0)
    scripts = manager.cfg.scripts_dir
    scripts.mkdir(exist_ok=True)
    (scripts / "many.js").write_text(_MANY)
    status, job = await manager.request("POST", "/api/v3/jobs", json={
        "name": "many", "type": "many", "priority": 50, "submitter_platform": "linux",
        "settings": {"count": count}})
    assert status == 200, job
    workers = []
    for i in range(count):
        w = await HttpWorker(manager.url, name=f"w{i}", task_types=["misc"]).register_and_sign_on()
        workers.append(w)
        await w.close()
    store = manager.services.store
    calls = [0]
    real_try_quick = store.try_quick_grouped

    def counting(*args, **kwargs):
        result = real_try_quick(*args, **kwargs)
        if result is not NotNow.STORE_BUSY:  # a transaction ran (not: it stepped aside for the store thread)
            calls[0] += 1
        return result
    store.try_quick_grouped = counting
    jobs = manager.services.jobs
    real_fetch = jobs.fetch
    during_get: list[tuple[int, int]] = []  # claim transactions run when the GET came, when it left

    async def fetch(job_uuid):
        started = calls[0]
        result = await real_fetch(job_uuid)
        during_get.append((started, calls[0]))
        return result
    jobs.fetch = fetch
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _BURST_CLIENT, manager.url, job["id"],
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(120):  # a hang guard, not a measurement
        out, err = await client.communicate(json.dumps([(w.uuid, w.secret) for w in workers]).encode())
    assert client.returncode == 0, err.decode()
    answers = json.loads(out)
    assert answers == [200] * (count + 1)  # every worker got a task, and the GET its job
    assert calls[0] >= count
    assert store.quick_calls  # SQLite and PostgreSQL alike run claims on the loop, in turns
    (before, answered), = during_get
    # Without turns the GET was read only after the whole burst had run: (300, 300) every time. With
    # them it is read between turns; how far into the burst depends on when this busy machine let the
    # client write it (234 claims in, once, under load), so the bound is the burst's end.
    assert answered < count, during_get
    assert answered - before <= 64, during_get  # about four turns of PER_TURN (16)

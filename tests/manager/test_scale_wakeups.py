"""Targeted wake-ups: many long-polling workers, and each new task wakes about one able worker.

A real Manager on a real port and 200 workers speaking HTTP, of two task types and two tags. Work
appears one task at a time; each task must go to a waiting worker able to run it, the one that has
waited longest, while the scheduler statements per handed-out task stay bounded (counted by the
scheduler query module). Nothing is timed except a generous guard against hangs.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from app.manager.persistence import scheduler_queries
from tests.http_worker import HttpWorker

pytestmark = pytest.mark.slow  # hundreds of long-polling workers

WORKERS = 200
TYPES = ("misc", "ffmpeg")
GUARD_S = 20  # a hang guard, not a measurement

_ONE_TASK = """
const JOB_TYPE = {label: "One task", settings: [
  {key: "task_type", type: "string", required: true},
  {key: "count", type: "int32", default: 1},
]};
function compileJob(job) {
  for (let i = 0; i < job.settings.count; i++) {
    const t = author.Task(`t${i}`, job.settings.task_type);
    t.addCommand(author.Command("echo", {message: "hi"}));
    job.addTask(t);
  }
}
"""


class Farm:
    """Simulated workers that long-poll for tasks and report each claim."""

    def __init__(self, manager, workers: list[HttpWorker], tags: dict[str, str]):
        self.manager, self.workers, self.tags = manager, workers, tags  # tags: worker uuid → tag id
        self.claims: asyncio.Queue[tuple[HttpWorker, dict]] = asyncio.Queue()
        self.complete = True
        self.runners: list[asyncio.Task] = []
        self.queue = manager.services.waiters.work

    async def poll(self, w: HttpWorker) -> None:
        while True:
            status, task = await w.claim(wait=60)
            if status != 200:
                continue
            self.claims.put_nowait((w, task))
            if not self.complete:
                return  # keeps its task: busy from now on
            status, _ = await w.complete(task["uuid"])
            assert status == 204

    async def start_in_order(self) -> list[HttpWorker]:
        """Start the long-polls one by one, so the order of waiting is known."""
        for w in self.workers:
            before = self.queue.waiting
            self.runners.append(asyncio.create_task(self.poll(w)))
            await self.until(lambda b=before: self.queue.waiting > b)
        return list(self.workers)

    async def until(self, condition) -> None:
        async with asyncio.timeout(GUARD_S):
            while not condition():
                await asyncio.sleep(0.002)

    def able(self, w: HttpWorker, task_type: str, tag: str | None) -> bool:
        return task_type in w.task_types and (tag is None or self.tags[w.uuid] == tag)

    async def stop(self) -> None:
        for r in self.runners:
            r.cancel()
        for r in self.runners:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await r
        for w in self.workers:
            await w.close()


@pytest.fixture(params=["priority", "fair-share"])
async def farm(manager_factory, request):
    manager = await manager_factory(worker_timeout=600.0, task_timeout=600.0, scheduler_policy=request.param)
    scripts = manager.cfg.scripts_dir
    scripts.mkdir(exist_ok=True)
    (scripts / "one_task.js").write_text(_ONE_TASK)
    tag_ids = []
    for name in ("red", "blue"):
        status, tag = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": name}, admin=True)
        assert status == 200, tag
        tag_ids.append(tag["id"])
    workers, tags = [], {}
    for i in range(WORKERS):
        w = await HttpWorker(manager.url, name=f"w{i}", task_types=[TYPES[i % 2]]).register_and_sign_on()
        tag = tag_ids[(i // 2) % 2]
        status, _ = await manager.request("POST", f"/api/v3/worker-mgt/workers/{w.uuid}/settags",
                                          json={"tag_ids": [tag]}, admin=True)
        assert status == 204
        workers.append(w)
        tags[w.uuid] = tag
    f = Farm(manager, workers, tags)
    f.tag_ids = tag_ids
    try:
        yield f
    finally:
        await f.stop()


async def _submit(manager, task_type: str, tag: str | None, count: int = 1) -> dict:
    body = {"name": "one", "type": "one-task", "priority": 50, "submitter_platform": "linux",
            "settings": {"task_type": task_type, "count": count}}
    if tag is not None:
        body["worker_tag"] = tag
    status, job = await manager.request("POST", "/api/v3/jobs", json=body)
    assert status == 200, job
    return job


async def test_each_task_wakes_the_longest_waiting_able_worker(farm):
    order = await farm.start_in_order()
    combos = [(t, tag) for tag in (*farm.tag_ids, None) for t in TYPES]
    queries_before = sum(scheduler_queries.QUERIES.values())
    most_per_task = 0
    handed_out = 60
    for i in range(handed_out):
        task_type, tag = combos[i % len(combos)]
        step_before = sum(scheduler_queries.QUERIES.values())
        await _submit(farm.manager, task_type, tag)
        async with asyncio.timeout(GUARD_S):
            w, task = await farm.claims.get()
        expected = next(x for x in order if farm.able(x, task_type, tag))
        assert farm.able(w, task_type, tag), (w.name, task_type, tag)
        assert w is expected, f"task {i} went to {w.name}, but {expected.name} had waited longest"
        assert task["task_type"] == task_type
        # Back in line, at the end, before the next task appears.
        order.remove(w)
        order.append(w)
        await farm.until(lambda: farm.queue.waiting == WORKERS)
        most_per_task = max(most_per_task, sum(scheduler_queries.QUERIES.values()) - step_before)
    per_task = (sum(scheduler_queries.QUERIES.values()) - queries_before) / handed_out
    # A broadcast runs one claim per waiting worker: 200 per task here. Targeted: the woken
    # worker's claim (two for an untagged job: one able worker of each tag), and one count per
    # group of idle workers (4 here: 2 task types x 2 tags) for each change that may make work
    # runnable (the submission, and the completion). Bounded by the groups, not by the workers.
    groups = 4
    # Bounded by the number of groups of alike workers (4), not by the 200 workers waiting.
    assert per_task <= 3 * groups, per_task
    assert most_per_task <= 6 * groups, most_per_task
    assert farm.claims.empty()


async def test_no_task_waits_while_an_able_worker_is_idle(farm):
    order = await farm.start_in_order()
    farm.complete = False  # workers keep their task, so each claim makes one worker busy
    misc_waiting = [w for w in order if "misc" in w.task_types]
    burst = 30
    job = await _submit(farm.manager, "misc", None, count=burst)
    got = []
    for _ in range(burst):
        async with asyncio.timeout(GUARD_S):
            got.append(await farm.claims.get())
    winners = {w.uuid for w, _ in got}
    assert len(winners) == burst  # one task each: no worker got two, no task was lost
    assert winners == {w.uuid for w in misc_waiting[:burst]}  # the longest-waiting ones
    status, tasks = await farm.manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    assert status == 200
    assert all(t["status"] == "active" for t in tasks["tasks"])
    # A tagged task the remaining idle red misc workers can run goes to one of them at once.
    red = farm.tag_ids[0]
    await _submit(farm.manager, "misc", red)
    async with asyncio.timeout(GUARD_S):
        w, _ = await farm.claims.get()
    assert farm.able(w, "misc", red) and w.uuid not in winners
    # Work nobody can run wakes nobody.
    wakeups = farm.queue.wakeups
    await _submit(farm.manager, "blender", None)
    await asyncio.sleep(0.3)
    assert farm.queue.wakeups == wakeups
    assert farm.claims.empty()

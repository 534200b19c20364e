"""The compiler process pool: one run per lane (job type), lanes side by side, a cap on processes.

Unit tests with fake engines; the real processes are exercised through a real Manager in
tests/manager/security/test_job_compiler_limits.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.manager.job_compilers.engine_pool import EnginePool


class FakeEngine:
    """Runs until its request's `gate` event is set; records what ran where."""

    def __init__(self, log: list[tuple[str, int]]):
        self.log, self.starts, self.closed = log, 0, False
        self.ident = len(log)

    async def start(self) -> None:
        self.starts += 1

    async def run(self, op: str, timeout_s: float, *, lane: str = "", **kwargs: Any) -> dict[str, Any]:
        self.log.append((lane, id(self)))
        await kwargs["gate"].wait()
        return {"ok": True, "lane": lane}

    async def close(self) -> None:
        self.closed = True


def make_pool(size: int) -> tuple[EnginePool, list[FakeEngine], list[tuple[str, int]]]:
    log: list[tuple[str, int]] = []
    made: list[FakeEngine] = []

    def factory() -> FakeEngine:
        made.append(FakeEngine(log))
        return made[-1]

    return EnginePool(size, engine_factory=factory), made, log


async def test_a_blocked_lane_leaves_other_lanes_running():
    pool, made, log = make_pool(2)
    stuck = asyncio.Event()
    blocked = asyncio.create_task(pool.run("compile", 5, lane="forever", gate=stuck))
    await asyncio.sleep(0)
    free = asyncio.Event()
    free.set()
    assert await pool.run("compile", 5, lane="echo", gate=free) == {"ok": True, "lane": "echo"}
    assert not blocked.done() and pool.busy_lanes == {"forever"}
    stuck.set()
    assert (await blocked)["lane"] == "forever"
    assert len(made) == 2 and log[0][1] != log[1][1]


async def test_runs_of_one_lane_wait_for_each_other():
    pool, made, log = make_pool(4)
    gate = asyncio.Event()
    first = asyncio.create_task(pool.run("compile", 5, lane="a", gate=gate))
    second = asyncio.create_task(pool.run("compile", 5, lane="a", gate=gate))
    await asyncio.sleep(0.01)
    assert [lane for lane, _ in log] == ["a"], "the second run of lane a must wait for the first"
    gate.set()
    await asyncio.gather(first, second)
    assert [lane for lane, _ in log] == ["a", "a"]


async def test_no_more_engines_than_the_cap_and_a_spare_while_busy():
    pool, made, _ = make_pool(3)
    gate = asyncio.Event()
    runs = [asyncio.create_task(pool.run("compile", 5, lane=f"t{i}", gate=gate)) for i in range(5)]
    await asyncio.sleep(0.01)
    assert len(made) == 3 and len(pool.busy_lanes) == 5  # two lanes wait for a free engine
    gate.set()
    await asyncio.gather(*runs)
    assert len(made) == 3

    lone, _, _ = make_pool(3)
    open_gate = asyncio.Event()
    open_gate.set()
    await lone.run("compile", 5, lane="x", gate=open_gate)
    assert lone.started == 2, "a spare is started while the only engine is busy"
    await lone.close()


async def test_close_closes_every_engine():
    pool, made, _ = make_pool(2)
    gate = asyncio.Event()
    gate.set()
    await pool.run("compile", 5, lane="a", gate=gate)
    await pool.close()
    assert made and all(e.closed for e in made)

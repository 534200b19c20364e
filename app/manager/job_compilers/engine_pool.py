"""A small pool of compiler processes, so a slow job-type script delays only its own job type.

With one compiler process, a script that loops until its time limit made every other
submission wait behind it. The pool runs scripts in up to `max_processes` children
(`ProcessJsEngine`, each with its own time limit, heap limit and parent-death tie) and runs
one script per *lane* at a time; the compiler uses the job type's name as the lane. So a
looping job type holds at most one process, and the other job types keep the rest. Children
start on demand (0.2-0.3 s each, seconds on a busy machine) and stay warm; while all of them are
busy one more is started ahead of need, up to the cap, and a child killed after a timeout is
restarted as soon as its run returns.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from app.manager.job_compilers.engine import DEFAULT_MAX_MEMORY_BYTES, JsEngine, ProcessJsEngine

_log = logging.getLogger(__name__)


def default_pool_size() -> int:
    """Two to four processes: enough that one runaway script leaves room, few enough to stay small."""
    return min(4, max(2, os.cpu_count() or 2))


class EnginePool:
    """A `JsEngine` over several engines; `run(..., lane=...)` serialises runs of one lane."""

    def __init__(
        self,
        max_processes: int | None = None,
        max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
        *,
        engine_factory: Callable[[], JsEngine] | None = None,
    ):
        self.max_processes = max(1, max_processes or default_pool_size())
        self._factory = engine_factory or (lambda: ProcessJsEngine(max_memory_bytes))
        self._engines: list[JsEngine] = []
        self._idle: list[JsEngine] = []
        self._lanes: dict[str, asyncio.Lock] = {}
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._starting: set[asyncio.Future] = set()

    @property
    def started(self) -> int:
        """How many engines exist (each starts its process on first use)."""
        return len(self._engines)

    @property
    def busy_lanes(self) -> set[str]:
        """Lanes (job types) with a script running or waiting for a process now."""
        return {lane for lane, lock in self._lanes.items() if lock.locked()}

    async def run(self, op: str, timeout_s: float, *, lane: str = "", **kwargs: Any) -> dict[str, Any]:
        self._bind_loop()
        async with self._lanes.setdefault(lane, asyncio.Lock()):
            engine = await self._acquire()
            try:
                return await engine.run(op, timeout_s, lane=lane, **kwargs)
            finally:
                self._release(engine)

    async def close(self) -> None:
        starting, self._starting = self._starting, set()
        await asyncio.gather(*starting, return_exceptions=True)
        engines, self._engines, self._idle = self._engines, [], []
        for engine in engines:
            await engine.close()

    async def _acquire(self) -> JsEngine:
        assert self._slots is not None
        await self._slots.acquire()
        if self._idle:
            # A warm one if there is one (a process killed after a timeout restarts on its next use),
            # the most recently used first.
            warm = [e for e in self._idle if getattr(e, "warm", True)]
            engine = warm[-1] if warm else self._idle[-1]
            self._idle.remove(engine)
        else:
            engine = self._new_engine()
        self._keep_a_spare()
        return engine

    def _new_engine(self) -> JsEngine:
        engine = self._factory()
        self._engines.append(engine)
        return engine

    def _keep_a_spare(self) -> None:
        # While every started process is busy (say, with a looping script), start one more in the
        # background, so the next job type does not wait for a process start (0.2-2 s).
        if self._idle or len(self._engines) >= self.max_processes:
            return
        engine = self._new_engine()
        self._idle.insert(0, engine)
        self._start_in_background(engine)

    def _start_in_background(self, engine: JsEngine) -> None:
        start = getattr(engine, "start", None)
        if start is not None:
            task = asyncio.ensure_future(start())
            self._starting.add(task)
            task.add_done_callback(self._started)

    def _started(self, task: asyncio.Future) -> None:
        self._starting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # It will be retried on first use, where the failure reaches the request.
            _log.warning("could not start a spare job compiler process: %s", task.exception())

    def _release(self, engine: JsEngine) -> None:
        if engine in self._engines:  # not closed meanwhile
            self._idle.append(engine)
            if not getattr(engine, "warm", True):
                self._start_in_background(engine)  # killed after a timeout: restart it now
        if self._slots is not None:
            self._slots.release()

    def _bind_loop(self) -> None:
        # asyncio primitives belong to the loop that first waits on them, and tests may use
        # one pool from several loops (one at a time): make fresh ones for a new loop.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._slots = asyncio.Semaphore(self.max_processes)
            self._lanes = {}
            self._idle = list(self._engines)

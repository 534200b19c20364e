"""Bench: how long a normal job's submission takes while another job type's script loops.

Run by hand: `.venv/bin/python bench/compile_isolation.py`. Prints its figures; asserts nothing.

1. Before/after, in-process: `JobCompiler` on one compiler process (the old design) and on the
   process pool (the Manager's default now); an echo job is compiled while a script of another
   job type spins until its 5 s limit.
2. Over HTTP against a real `tablao manager --headless`: POST /api/v3/jobs of an echo job while a
   looping job type's submission is compiling.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.manager.job_compilers import JobCompiler  # noqa: E402
from app.manager.job_compilers.engine import ProcessJsEngine  # noqa: E402
from app.manager.job_compilers.engine_pool import EnginePool  # noqa: E402
from bench._harness import ManagerProcess  # noqa: E402

FOREVER = "const JOB_TYPE = {label: 'Forever', settings: []};\nfunction compileJob(job) { while (true) {} }\n"
ROUNDS = 3
LOOPING_JOB = {"name": "loops", "type": "forever", "priority": 50, "submitter_platform": "linux", "settings": {}}


def echo_job() -> dict:
    return {"name": "echo", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 2}}


def report(label: str, times: list[float]) -> None:
    print(f"{label}: median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
          f"over {len(times)} submissions")


async def in_process(engine, scripts: Path) -> list[float]:
    compiler = JobCompiler(scripts, timeout_s=5.0, platform="linux", engine=engine)
    created = datetime.now(UTC)
    try:
        await compiler.check(echo_job())  # scripts loaded, process(es) starting
        times = []
        for _ in range(ROUNDS):
            await settled(engine)
            looping = asyncio.create_task(compiler.compile(LOOPING_JOB, job_id="loop", created=created))
            await asyncio.sleep(0.3)  # let the looping script start
            t0 = time.perf_counter()
            await compiler.compile(echo_job(), job_id="echo", created=created)
            times.append(time.perf_counter() - t0)
            await asyncio.gather(looping, return_exceptions=True)  # stopped at its 5 s limit
        return times
    finally:
        await engine.close()


async def settled(engine) -> None:
    """Wait until every started process is up (starts take seconds on a loaded machine)."""
    engines = getattr(engine, "_engines", [engine])
    while getattr(engine, "_starting", None) or not all(e.warm for e in engines):
        await asyncio.sleep(0.05)


async def over_http() -> list[float]:
    with ManagerProcess() as manager:
        scripts = manager.root / "scripts"
        scripts.mkdir(exist_ok=True)
        (scripts / "forever.js").write_text(FOREVER)
        async with aiohttp.ClientSession(manager.url) as session:
            async def post(job: dict) -> tuple[int, float]:
                t0 = time.perf_counter()
                async with session.post("/api/v3/jobs", json=job) as resp:
                    await resp.read()
                    return resp.status, time.perf_counter() - t0

            await asyncio.gather(post(echo_job()), post(echo_job()))  # warm up
            looping = asyncio.create_task(post(LOOPING_JOB))
            await asyncio.sleep(0.3)
            times = []
            for _ in range(ROUNDS):
                status, elapsed = await post(echo_job())
                assert status == 200
                times.append(elapsed)
            status, loop_elapsed = await looping
            print(f"(the looping submission answered {status} after {loop_elapsed:.1f} s)")
        return times


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scripts = Path(tmp)
        (scripts / "forever.js").write_text(FOREVER)
        report("before: one compiler process, echo compile while another type loops",
               await in_process(ProcessJsEngine(), scripts))
        pool = EnginePool()
        report(f"after: pool of up to {pool.max_processes} processes, echo compile while another type loops",
               await in_process(pool, scripts))
    report("after, over HTTP: POST /api/v3/jobs (echo) while a looping job type compiles", await over_http())


if __name__ == "__main__":
    asyncio.run(main())

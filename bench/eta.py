"""What the farm's ETA costs the Manager: one answer for every unfinished job (`GET
/api/v3/tablao/jobs/eta`, read by every open dashboard and status page every 5 s) and one job's
(`fetchJob`, the add-on's followed job every 3 s), on a store with a busy farm's history.

    python -m bench.eta [--jobs 100] [--tasks 100] [--runs 20000] [--workers 40]

An in-process Manager on SQLite: `--jobs` queued echo jobs of `--tasks` tasks each, `--workers`
workers signed on, and `--runs` finished task runs of the last days (a third of the same .blend
file, the rest of the job types), then the answers are timed (the 2 s cache is bypassed: each
reading goes to the store). Prints the median and worst wall-clock time of each and its median CPU
time (the figure to compare on a shared, busy machine), in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from app.manager.persistence import task_runs
from app.manager.persistence.task_runs import RunRecord
from app.manager.service import ManagerService
from app.manager.settings.config import ManagerConfig, save_config


async def _setup(url: str, jobs: int, tasks: int, workers: int) -> None:
    async with aiohttp.ClientSession(url) as http:
        for n in range(jobs):
            body = {"name": f"bench {n}", "type": "echo-sleep-test", "submitter_platform": "linux",
                    "settings": {"message": "x", "sleep_duration_seconds": 0, "sleep_repeats": tasks - 1}}
            async with http.post("/api/v3/jobs", json=body) as resp:
                assert resp.status == 200, await resp.text()
        for n in range(workers):
            types = ["misc", "blender"]
            body = {"secret": "s" * 32, "platform": "linux", "supported_task_types": types, "name": f"w{n}"}
            async with http.post("/api/v3/worker/register-worker", json=body) as resp:
                assert resp.status == 200, await resp.text()
                auth = aiohttp.BasicAuth((await resp.json())["uuid"], "s" * 32)
            body = {"name": f"w{n}", "supported_task_types": types, "software_version": "bench"}
            async with http.post("/api/v3/worker/sign-on", json=body, auth=auth) as resp:
                assert resp.status == 200, await resp.text()
            async with http.post("/api/v3/worker/state-changed", json={"status": "awake"}, auth=auth) as resp:
                assert resp.status == 204, await resp.text()


def _history(count: int, workers: int) -> list[RunRecord]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    out = []
    for n in range(count):
        same_file = n % 3 == 0
        out.append(RunRecord(1 + n % workers, str(uuid.uuid4()), str(uuid.uuid4()),
                             "blender" if same_file else "misc", "completed", 0, 5.0 + n % 7,
                             now - dt.timedelta(minutes=n), 4.0, 800.0, 2,
                             "simple-blender-render" if same_file else "echo-sleep-test",
                             "/shared/shot.blend" if same_file else ""))
    return out


async def _timed(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds (this process: the event loop and the store's thread) of each call."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        await fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tablao-bench-eta-") as tmp:
        root = Path(tmp)
        (root / "shared").mkdir()
        cfg = ManagerConfig(path=root / "flamenco-manager.yaml", listen="127.0.0.1:0",
                            shared_storage_path=str(root / "shared"), database=str(root / "bench.sqlite"),
                            local_manager_storage_path="storage")
        save_config(cfg)
        service = ManagerService(cfg)
        running = asyncio.create_task(service.run())
        await service.ready.wait()
        try:
            await _setup(f"http://127.0.0.1:{service.port}", args.jobs, args.tasks, args.workers)
            services = service.services
            await services.store.call(task_runs.add_runs, _history(args.runs, args.workers))
            etas = services.etas
            one = (await services.jobs.list(1, 0, None))[0][0]["id"]
            all_ms = await _timed(lambda: etas._answers(None), args.repeat)
            one_ms = await _timed(lambda: etas.of_job(one), args.repeat)
            answer = await etas.all_unfinished()
            print(f"{args.jobs} queued jobs of {args.tasks} tasks, {args.workers} workers, {args.runs} runs "
                  f"({len(answer['jobs'])} with an ETA):")
            for name, (wall, cpu) in (("all unfinished jobs", all_ms), ("one job (fetchJob)", one_ms)):
                print(f"  {name:<22} median {statistics.median(wall):7.1f} ms   worst {max(wall):7.1f} ms   "
                      f"CPU median {statistics.median(cpu):7.1f} ms")
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=10)
    asyncio.run(main(parser.parse_args()))

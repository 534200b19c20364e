"""Bench: farm efficiency, the gap between tasks, and claim throughput.

Run by hand: `.venv/bin/python bench/farm.py [--quick]`. Prints its figures; asserts nothing.
- 8 real `tablao worker` processes run 200 one-second sleep tasks against a real Manager process:
  efficiency = ideal time / actual time, and the gap between a worker's task end and its next start
  (both as the Manager recorded them, from the event stream).
- 50 concurrent HTTP workers claim-and-complete tasks from a queue of 100,000 (four jobs of two
  submitters): claims per second; `--policy fair-share` under the fair-share scheduler, `--claims-only`
  without the efficiency run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.common.clock import parse_rfc3339  # noqa: E402
from bench._harness import ROOT, ManagerProcess  # noqa: E402

JOB_SIZE = 25_000


def sleep_job(repeats: int, seconds: float, user: str = "bench") -> dict:
    return {"name": "bench", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "bench", "sleep_duration_seconds": seconds, "sleep_repeats": repeats},
            "metadata": {"user.name": user}}


def start_workers(manager: ManagerProcess, count: int) -> list[subprocess.Popen]:
    procs = []
    for i in range(count):
        wdir = manager.root / f"worker-{i}"
        wdir.mkdir()
        cfg = wdir / "worker.yaml"
        cfg.write_text(yaml.safe_dump({"manager_url": manager.url, "worker_name": f"bench-{i}",
                                       "data_dir": str(wdir / "data")}))
        procs.append(subprocess.Popen([sys.executable, "-m", "app", "worker", "--headless", "--quiet",
                                       "--worker-config", str(cfg)], cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


async def wait_awake(session: aiohttp.ClientSession, count: int) -> None:
    while True:
        async with session.get("/api/v3/worker-mgt/workers") as resp:
            workers = (await resp.json())["workers"]
        if sum(w["status"] == "awake" for w in workers) >= count:
            return
        await asyncio.sleep(0.2)


async def efficiency(workers: int, tasks: int, seconds: float) -> None:
    with ManagerProcess() as manager:
        procs = start_workers(manager, workers)
        try:
            async with aiohttp.ClientSession(manager.url) as session:
                await wait_awake(session, workers)
                events: list[dict] = []
                async with session.ws_connect("/api/v3/tablao/events") as ws:
                    collector = asyncio.create_task(_collect(ws, events))
                    t0 = time.perf_counter()
                    async with session.post("/api/v3/jobs", json=sleep_job(tasks, seconds)) as resp:
                        job = await resp.json()
                    while True:
                        async with session.get(f"/api/v3/jobs/{job['id']}") as resp:
                            if (await resp.json())["status"] == "completed":
                                break
                        await asyncio.sleep(0.05)
                    actual = time.perf_counter() - t0
                    collector.cancel()
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(15)
    ideal = tasks * seconds / workers
    gaps = _gaps(events)
    print(f"farm efficiency, {workers} workers x {tasks} tasks of {seconds:g}s: ideal {ideal:.1f}s, "
          f"actual {actual:.1f}s, efficiency {ideal / actual:.1%}")
    if gaps:
        gaps.sort()
        print(f"gap between a task's end and the worker's next start: median {statistics.median(gaps) * 1000:.0f} ms, "
              f"p95 {gaps[int(len(gaps) * 0.95)] * 1000:.0f} ms ({len(gaps)} gaps)")


async def _collect(ws, events: list[dict]) -> None:
    async for msg in ws:
        data = msg.json()
        if data["type"] == "task_did_change" and data["data"].get("worker"):
            events.append(data["data"])


def _gaps(events: list[dict]) -> list[float]:
    last_end: dict[str, float] = {}
    gaps = []
    for ev in events:
        worker = ev["worker"]["id"]
        moment = parse_rfc3339(ev["updated"]).timestamp()
        if ev["status"] == "completed":
            last_end[worker] = moment
        elif (ev["status"] == "active" and ev.get("previous_status") in ("queued", "soft-failed")
              and worker in last_end):
            gaps.append(moment - last_end.pop(worker))
    return gaps


async def claims(total_tasks: int, clients: int, seconds: float, policy: str = "priority") -> None:
    """`policy`: the Manager's scheduler_policy; the jobs alternate between two submitters."""
    with ManagerProcess(worker_timeout="10m", scheduler_policy=policy) as manager:
        connector = aiohttp.TCPConnector(limit=clients + 5)
        async with aiohttp.ClientSession(manager.url, connector=connector) as session:
            t0 = time.perf_counter()
            # Several jobs: one JS heap (QuickJS in dukpy) holds about 50,000 authored tasks at most.
            jobs = -(-total_tasks // JOB_SIZE)
            for i in range(jobs):
                size = min(JOB_SIZE, total_tasks - i * JOB_SIZE)
                async with session.post("/api/v3/jobs", json=sleep_job(size, 0, f"artist-{i % 2}")) as resp:
                    job = await resp.json()
                    assert resp.status == 200, job
            print(f"queued {total_tasks + jobs} tasks in {jobs} jobs in {time.perf_counter() - t0:.1f}s")
            auths = [await _register(session, i) for i in range(clients)]
            for _ in range(jobs):  # the echo tasks the sleeps depend on
                first = await _claim(session, auths[0])
                await _complete(session, auths[0], first["uuid"])
            counts = [0] * clients
            stop_at = time.perf_counter() + seconds

            async def worker(i: int) -> None:
                while time.perf_counter() < stop_at:
                    task = await _claim(session, auths[i])
                    if task is None:
                        return
                    counts[i] += 1
                    await _complete(session, auths[i], task["uuid"])
            manager_proc = psutil.Process(manager.proc.pid)
            cpu0, client0 = _cpu_seconds(manager_proc), time.process_time()
            start = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(clients)))
            elapsed = time.perf_counter() - start
            manager_cpu, client_cpu = _cpu_seconds(manager_proc) - cpu0, time.process_time() - client0
    total = sum(counts)
    print(f"claims ({policy}) with {total_tasks} queued tasks and {clients} concurrent workers: "
          f"{total / elapsed:.0f} claims/s "
          f"({total} claim+complete cycles in {elapsed:.1f}s, {2 * total / elapsed:.0f} requests/s)")
    # On a small machine the load generator competes with the Manager for the same cores, so the
    # rate above is a floor. CPU per cycle says what one free core would give the Manager.
    per_cycle = manager_cpu / max(total, 1)
    print(f"  Manager CPU {1000 * per_cycle:.2f} ms per claim+complete cycle (all its threads; "
          f"{1 / per_cycle:.0f} cycles per CPU-second), load generator CPU "
          f"{1000 * client_cpu / max(total, 1):.2f} ms per cycle, {os.cpu_count()} cores")


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def _register(session: aiohttp.ClientSession, i: int) -> dict[str, str]:
    secret = secrets.token_hex(16)
    types = ["misc"]
    async with session.post("/api/v3/worker/register-worker", json={
            "secret": secret, "platform": "linux", "supported_task_types": types, "name": f"c{i}"}) as resp:
        uuid = (await resp.json())["uuid"]
    auth = _basic(uuid, secret)
    async with session.post("/api/v3/worker/sign-on", headers=auth, json={
            "name": f"c{i}", "supported_task_types": types, "software_version": "bench"}) as resp:
        await resp.read()
    async with session.post("/api/v3/worker/state-changed", headers=auth, json={"status": "awake"}) as resp:
        await resp.read()
    return auth


async def _claim(session: aiohttp.ClientSession, auth: dict[str, str]) -> dict | None:
    async with session.post("/api/v3/worker/task", headers=auth) as resp:
        return await resp.json() if resp.status == 200 else None


async def _complete(session: aiohttp.ClientSession, auth: dict[str, str], task_id: str) -> None:
    async with session.post(f"/api/v3/worker/task/{task_id}", headers=auth,
                            json={"taskStatus": "completed", "activity": "Completed"}) as resp:
        await resp.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--claims-only", action="store_true", help="only the claim throughput")
    parser.add_argument("--policy", choices=["priority", "fair-share"], default="priority",
                        help="the Manager's scheduler_policy for the claim throughput")
    args = parser.parse_args()
    if args.quick:
        if not args.claims_only:
            asyncio.run(efficiency(4, 20, 1.0))
        asyncio.run(claims(5_000, 20, 3.0, args.policy))
    else:
        if not args.claims_only:
            asyncio.run(efficiency(8, 200, 1.0))
        asyncio.run(claims(100_000, 50, 10.0, args.policy))


if __name__ == "__main__":
    main()

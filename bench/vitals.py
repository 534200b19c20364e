"""Bench: what workers' vitals reports cost the Manager.

Run by hand: `.venv/bin/python bench/vitals.py [--workers 300] [--reports 6000]`. Prints its figures;
asserts nothing. A real Manager process; a few hundred HTTP workers, signed on and awake, each sending
vitals reports (the body a real worker sends, a new frame each time) while one dashboard follows the
event stream. It prints the Manager's CPU time per report (all its threads), what a farm of that
size reporting every 5 s costs of one core, and how long the worker list takes with every worker's
vitals in it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import sys
import time
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ManagerProcess  # noqa: E402

VITALS = "/api/v3/tablao/worker/vitals"


def report(frame: int) -> dict:
    return {"cpu_percent": 93.4, "render_cpu_percent": 88.1, "cpu_count": 32, "memory_used": 41 << 30,
            "memory_total": 128 << 30, "render_memory": 22 << 30, "blender_version": "4.2.3",
            "gpus": [{"name": "NVIDIA RTX A5000", "percent": 97.0, "memory_used": 18 << 30, "memory_total": 24 << 30}],
            "frame": frame, "sample": 512, "samples_total": 1024}


async def sign_on(session: aiohttp.ClientSession, i: int) -> dict[str, str]:
    secret = secrets.token_hex(16)
    async with session.post("/api/v3/worker/register-worker", json={
            "secret": secret, "platform": "linux", "supported_task_types": ["misc"], "name": f"v{i}"}) as resp:
        uuid = (await resp.json())["uuid"]
    auth = {"Authorization": "Basic " + base64.b64encode(f"{uuid}:{secret}".encode()).decode()}
    async with session.post("/api/v3/worker/sign-on", headers=auth, json={
            "name": f"v{i}", "supported_task_types": ["misc"], "software_version": "bench"}) as resp:
        await resp.read()
    async with session.post("/api/v3/worker/state-changed", headers=auth, json={"status": "awake"}) as resp:
        await resp.read()
    return auth


async def follow(ws: aiohttp.ClientWebSocketResponse, counts: dict[str, int]) -> None:
    async for msg in ws:
        if '"worker_vitals_did_change"' in msg.data:
            counts["events"] += 1


async def bench(workers: int, reports: int, concurrency: int) -> None:
    with ManagerProcess(worker_timeout="10m") as manager:
        connector = aiohttp.TCPConnector(limit=concurrency + 5)
        async with aiohttp.ClientSession(manager.url, connector=connector) as session:
            auths = [await sign_on(session, i) for i in range(workers)]
            counts = {"events": 0, "sent": 0}
            async with session.ws_connect("/api/v3/tablao/events") as ws:
                follower = asyncio.create_task(follow(ws, counts))
                proc = psutil.Process(manager.proc.pid)
                await asyncio.sleep(1.0)
                idle0, idle_t0 = _cpu(proc), time.perf_counter()
                await asyncio.sleep(3.0)
                idle_rate = (_cpu(proc) - idle0) / (time.perf_counter() - idle_t0)  # CPU-s per s, doing nothing
                queue: asyncio.Queue[int] = asyncio.Queue()
                for n in range(reports):
                    queue.put_nowait(n)

                async def sender() -> None:
                    while not queue.empty():
                        n = queue.get_nowait()
                        async with session.post(VITALS, headers=auths[n % workers], json=report(n // workers)) as resp:
                            assert resp.status == 204, await resp.text()
                        counts["sent"] += 1

                cpu0, t0 = _cpu(proc), time.perf_counter()
                await asyncio.gather(*(sender() for _ in range(concurrency)))
                elapsed, cpu = time.perf_counter() - t0, _cpu(proc) - cpu0
                await asyncio.sleep(1.5)  # the held events of the last second
                follower.cancel()
            listing = []
            for _ in range(5):
                t = time.perf_counter()
                async with session.get("/api/v3/worker-mgt/workers") as resp:
                    body = await resp.json()
                listing.append(time.perf_counter() - t)
            with_vitals = sum("vitals" in w for w in body["workers"])
    per_report = (cpu - idle_rate * elapsed) / counts["sent"]
    print(f"vitals: {counts['sent']} reports from {workers} workers in {elapsed:.1f} s "
          f"({counts['sent'] / elapsed:.0f} reports/s, {concurrency} at once), {counts['events']} events to one dashboard")
    print(f"  Manager CPU {per_report * 1e6:.0f} µs per report (all its threads, idle CPU of "
          f"{idle_rate * 100:.1f}% of a core taken off), {os.cpu_count()} cores")
    print(f"  {workers} workers reporting every 5 s: {workers / 5:.0f} reports/s = "
          f"{100 * per_report * workers / 5:.1f}% of one core")
    print(f"  worker list with {with_vitals} workers' vitals: median {sorted(listing)[2] * 1000:.1f} ms")


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=300)
    parser.add_argument("--reports", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(bench(args.workers, args.reports, args.concurrency))


if __name__ == "__main__":
    main()

"""Bench: a site's task changes and a followed task's log lines on the hub's event stream.

Run by hand: `.venv/bin/python bench/hub_tasks.py [--samples 40] [--burst 500]`. Prints its
figures; asserts nothing. The hub and one site Manager are real `tablao` subprocesses on
127.0.0.1; a scripted worker at the site (bench/hub.py's) claims one task and changes it. Printed:
the time from a task's change answered at the site to its `task_did_change` on the hub's stream
(changes spaced 0.2 s, so none is gathered with another); the same for a log line of a task
followed at the hub; and for a burst of `--burst` changes as fast as the worker sends them, how
many events the site's own stream and the hub's carried (the link sends the newest of each task
per 0.1 s), with the CPU the hub and the site spent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ManagerProcess  # noqa: E402
from bench.hub import HubProcess, Worker, echo_job  # noqa: E402


class Stream:
    """An event stream, each message's arrival time kept by its text's marker."""

    def __init__(self, url: str):
        self.url, self.seen = url, list[tuple[float, dict]]()
        self.ready = asyncio.Event()

    async def run(self, task_log: str | None = None) -> None:
        async with aiohttp.ClientSession() as http, http.ws_connect(f"{self.url}/api/v3/tablao/events") as ws:
            await ws.send_json({"op": "subscribe", "types": ["task_did_change"]})
            if task_log:
                await ws.send_json({"op": "subscribe", "task_log": task_log})
            self.ready.set()
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.seen.append((time.perf_counter(), json.loads(msg.data)))

    async def wait_for(self, kind: str, text: str, timeout: float = 10.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, msg in reversed(self.seen):
                if msg.get("type") == kind and text in json.dumps(msg.get("data")):
                    return at
            await asyncio.sleep(0.002)
        raise TimeoutError(f"{kind} with {text!r} not seen at {self.url}")

    def count(self, kind: str) -> int:
        return sum(1 for _, msg in self.seen if msg.get("type") == kind)


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def update(worker: Worker, task_id: str, **fields) -> float:
    async with worker.session.post(f"/api/v3/worker/task/{task_id}", headers=worker._auth(), json=fields) as r:
        assert r.status == 204, await r.text()
    return time.perf_counter()


def _ms(figures: list[float]) -> str:
    ordered = sorted(figures)
    return (f"median {statistics.median(ordered) * 1000:.1f} ms, p90 {ordered[int(len(ordered) * 0.9)] * 1000:.1f} ms"
            f" ({len(ordered)} samples)")


async def measure(hub_url: str, site_url: str, pids: dict[str, int], samples: int, burst: int) -> None:
    async with aiohttp.ClientSession(hub_url) as http, http.post("/api/v3/jobs", json=echo_job("tasks", "A")) as r:
        assert r.status == 200, await r.text()
    worker = await Worker(site_url).start()
    task = await worker.claim()
    assert task is not None
    tid = task["uuid"]
    hub, site = Stream(hub_url), Stream(site_url)
    runs = [asyncio.create_task(hub.run(task_log=tid)), asyncio.create_task(site.run())]
    try:
        await hub.ready.wait()
        await site.ready.wait()
        await asyncio.sleep(1.0)  # the hub's follow reaches the site
        changes, lines = [], []
        for i in range(samples):
            answered = await update(worker, tid, activity=f"change {i} of the bench")
            changes.append(await hub.wait_for("task_did_change", f"change {i} of the bench") - answered)
            await asyncio.sleep(0.2)
            answered = await update(worker, tid, log=f"bench line {i}\n")
            lines.append(await hub.wait_for("task_log_did_append", f"bench line {i}\\n") - answered)
            await asyncio.sleep(0.2)
        print(f"a task's change, answered at the site -> on the hub's stream: {_ms(changes)}")
        print(f"a followed task's log line, answered at the site -> on the hub's stream: {_ms(lines)}")

        before_hub, before_site = hub.count("task_did_change"), site.count("task_did_change")
        cpu = {k: _cpu(p) for k, p in pids.items()}
        started = time.perf_counter()
        for i in range(burst):
            await update(worker, tid, activity=f"burst {i}", log=f"burst line {i}\n")
        took = time.perf_counter() - started
        await hub.wait_for("task_did_change", f"burst {burst - 1}\"")
        await asyncio.sleep(0.5)
        spent = {k: _cpu(p) - cpu[k] for k, p in pids.items()}
        print(f"a burst of {burst} changes with a log line each in {took:.2f} s: the site's stream carried "
              f"{site.count('task_did_change') - before_site} task events, the hub's "
              f"{hub.count('task_did_change') - before_hub}; CPU hub {spent['hub']:.2f} s, site {spent['site']:.2f} s")
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        await worker.session.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--burst", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tablao-hub-tasks-") as tmp:
        hub = HubProcess(Path(tmp))
        token = hub.add_site("A")
        hub.start()
        try:
            with ManagerProcess(hub_url=hub.url, hub_site="A", hub_token=token) as site:
                await asyncio.sleep(1.5)
                assert hub.proc is not None and site.proc is not None
                await measure(hub.url, site.url, {"hub": hub.proc.pid, "site": site.proc.pid}, args.samples,
                              args.burst)
        finally:
            hub.stop()


if __name__ == "__main__":
    asyncio.run(main())

"""Bench: a hub with two sites. Time from a submission at the hub to its first task started at the
site, and the hub's memory holding 2 sites x 1,000 jobs.

Run by hand: `.venv/bin/python bench/hub.py [--jobs 1000] [--samples 20]`. Prints its figures;
asserts nothing. The hub and both site Managers are real `tablao` subprocesses on 127.0.0.1; the
worker at site A is a scripted HTTP worker in this process that long-polls for its next task, so
"started" is the moment the site hands the task out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ROOT, ManagerProcess, free_port  # noqa: E402


def echo_job(name: str, site: str | None = None) -> dict:
    job = {"name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
           "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 1}}
    if site:
        job["metadata"] = {"site": site}
    return job


class HubProcess:
    def __init__(self, root: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = root / "HUB.yaml"
        self.config.write_text(yaml.safe_dump({"_meta": {"version": 3}, "listen": f"127.0.0.1:{self.port}",
                                               "database": "hub.sqlite", "sites": ["A", "B"]}))
        self.proc: subprocess.Popen | None = None

    def add_site(self, name: str) -> str:
        done = subprocess.run([sys.executable, "-m", "app", "hub", "add-site", name, "--config", str(self.config)],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        return done.stdout.split()[-1]

    def start(self) -> HubProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "app", "hub", "--headless", "--quiet", "--config",
                                      str(self.config)], cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/v3/version", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("hub did not start")

    def rss_mib(self) -> float:
        assert self.proc is not None
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)


class Worker:
    """Registers, signs on and long-polls at a site; just enough of the worker API for the bench."""

    def __init__(self, url: str):
        self.session = aiohttp.ClientSession(url)
        self.secret, self.uuid = secrets.token_hex(16), ""

    def _auth(self) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{self.uuid}:{self.secret}".encode()).decode()}

    async def start(self) -> Worker:
        types = ["misc"]
        async with self.session.post("/api/v3/worker/register-worker", json={
                "secret": self.secret, "platform": "linux", "supported_task_types": types, "name": "bench"}) as r:
            self.uuid = (await r.json())["uuid"]
        async with self.session.post("/api/v3/worker/sign-on", headers=self._auth(), json={
                "name": "bench", "supported_task_types": types, "software_version": "bench"}) as r:
            wanted = (await r.json())["status_requested"]
        async with self.session.post("/api/v3/worker/state-changed", headers=self._auth(), json={"status": wanted}):
            pass
        return self

    async def claim(self, wait: float = 20) -> dict | None:
        async with self.session.post("/api/v3/worker/task", headers={**self._auth(), "X-Tablao-Wait": str(wait)}) as r:
            return await r.json() if r.status == 200 else None

    async def complete(self, task_id: str) -> None:
        async with self.session.post(f"/api/v3/worker/task/{task_id}", headers=self._auth(),
                                     json={"taskStatus": "completed", "activity": "done", "log": "ok\n"}):
            pass


async def latency(hub_url: str, site_url: str, samples: int) -> list[float]:
    worker = await Worker(site_url).start()
    figures = []
    try:
        async with aiohttp.ClientSession(hub_url) as hub:
            await asyncio.sleep(2.5)  # the worker's sign-on reaches the hub with A's next status
            for i in range(samples):
                claim = asyncio.create_task(worker.claim())
                await asyncio.sleep(0.05)  # the worker waits in its long-poll
                started = time.perf_counter()
                async with hub.post("/api/v3/jobs", json=echo_job(f"latency {i}", "A")) as r:
                    assert r.status == 200, await r.text()
                task = await claim
                figures.append(time.perf_counter() - started)
                while task is not None:
                    await worker.complete(task["uuid"])
                    task = await worker.claim(wait=0.5)
    finally:
        await worker.session.close()
    return figures


async def fill(hub_url: str, per_site: int) -> float:
    started = time.perf_counter()
    async with aiohttp.ClientSession(hub_url) as hub:
        sem = asyncio.Semaphore(8)

        async def one(i: int, site: str) -> None:
            async with sem, hub.post("/api/v3/jobs", json={**echo_job(f"fill {site} {i}", site),
                                                           "initial_status": "paused"}) as r:
                assert r.status == 200, await r.text()
        await asyncio.gather(*(one(i, site) for site in ("A", "B") for i in range(per_site)))
    return time.perf_counter() - started


async def list_jobs(hub_url: str) -> tuple[int, float, int]:
    async with aiohttp.ClientSession(hub_url) as hub:
        started = time.perf_counter()
        async with hub.get("/api/v3/jobs") as r:
            body = await r.read()
        took = time.perf_counter() - started
        return len(json.loads(body)["jobs"]), took, len(body)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per site")
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tablao-hub-bench-") as tmp:
        hub = HubProcess(Path(tmp))
        tokens = {name: hub.add_site(name) for name in ("A", "B")}
        hub.start()
        try:
            with ManagerProcess(hub_url=hub.url, hub_site="A", hub_token=tokens["A"]) as site_a, \
                    ManagerProcess(hub_url=hub.url, hub_site="B", hub_token=tokens["B"]):
                await asyncio.sleep(1.5)
                idle = hub.rss_mib()
                figures = sorted(await latency(hub.url, site_a.url, args.samples))
                print(f"submission at the hub to first task handed out at site A, {len(figures)} jobs: "
                      f"median {statistics.median(figures) * 1000:.0f} ms, "
                      f"p90 {figures[int(len(figures) * 0.9) - 1] * 1000:.0f} ms, max {figures[-1] * 1000:.0f} ms")
                seconds = await fill(hub.url, args.jobs)
                print(f"submitted {2 * args.jobs} jobs through the hub (8 at a time) in {seconds:.1f} s "
                      f"({2 * args.jobs / seconds:.0f}/s)")
                await asyncio.sleep(3)
                count, took, size = await list_jobs(hub.url)
                print(f"hub: GET /api/v3/jobs lists {count} jobs ({size / 2**20:.1f} MiB) in {took * 1000:.0f} ms")
                print(f"hub memory (RSS): {idle:.0f} MiB with 2 idle sites, {hub.rss_mib():.0f} MiB with "
                      f"2 sites x {args.jobs} jobs")
        finally:
            hub.stop()


if __name__ == "__main__":
    asyncio.run(main())

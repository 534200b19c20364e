"""Bench: what the status page reads of a job's site through the hub, against reading the site itself.

Run by hand: `.venv/bin/python bench/hub_page_reads.py [--jobs 200] [--samples 40]`. Prints its
figures; asserts nothing. A hub and one site Manager are real `tablao` subprocesses on 127.0.0.1;
the site holds `--jobs` queued echo jobs submitted through the hub, one of them with a last
rendered frame (a 1920x1080 JPEG written where the site keeps it). Each read (every job's ETA, a
job's task figures, its last-rendered facts, the full-size picture) is timed through the hub and at
the site, alternated in one run, with the CPU the hub and the site spent per read. The ETA through
the hub is one reading shared for 2 s, as the site's is, so it is asked with a pause of 2.1 s
after every read: each is a fresh reading.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ManagerProcess  # noqa: E402
from bench.hub import HubProcess, echo_job  # noqa: E402

FRAMES = ("last-rendered.jpg", "last-rendered-small.jpg", "last-rendered-tiny.jpg")


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise((1920, 1080), 64).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def _timed(session: aiohttp.ClientSession, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    async with session.get(path) as resp:
        body = await resp.read()
        assert resp.status in (200, 204), (path, resp.status, body[:200])
    return time.perf_counter() - started, len(body)


async def compare(hub_url: str, site_url: str, pids: dict[str, int], reads: dict[str, tuple[str, str]],
                  samples: int, pause: dict[str, float]) -> None:
    async with aiohttp.ClientSession(hub_url) as hub, aiohttp.ClientSession(site_url) as site:
        for name, (hub_path, site_path) in reads.items():
            figures: dict[str, list[float]] = {"hub": [], "site": []}
            cpu = {"hub": 0.0, "site": 0.0}
            size = 0
            for _ in range(samples):
                for where, session, path in (("hub", hub, hub_path), ("site", site, site_path)):
                    before = {k: _cpu(p) for k, p in pids.items()}
                    took, size = await _timed(session, path)
                    figures[where].append(took)
                    cpu[where] += sum(_cpu(p) - before[k] for k, p in pids.items())
                    await asyncio.sleep(pause.get(name, 0))  # past both ends' shared readings
            print(f"{name} ({size / 1024:.0f} KiB): through the hub median "
                  f"{statistics.median(figures['hub']) * 1000:.1f} ms, {cpu['hub'] / samples * 1000:.1f} ms CPU "
                  f"(hub + site) per read; at the site median {statistics.median(figures['site']) * 1000:.1f} ms, "
                  f"{cpu['site'] / samples * 1000:.1f} ms CPU")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tablao-hub-reads-") as tmp:
        hub = HubProcess(Path(tmp))
        token = hub.add_site("A")
        hub.start()
        try:
            with ManagerProcess(hub_url=hub.url, hub_site="A", hub_token=token) as site:
                await asyncio.sleep(1.5)
                async with aiohttp.ClientSession(hub.url) as http:
                    ids = []
                    for i in range(args.jobs):
                        async with http.post("/api/v3/jobs", json=echo_job(f"reads {i}", "A")) as r:
                            ids.append((await r.json())["id"])
                job = ids[0]
                folder = site.root / "storage" / f"job-{job[:4]}" / job
                folder.mkdir(parents=True, exist_ok=True)
                picture = _jpeg()
                for name in FRAMES:
                    (folder / name).write_bytes(picture)
                assert hub.proc is not None and site.proc is not None
                pids = {"hub": hub.proc.pid, "site": site.proc.pid}
                reads = {
                    "every job's ETA": ("/api/v3/tablao/jobs/eta", "/api/v3/tablao/jobs/eta"),
                    "a job's task figures": (f"/api/v3/tablao/jobs/{job}/task-stats",) * 2,
                    "a job's last-rendered facts": (f"/api/v3/jobs/{job}/last-rendered",) * 2,
                    "its full-size frame": (f"/api/v3/tablao/hub/frames/{job}/last-rendered.jpg",
                                            f"/job-files/job-{job[:4]}/{job}/last-rendered.jpg"),
                }
                print(f"{args.jobs} queued jobs at site A, {args.samples} reads each, alternated:")
                await compare(hub.url, site.url, pids, reads, args.samples, {"every job's ETA": 2.1})
        finally:
            hub.stop()


if __name__ == "__main__":
    asyncio.run(main())

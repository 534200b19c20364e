"""Bench: compile+store a 10,000-frame Blender job, and GET /api/v3/jobs/{id} under 20 clients.

Run by hand: `.venv/bin/python bench/compile.py`. Prints its figures; asserts nothing.
The Manager runs as a real `tablao manager --headless` subprocess; the load comes from this one.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ManagerProcess  # noqa: E402

FRAMES = 10_000
CLIENTS = 20
LOAD_SECONDS = 5.0


def blender_job(frames: int) -> dict:
    return {"name": "bench", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
            "settings": {"frames": f"1-{frames}", "chunk_size": 1, "render_output_root": "/tmp/out",
                         "add_path_components": 0, "render_output_path": "/tmp/out/bench/######",
                         "blendfile": "/tmp/scene.blend", "fps": 24.0, "format": "PNG",
                         "image_file_extension": ".png", "has_previews": False, "scene": "Scene"}}


async def submit(session: aiohttp.ClientSession, frames: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    async with session.post("/api/v3/jobs", json=blender_job(frames)) as resp:
        body = await resp.json()
        assert resp.status == 200, body
    return time.perf_counter() - t0, body


async def load(url: str, path: str) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + LOAD_SECONDS
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(url, connector=connector) as session:
        async def client() -> None:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                async with session.get(path) as resp:
                    await resp.read()
                    assert resp.status == 200
                latencies.append(time.perf_counter() - t0)
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return len(latencies), latencies


async def main() -> None:
    with ManagerProcess() as manager:
        async with aiohttp.ClientSession(manager.url) as session:
            await submit(session, 10)  # warm up: job types loaded, JS engine started
            times = []
            for _ in range(3):
                elapsed, job = await submit(session, FRAMES)
                times.append(elapsed)
            async with session.get(f"/api/v3/jobs/{job['id']}/tasks") as resp:
                tasks = (await resp.json())["tasks"]
        print(f"submit {FRAMES}-frame job (chunk 1, {len(tasks)} tasks): "
              f"best {min(times):.3f}s, median {statistics.median(times):.3f}s over {len(times)} runs")
        count, lat = await load(manager.url, f"/api/v3/jobs/{job['id']}")
        lat.sort()
        print(f"GET /api/v3/jobs/{{id}} with {CLIENTS} concurrent clients: {count / LOAD_SECONDS:.0f} req/s, "
              f"p50 {lat[len(lat) // 2] * 1000:.1f} ms, p95 {lat[int(len(lat) * 0.95)] * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())

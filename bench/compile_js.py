"""Bench: compile a 10,000-frame, chunk-size-1 simple-blender-render job with the JS job compiler.

Run by hand: `/work/venv/bin/python bench/compile_js.py [frames]`. Prints figures; asserts nothing.
Times `JobCompiler.compile()` end to end (child process round trip, JSON decoding and the
AuthoredJob checks included), after one warm-up compile that also starts the child.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.manager.job_compilers import JobCompiler

RUNS = 5


def blender_job(frames: int) -> dict:
    return {
        "name": "bench", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
        "settings": {
            "frames": f"1-{frames}", "chunk_size": 1, "render_output_root": "/tmp/out", "add_path_components": 0,
            "render_output_path": "/tmp/out/bench/{timestamp}/######", "blendfile": "/tmp/scene.flamenco.blend",
            "fps": 24.0, "format": "PNG", "image_file_extension": ".png", "has_previews": False, "scene": "Scene",
        },
    }  # fmt: skip


async def main(frames: int) -> None:
    compiler = JobCompiler(None)
    job = blender_job(frames)
    try:
        started = time.perf_counter()
        first = await compiler.compile(job, job_id="bench", created=datetime.now(UTC))
        print(f"first compile (starts the child process): {time.perf_counter() - started:.3f} s")
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            await compiler.compile(job, job_id="bench", created=datetime.now(UTC))
            times.append(time.perf_counter() - started)
        print(f"{frames} frames, chunk size 1 -> {len(first.tasks)} tasks")
        print(
            f"warm compile: median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s"
        )
    finally:
        await compiler.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))

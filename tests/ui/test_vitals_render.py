"""End to end, as a lead sees it: a real `tablao worker --headless` renders with Debian's Blender for
a real Manager, and the dashboard's worker row shows the frame and its samples while Blender renders,
with the machine's CPU, memory and the Blender version, and no frame once the job is done.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time

import pytest

from app.ui.launch import open_dashboard
from app.ui.models.columns import column_of
from app.worker.blender_version import parse_version
from tests.e2e.farm import WorkerProcess, blender_job, have_blender, make_blend
from tests.ui.conftest import ManagerProcess, wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg")]

SAMPLES = 1500
# Blender 3.4 prints a short frame's samples only as it starts and ends ("Sample 1/1500", then
# "Sample 1500/1500"), so the figure is checked for its shape and bounds, not for moving on.
RENDERING = re.compile(rf"^frame ([12]) · (\d+)/{SAMPLES} samples$")


def test_the_worker_row_shows_the_frame_and_samples_while_blender_renders_and_none_after(qloop, tmp_path):
    manager = ManagerProcess(tmp_path / "manager").start()
    shared = tmp_path / "manager" / "shared"
    blend = make_blend(shared / "vitals.blend", frames=2, samples=SAMPLES, width=160, height=120,
                       adaptive=False)  # about 4 s a frame: several vitals reports fall inside each
    worker = WorkerProcess(manager.url, tmp_path, "render-01", vitals_every_s=1).start()
    said = subprocess.run(["blender", "--version"], capture_output=True, text=True, timeout=60).stdout

    async def body():
        dashboard, window = await open_dashboard([manager.url], admin_tokens=manager.admin_tokens)
        model = dashboard.workers

        def cell(title: str) -> str:
            keys = model.keys()
            return model.index(model.row_of(keys[0]), column_of(model, title)).data() if keys else ""

        try:
            # The first report has no CPU figures (a CPU's use needs two readings).
            await wait_for(lambda: not {"", "—"} & {cell("Blender"), cell("CPU")}, 60,
                           "the idle worker's vitals")
            assert cell("Blender") == parse_version(said)
            assert re.fullmatch(r"\d+% of \d+", cell("CPU")), cell("CPU")
            assert re.fullmatch(r"[\d.]+ / [\d.]+ GiB", cell("Memory")), cell("Memory")
            assert cell("Frame") == ""  # idle: no frame

            job = manager.send("POST", "/api/v3/jobs", blender_job(blend, shared / "out", frames="1-2",
                                                                    chunk_size=2, name="vitals render"))
            frames: set[int] = set()
            shown: list[tuple[str, str]] = []  # what the row said, each time it changed
            deadline = time.monotonic() + 120
            while frames != {1, 2}:  # each frame while Blender renders it
                now = (cell("Frame"), cell("Task"))
                if not shown or shown[-1] != now:
                    shown.append(now)
                found = RENDERING.match(now[0] or "")
                if found:
                    frames.add(int(found.group(1)))
                    assert 0 <= int(found.group(2)) <= SAMPLES
                    assert "vitals render" in now[1], now  # the frame goes with the task that renders it
                assert time.monotonic() < deadline, f"not every frame shown as it rendered: {shown[-12:]}"
                await asyncio.sleep(0.1)

            def status() -> str:
                return manager.get(f"/api/v3/jobs/{job['id']}")["status"]

            await wait_for(lambda: status() in ("completed", "failed"), 240, "the job to finish")
            assert status() == "completed", worker.output()[-3000:]
            await wait_for(lambda: cell("Frame") == "" and cell("Task") == "", 20,
                           "no frame after the render")
            assert cell("Blender") == parse_version(said)  # the worker is still live: its vitals stay
        finally:
            window.close()
            await dashboard.close()

    try:
        qloop.run_until_complete(body())
    finally:
        worker.stop()
        manager.stop()

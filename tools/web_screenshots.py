"""Screenshots of the status page (the farm in a browser) for README.md, in headless Chromium.

    .venv/bin/python tools/web_screenshots.py [--out docs/screenshots]

Starts a Manager and two real worker processes in a temp folder, submits a small Blender render
made with Debian's `blender` (and a few other jobs: finished, paused, waiting), waits until frames
came back, and saves, from Debian's `chromium`: the job list (browser-jobs.png), a job with its
last frame, tasks and live log, as seen with the admin token (browser-job.png), the workers
(browser-workers.png) and a job on a phone's width (browser-phone.png).
Look at every picture afterwards: clipped text, empty panes and overlaps are bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.5)


def _tasks(manager, job_id: str) -> list[dict]:
    return manager.get(f"/api/v3/jobs/{job_id}/tasks")["tasks"]


async def shoot(out: Path, tmp: Path) -> None:
    from tests.chromium import Chromium
    from tests.e2e.farm import WorkerProcess, blender_job, make_blend
    from tests.ui.conftest import ManagerProcess

    manager = ManagerProcess(tmp / "manager").start()
    workers = []
    try:
        shared = tmp / "manager" / "shared"
        for n, who in enumerate(["joao@anim-01", "ines@comp-03"]):
            user, host = who.split("@")
            manager.send("POST", "/api/v3/jobs", {
                "name": f"lighting_test_{n}", "type": "echo-sleep-test", "priority": 60, "submitter_platform": "linux",
                "metadata": {"user.name": user, "user.host": host},
                "settings": {"message": "test", "sleep_duration_seconds": 0, "sleep_repeats": 2}})
        blend = make_blend(shared / "shot_010" / "shot_010.blend", frames=40, samples=16, width=480, height=270)
        body = blender_job(blend, shared / "out", frames="1-40", chunk_size=2, name="shot_010 final")
        body["metadata"] = {"user.name": "maria", "user.host": "lighting-02"}
        job = manager.send("POST", "/api/v3/jobs", body)
        paused = blender_job(blend, shared / "out2", frames="1-120", chunk_size=10, name="shot_030 fx")
        paused.update(metadata={"user.name": "ines", "user.host": "comp-03"}, initial_status="paused")
        manager.send("POST", "/api/v3/jobs", paused)
        waiting = blender_job(blend, shared / "out3", frames="1-240", chunk_size=8, name="shot_020 anim")
        waiting.update(metadata={"user.name": "joao", "user.host": "anim-01"}, priority=30)
        manager.send("POST", "/api/v3/jobs", waiting)
        workers = [WorkerProcess(manager.url, tmp, name).start() for name in ("render-01", "render-02")]

        def far_enough() -> bool:
            done = [t for t in _tasks(manager, job["id"]) if t["status"] == "completed"]
            return len(done) >= 4 and manager.get(f"/api/v3/jobs/{job['id']}/last-rendered") is not None

        await _until(far_enough, 300, "four finished render tasks and a last frame")

        async with Chromium() as browser:
            page = await browser.new_page(1400, 860)
            await page.goto(manager.url + "/")
            await page.wait_for("document.body.dataset.link === 'live' && "
                                "document.querySelectorAll('#jobs-table .c-frame img:not([hidden])').length")
            await asyncio.sleep(1.0)
            await page.screenshot(out / "browser-jobs.png")

            await page.evaluate(f"localStorage.setItem('tablao.adminToken', {manager.admin_token!r})")
            active = next(t for t in _tasks(manager, job["id"]) if t["status"] == "active")
            await page.goto(f"{manager.url}/#/jobs/{job['id']}/tasks/{active['id']}")
            await page.evaluate("location.reload()")
            await asyncio.sleep(0.5)
            await page.wait_for("document.body.dataset.link === 'live' && !document.querySelector('#job-frame-img').hidden"
                                " && document.querySelectorAll('#job-actions button').length")
            await page.wait_for("document.querySelector('#task-log').textContent.length > 200", 30)
            await asyncio.sleep(1.0)
            await page.screenshot(out / "browser-job.png")

            # Wide enough for every column of the worker list (a narrower window scrolls sideways),
            # at a moment both workers are rendering a frame.
            wide = await browser.new_page(1800, 400)
            await wide.goto(manager.url + "/#/workers")
            await wide.wait_for("document.querySelector('#workers-table').dataset.rows === '2'")
            await wide.wait_for("[...document.querySelectorAll('#workers-table .vt-body-row .c-render')]"
                                ".filter(c => c.textContent.startsWith('frame')).length === 2", 60)
            await asyncio.sleep(0.3)
            await wide.screenshot(out / "browser-workers.png")

            phone = await browser.new_page(390, 780, mobile=True)
            await phone.goto(f"{manager.url}/#/jobs/{job['id']}")
            await phone.wait_for("document.body.dataset.link === 'live' && !document.querySelector('#job-frame-img').hidden")
            await asyncio.sleep(1.0)
            await phone.screenshot(out / "browser-phone.png")
            assert not page.exceptions and not phone.exceptions and not wide.exceptions, (
                page.exceptions + phone.exceptions + wide.exceptions)
    finally:
        for worker in workers:
            worker.stop()
        manager.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tablao-web-shots-") as tmp:
        asyncio.run(shoot(args.out, Path(tmp)))
    print(f"saved browser-jobs.png, browser-job.png, browser-workers.png and browser-phone.png in {args.out}")


if __name__ == "__main__":
    main()

"""The picture bomb of the security finding, against a real Manager in its own process.

A registered worker (the real worker API, HTTP Basic) posted a 1.3 MB, 13,000 x 13,000 16-bit RGBA PNG
to `output-produced` three times and took the Manager from 80 to 3,375 MiB. Here the Manager runs as
its own process, so its resident memory is its own: the bomb must be refused by its header (413, in
words naming both sizes), frames up to the pixel limit must still become thumbnails, and the Manager's
peak (the kernel's VmHWM, reset once it is idle) must stay within 100 MiB of its idle figure.
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from tests import picture_files
from tests.conftest import echo_job
from tests.http_worker import HttpWorker
from tests.ui.conftest import ManagerProcess

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the Manager's memory")

MIB = 2**20
BUDGET_MIB = 100


def _status_mib(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {key} for process {pid}")


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM back to the current RSS


@pytest.fixture
def manager_process(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TABLAO_HOME", str(tmp_path / "home"))
    proc = ManagerProcess(tmp_path / "manager").start()
    try:
        yield proc
    finally:
        proc.stop()


async def _post(worker: HttpWorker, task_id: str, data: bytes, content_type: str) -> tuple[int, str]:
    path = f"/api/v3/worker/task/{task_id}/output-produced"
    async with worker.session.post(path, data=data, headers={**worker.auth_header, "Content-Type": content_type}) as r:
        body = await r.json() if r.content_type == "application/json" else {}
        return r.status, body.get("message", "")


async def _main_thumbnail(session: aiohttp.ClientSession, job_id: str, wanted=lambda image: True) -> Image.Image:
    """The job's `last-rendered.jpg` once `wanted(it)`; a Manager that answers 202 first may take a while."""
    for _ in range(600):
        async with session.get(f"/api/v3/jobs/{job_id}/last-rendered") as resp:
            info = await resp.json() if resp.status == 200 else None
        if info is not None:
            async with session.get(f"{info['base']}/last-rendered.jpg") as resp:
                image = Image.open(io.BytesIO(await resp.read())) if resp.status == 200 else None
            if image is not None and wanted(image):
                return image
        await asyncio.sleep(0.2)
    raise AssertionError("the frame's thumbnail did not appear within 2 minutes")


def _not_black(image: Image.Image) -> bool:
    return image.getpixel((image.width // 2, image.height // 2)) != (0, 0, 0)


@pytest.mark.slow  # a Manager process decoding 8K pictures
async def test_a_worker_picture_bomb_is_refused_and_the_manager_stays_within_100_mib(manager_process):
    bomb = picture_files.picture_bomb()
    assert 1_200_000 < len(bomb) < 1_400_000  # the finding's 1.3 MB
    full_hd = picture_files.frame((1920, 1080), "JPEG", quality=85)
    at_limit = picture_files.blank_png(7680, 4320)  # an 8K UHD frame, 16-bit RGBA as Blender can write it

    job = manager_process.send("POST", "/api/v3/jobs", echo_job("bombed"))
    worker = await HttpWorker(manager_process.url, name="rogue").register_and_sign_on()
    try:
        status, task = await worker.claim()
        assert status == 200, task
        pid = manager_process.proc.pid
        idle = _status_mib(pid, "VmRSS")
        _reset_peak(pid)

        bomb_answers = [await _post(worker, task["uuid"], bomb, "image/png") for _ in range(3)]
        status, message = await _post(worker, task["uuid"], full_hd, "image/jpeg")
        assert status == 202, message
        # Its thumbnail shows once everything posted before it is dealt with.
        assert (await _main_thumbnail(worker.session, job["id"], _not_black)).size == (1920, 1080)
        bomb_peak = _status_mib(pid, "VmHWM") - idle
        assert bomb_peak < BUDGET_MIB, f"the Manager grew {bomb_peak:,.0f} MiB over its idle {idle:.0f} MiB"
        for status, message in bomb_answers:
            assert status == 413, message
            assert "13000 x 13000" in message and "last_rendered_max_pixels" in message, message

        status, message = await _post(worker, task["uuid"], at_limit, "image/png")
        assert status == 202, message
        thumbnail = await _main_thumbnail(worker.session, job["id"], lambda image: not _not_black(image))
        assert thumbnail.size == (1920, 1080)
        peak = _status_mib(pid, "VmHWM") - idle
        assert peak < BUDGET_MIB, f"the Manager grew {peak:,.0f} MiB over its idle {idle:.0f} MiB"
    finally:
        await worker.close()
    log = (manager_process.root / "manager.log").read_text()
    assert "Traceback" not in log, log[-3000:]

"""Hostile and broken pictures posted to `output-produced` by a worker, over real HTTP.

Each gets a 4xx whose message says what is wrong (never a 5xx), leaves no file behind and no
traceback in the log; the Manager keeps making thumbnails of good frames afterwards.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests import picture_files
from tests.conftest import echo_job
from tests.http_worker import HttpWorker

_truncated_png = picture_files.frame((400, 300), "PNG")
_truncated_jpeg = picture_files.frame((400, 300), "JPEG")

CASES = {
    # name: (body, content type, status, words in the message)
    "garbage": (b"\x00\x01garbage" * 100, "image/png", 415, "neither a JPEG nor a PNG"),
    "empty": (b"", "image/jpeg", 415, "empty"),
    "gif": (picture_files.frame((20, 20), "GIF"), "image/png", 415, "neither a JPEG nor a PNG"),
    "truncated png": (_truncated_png[: len(_truncated_png) // 2], "image/png", 415, "truncated"),
    "truncated jpeg": (_truncated_jpeg[: len(_truncated_jpeg) // 2], "image/jpeg", 415, "cannot be decoded"),
    "png header lies bigger": (picture_files.lying_png(claimed=(4000, 3000)), "image/png", 415, "ends early"),
    "png header lies smaller": (picture_files.lying_png(claimed=(16, 16), actual=(640, 480)), "image/png", 415,
                                "more image data"),
    "png zero width": (picture_files.header_only_png(0, 480), "image/png", 415, "no pixels"),
    "jpeg zero height": (picture_files.jpeg_header(640, 0), "image/jpeg", 415, "no pixels"),
    "png huge header": (picture_files.header_only_png(2**31 - 1, 2**31 - 1), "image/png", 413,
                        "2147483647 x 2147483647"),
    "jpeg huge header": (picture_files.jpeg_header(65535, 65535), "image/jpeg", 413, "65535 x 65535"),
    "bomb sent as jpeg": (picture_files.picture_bomb(), "image/jpeg", 413, "13000 x 13000"),
    "progressive jpeg cut short": (picture_files.frame((3000, 2000), "JPEG", progressive=True)[:5000],
                                   "image/jpeg", 415, "cannot be decoded"),
    "wrong content type": (_truncated_png, "image/gif", 415, "takes image/jpeg or image/png"),
}


class Painter:
    """A signed-on worker running a task of a job: it may post that task's output."""

    def __init__(self, worker: HttpWorker, job: dict, task: dict):
        self.worker, self.job = worker, job
        self.path = f"/api/v3/worker/task/{task['uuid']}/output-produced"

    async def post(self, data: bytes, content_type: str) -> tuple[int, dict]:
        headers = {**self.worker.auth_header, "Content-Type": content_type}
        async with self.worker.session.post(self.path, data=data, headers=headers) as resp:
            body = await resp.json() if resp.content_type == "application/json" else {}
            return resp.status, body


@pytest.fixture
async def painter(manager):
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job("pictures"))
    worker = await HttpWorker(manager.url, name="painter").register_and_sign_on()
    status, task = await worker.claim()
    assert status == 200, task
    yield Painter(worker, job, task)
    await worker.close()


async def test_every_bad_picture_gets_a_4xx_in_words_and_good_ones_still_work(manager, painter, caplog):
    caplog.set_level(logging.INFO)
    post, job = painter.post, painter.job
    for name, (data, content_type, want_status, words) in CASES.items():
        status, body = await post(data, content_type)
        assert status == want_status, (name, status, body)
        assert body["code"] == want_status and words in body["message"], (name, body)
    status, body = await post(picture_files.frame((640, 360), "JPEG"), "image/jpeg")
    assert status == 202, body
    status, info = await manager.request("GET", f"/api/v3/jobs/{job['id']}/last-rendered")
    assert status == 200 and info["suffixes"][0] == "last-rendered.jpg"

    storage = manager.services.last_rendered
    assert list(storage.incoming_dir.iterdir()) == []
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert not noisy, [r.getMessage() for r in noisy]


async def test_a_picture_over_a_configured_limit_is_413_and_one_at_it_is_taken(manager_factory):
    manager = await manager_factory(last_rendered_max_pixels=640 * 360)
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job("limit"))
    worker = await HttpWorker(manager.url, name="limited").register_and_sign_on()
    try:
        _, task = await worker.claim()
        path = f"/api/v3/worker/task/{task['uuid']}/output-produced"
        for size, want in (((640, 361), 413), ((640, 360), 202)):
            data = picture_files.frame(size, "PNG")
            async with worker.session.post(path, data=data, headers={**worker.auth_header,
                                                                     "Content-Type": "image/png"}) as resp:
                assert resp.status == want, await resp.text()
                if want == 413:
                    message = (await resp.json())["message"]
                    assert "640 x 361 pixels" in message and "230,400 pixels" in message
    finally:
        await worker.close()


async def test_a_busy_manager_says_429_without_reading_the_body(manager, painter, caplog):
    caplog.set_level(logging.INFO)
    post, auth = painter.post, painter.worker.auth_header
    slow = []
    for _ in range(3):  # three uploads still arriving hold the three places in the queue
        reader, writer = await asyncio.open_connection("127.0.0.1", manager.service.port)
        writer.write(f"POST {painter.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
                     "Content-Type: image/png\r\nContent-Length: 100000\r\n\r\n".encode() + picture_files.PNG_MAGIC)
        await writer.drain()
        slow.append(writer)
    try:
        for _ in range(50):
            status, body = await post(picture_files.picture_bomb(), "image/png")
            if status == 429:
                break
            await asyncio.sleep(0.05)  # the slow ones' headers may still be on their way
        assert status == 429 and "skip this one" in body["message"], body
    finally:
        for writer in slow:
            writer.transport.abort()
    for _ in range(50):  # their places come back when they hang up
        status, body = await post(picture_files.frame((64, 64), "PNG"), "image/png")
        if status == 202:
            break
        await asyncio.sleep(0.05)
    assert status == 202, body
    assert list(manager.services.last_rendered.incoming_dir.iterdir()) == []
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert not noisy, [r.getMessage() for r in noisy]  # hanging up mid-upload is no error

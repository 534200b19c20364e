"""What hostile or broken clients leave in the Manager's log: neither may flood it.

A client that hangs up mid-upload is one INFO line without a traceback; a line that repeats in a
loop is written once and then counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging

import pytest

from app.common.logsetup import RepeatCollapser

HANG_GUARD = 20.0


async def _hang_up_mid_body(manager, path: str, declared: int, sent: bytes, content_type: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", manager.service.port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                 f"Content-Length: {declared}\r\n\r\n".encode() + sent)
    await writer.drain()
    await asyncio.sleep(0.1)  # the handler is reading the body now
    writer.transport.abort()


async def _records_about(caplog, path: str) -> list[logging.LogRecord]:
    async with asyncio.timeout(HANG_GUARD):
        while not any(path in r.getMessage() for r in caplog.records):
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # anything else it was going to log about this request
    return [r for r in caplog.records if r.name.startswith("app") or r.levelno >= logging.WARNING]


@pytest.mark.parametrize("what", ["shaman upload", "job submission"])
async def test_a_client_that_hangs_up_mid_upload_is_one_info_line(manager, caplog, what):
    caplog.set_level(logging.INFO)
    if what == "shaman upload":
        size = 4 * 1024 * 1024
        path = f"/api/v3/shaman/files/{hashlib.sha256(b'x' * size).hexdigest()}/{size}"
        await _hang_up_mid_body(manager, path, size, b"x" * 200_000, "application/octet-stream")
    else:
        path = "/api/v3/jobs"
        await _hang_up_mid_body(manager, path, 100_000, b'{"name": "' + b"n" * 5_000, "application/json")
    records = await _records_about(caplog, path)
    about = [r for r in records if path in r.getMessage()]
    assert len(about) == 1, [r.getMessage() for r in about]
    assert about[0].levelno == logging.INFO and about[0].exc_info is None
    assert not [r for r in records if r.levelno >= logging.WARNING], [r.getMessage() for r in records]
    status, _ = await manager.request("GET", "/api/v3/version")
    assert status == 200


def _collapsing_logger(name: str, clock) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    RepeatCollapser.install_on(handler, summary_every=10.0, clock=clock)
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log, out


def test_repeated_lines_are_written_once_and_counted():
    now = [0.0]
    log, out = _collapsing_logger("tests.noise.repeats", lambda: now[0])
    for _ in range(5_000):
        log.error("socket.accept() out of system resource: [Errno 24] Too many open files")
    log.info("serving again")
    assert out.getvalue().splitlines() == [
        "ERROR socket.accept() out of system resource: [Errno 24] Too many open files",
        "ERROR socket.accept() out of system resource: [Errno 24] Too many open files (repeated 4,999 times)",
        "INFO serving again",
    ]


@pytest.mark.slow  # waits for the summaries
def test_an_endless_repeat_is_summarised_every_few_seconds():
    now = [0.0]
    log, out = _collapsing_logger("tests.noise.endless", lambda: now[0])
    for i in range(200_000):  # 20 s of a tight loop, 10,000 lines a second
        now[0] = i / 10_000
        log.error("accept failed")
    lines = out.getvalue().splitlines()
    assert lines[0] == "ERROR accept failed"
    assert 1 <= len(lines) - 1 <= 2 and all(line.startswith("ERROR accept failed (repeated ") for line in lines[1:])
    assert len(out.getvalue()) < 200


def test_different_lines_are_all_written():
    log, out = _collapsing_logger("tests.noise.distinct", lambda: 0.0)
    for i in range(100):
        log.warning("worker %d timed out", i)
    assert len(out.getvalue().splitlines()) == 100

"""Log batching and ordering of task updates."""

from __future__ import annotations

import asyncio

from app.api.enums import TaskStatus
from app.api.models import WorkerTaskUpdate
from app.worker.task_reporter import TaskReporter
from app.worker.upstream_buffer import SendResult
from tests.worker.recording import RecordingSink


async def test_lines_are_batched_until_the_size_limit() -> None:
    sink = RecordingSink()
    async with TaskReporter(sink, "t", max_log_bytes=1000, max_log_age_s=60) as reporter:
        for n in range(100):
            reporter.log(f"line {n:03d} " + "x" * 40)  # ~50 bytes each → a batch every ~20 lines
        await reporter.flush()
    batches = [p["log"] for p in sink.payloads]
    assert 4 <= len(batches) <= 6
    assert all(len(b.encode()) <= 1100 for b in batches)
    lines = "".join(batches).splitlines()
    assert lines == [f"line {n:03d} " + "x" * 40 for n in range(100)]


async def test_default_batch_is_about_8_kib() -> None:
    sink = RecordingSink()
    async with TaskReporter(sink, "t", max_log_age_s=60) as reporter:
        for _ in range(200):
            reporter.log("y" * 99)  # 100 bytes with the newline
        await asyncio.sleep(0.05)
        assert len(sink.payloads) == 2  # 2 full batches of 8 KiB went out by size
        assert all(8 * 1024 <= len(p["log"]) < 8 * 1024 + 100 for p in sink.payloads)
        await reporter.flush()
    assert len("".join(p["log"] for p in sink.payloads)) == 200 * 100


async def test_lines_are_sent_after_the_age_limit() -> None:
    sink = RecordingSink()
    async with TaskReporter(sink, "t", max_log_bytes=10_000, max_log_age_s=0.2) as reporter:
        reporter.log("first")
        reporter.log("second")
        await asyncio.sleep(0.1)
        assert sink.payloads == []
        await asyncio.sleep(0.3)
        assert sink.payloads == [{"log": "first\nsecond\n"}]


async def test_progress_carries_pending_lines_in_order() -> None:
    sink = RecordingSink()
    async with TaskReporter(sink, "t", max_log_age_s=60) as reporter:
        reporter.log("a")
        reporter.progress(activity="Rendering frame 1")
        reporter.progress(steps_completed=1)
        reporter.log("b")
        result = await reporter.send(WorkerTaskUpdate(TaskStatus.FAILED, activity="Failed: x", log="Failed: x\n"))
    assert result is SendResult.DELIVERED
    assert sink.payloads == [
        {"activity": "Rendering frame 1", "log": "a\n"},
        {"steps_completed": 1},
        {"taskStatus": "failed", "activity": "Failed: x", "log": "b\nFailed: x\n"},
    ]


async def test_rejection_stops_further_sending() -> None:
    sink = RecordingSink()
    sink.reject_after = 1
    async with TaskReporter(sink, "t") as reporter:
        assert await reporter.send(WorkerTaskUpdate(activity="one")) is SendResult.DELIVERED
        assert await reporter.send(WorkerTaskUpdate(activity="two")) is SendResult.REJECTED
        assert reporter.rejected.is_set()
        assert await reporter.send(WorkerTaskUpdate(activity="three")) is SendResult.REJECTED
    assert sink.payloads == [{"activity": "one"}]


async def test_age_limit_applies_to_lines_logged_while_the_sender_is_idle() -> None:
    sink = RecordingSink()
    async with TaskReporter(sink, "t", max_log_bytes=10_000, max_log_age_s=0.1) as reporter:
        await asyncio.sleep(0.05)  # the sender is now waiting with no deadline
        reporter.log("late")
        await asyncio.sleep(0.3)
        assert sink.payloads == [{"log": "late\n"}]

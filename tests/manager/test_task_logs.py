"""Tests for task log storage: layout, appends, rotation, tails and concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.manager.jobs.local_storage import InvalidStorageId, LocalStorage
from app.manager.jobs.task_logs import TaskLogs

JOB = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TASK = "11111111-2222-4333-8444-555555555555"


class _FixedClock:
    def now(self) -> dt.datetime:
        return dt.datetime(2024, 5, 1, 12, 34, 56, 789000, tzinfo=dt.UTC)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.fixture
async def logs(storage: LocalStorage) -> AsyncIterator[TaskLogs]:
    task_logs = TaskLogs(storage, clock=_FixedClock())
    yield task_logs
    await task_logs.close()


def small_logs(storage: LocalStorage, max_bytes: int, keep: int = 3) -> TaskLogs:
    return TaskLogs(storage, max_bytes=max_bytes, keep=keep)


# Layout and path safety ------------------------------------------------------


def test_job_dir_layout(storage: LocalStorage) -> None:
    assert storage.job_dir(JOB) == storage.root / "job-0f1e" / JOB
    assert storage.job_url_base(JOB) == f"/job-files/job-0f1e/{JOB}"


def test_ids_are_normalised_to_lowercase(storage: LocalStorage) -> None:
    assert storage.job_dir(JOB.upper()) == storage.job_dir(JOB)


@pytest.mark.parametrize("bad", ["../../etc", "job", "", "0f1e/../..", "C:\\x", "a" * 36])
def test_non_uuid_ids_are_refused(storage: LocalStorage, bad: str) -> None:
    with pytest.raises(InvalidStorageId) as excinfo:
        storage.job_dir(bad)
    assert excinfo.value.status == 400


@pytest.mark.parametrize("bad", ["../x", "a/b", ".hidden", "", "c:evil"])
def test_file_names_must_be_plain(storage: LocalStorage, bad: str) -> None:
    with pytest.raises(InvalidStorageId):
        storage.job_file(JOB, bad)


def test_remove_job_dir_removes_empty_prefix_dir(storage: LocalStorage) -> None:
    job_dir = storage.ensure_job_dir(JOB)
    (job_dir / "task-x.txt").write_text("hi")
    assert storage.remove_job_dir(JOB) is True
    assert not job_dir.exists()
    assert not job_dir.parent.exists()
    assert storage.remove_job_dir(JOB) is False


def test_remove_job_dir_keeps_shared_prefix_dir(storage: LocalStorage) -> None:
    other = JOB[:4] + "aaaa" + JOB[8:]
    storage.ensure_job_dir(JOB)
    storage.ensure_job_dir(other)
    storage.remove_job_dir(JOB)
    assert storage.job_dir(other).is_dir()


# Appending and reading --------------------------------------------------------


async def test_append_creates_file_in_job_dir(logs: TaskLogs, storage: LocalStorage) -> None:
    await logs.append(JOB, TASK, "first line\nsecond line")
    assert await logs.whole(JOB, TASK) == "first line\nsecond line\n"
    await logs.drain()
    expected = storage.root / "job-0f1e" / JOB / f"task-{TASK}.txt"
    assert expected.read_text() == "first line\nsecond line\n"
    assert logs.log_url_path(JOB, TASK) == f"/job-files/job-0f1e/{JOB}/task-{TASK}.txt"
    assert await logs.size(JOB, TASK) == len("first line\nsecond line\n")


async def test_missing_log_reads_empty(logs: TaskLogs) -> None:
    assert await logs.tail(JOB, TASK) == ""
    assert await logs.whole(JOB, TASK) == ""
    assert await logs.size(JOB, TASK) == 0
    assert await logs.parts(JOB, TASK) == []


async def test_manager_lines_are_timestamped(logs: TaskLogs) -> None:
    logs.queue_manager_lines([(JOB, TASK, "task changed status queued -> active")])
    logs.queue_manager_lines([(JOB, TASK, "two\nlines")])
    assert await logs.whole(JOB, TASK) == (
        "2024-05-01T12:34:56.789Z task changed status queued -> active\n"
        "2024-05-01T12:34:56.789Z two\n"
        "2024-05-01T12:34:56.789Z lines\n"
    )


async def test_bad_task_id_is_refused(logs: TaskLogs) -> None:
    with pytest.raises(InvalidStorageId):
        await logs.append(JOB, "../../../etc/passwd", "x")


async def test_ids_in_other_spellings_reach_the_same_file_and_bad_ones_stay_refused(logs: TaskLogs) -> None:
    # Paths are cached per job and per task; a refused id must not be cached as a path.
    await logs.append(JOB, TASK, "one")
    await logs.append(JOB.upper(), "{" + TASK.upper() + "}", "two")
    assert await logs.whole(JOB, TASK) == "one\ntwo\n"
    for _ in range(2):
        with pytest.raises(InvalidStorageId):
            await logs.append("../" + JOB[3:], TASK, "x")
        with pytest.raises(InvalidStorageId):
            await logs.append(JOB, TASK[:-1] + "/", "x")


# Tail ----------------------------------------------------------------------------


async def test_tail_starts_at_a_line_start(logs: TaskLogs) -> None:
    lines = [f"line {i:04d} " + "x" * 40 for i in range(200)]
    await logs.append(JOB, TASK, "\n".join(lines))
    tail = await logs.tail(JOB, TASK, max_bytes=2048)
    assert 0 < len(tail.encode()) <= 2048
    assert tail.endswith(lines[-1] + "\n")
    first = tail.splitlines()[0]
    assert first in lines, "the tail must not start in the middle of a line"


async def test_tail_of_short_log_is_whole_log(logs: TaskLogs) -> None:
    await logs.append(JOB, TASK, "short")
    assert await logs.tail(JOB, TASK) == "short\n"


async def test_tail_window_exactly_on_line_start(logs: TaskLogs) -> None:
    await logs.append(JOB, TASK, "aaaa\nbbbb\n")
    assert await logs.tail(JOB, TASK, max_bytes=5) == "bbbb\n"


async def test_tail_is_valid_utf8(logs: TaskLogs) -> None:
    # Multi-byte characters everywhere, and one huge line so the cut cannot use a newline.
    await logs.append(JOB, TASK, "ñandú " * 1000)
    tail = await logs.tail(JOB, TASK, max_bytes=2048)
    assert "\ufffd" not in tail
    assert len(tail.encode()) <= 2048
    assert tail.endswith("ñandú \n")


async def test_tail_reaches_into_rotated_part(storage: LocalStorage) -> None:
    logs = small_logs(storage, max_bytes=100)
    await logs.append(JOB, TASK, "a" * 60)
    await logs.append(JOB, TASK, "b" * 60)  # Rotates: current holds only the b's.
    tail = await logs.tail(JOB, TASK, max_bytes=200)
    assert tail == "a" * 60 + "\n" + "b" * 60 + "\n"
    await logs.close()


# Rotation ------------------------------------------------------------------------


async def test_rotation_keeps_parts_and_drops_oldest(storage: LocalStorage) -> None:
    logs = small_logs(storage, max_bytes=50, keep=2)
    for letter in "abcd":
        await logs.append(JOB, TASK, letter * 40)
    await logs.drain()
    path = logs.log_path(JOB, TASK)
    assert path.read_text() == "d" * 40 + "\n"
    assert path.with_name(path.name + ".1").read_text() == "c" * 40 + "\n"
    assert path.with_name(path.name + ".2").read_text() == "b" * 40 + "\n"
    assert not path.with_name(path.name + ".3").exists()

    parts = await logs.parts(JOB, TASK)
    assert parts == [path.with_name(path.name + ".2"), path.with_name(path.name + ".1"), path]
    assert await logs.whole(JOB, TASK) == "".join(letter * 40 + "\n" for letter in "bcd")
    assert await logs.size(JOB, TASK) == 41
    assert await logs.size(JOB, TASK, include_rotated=True) == 3 * 41
    await logs.close()


async def test_no_rotation_while_under_limit(storage: LocalStorage) -> None:
    logs = small_logs(storage, max_bytes=1000)
    for _ in range(10):
        await logs.append(JOB, TASK, "x" * 99)  # 100 bytes each: exactly at the limit.
    assert await logs.parts(JOB, TASK) == [logs.log_path(JOB, TASK)]
    await logs.append(JOB, TASK, "y")
    assert len(await logs.parts(JOB, TASK)) == 2
    await logs.close()


async def test_oversized_append_goes_to_fresh_file(storage: LocalStorage) -> None:
    logs = small_logs(storage, max_bytes=10)
    await logs.append(JOB, TASK, "small")
    await logs.append(JOB, TASK, "much longer than ten bytes")
    await logs.drain()
    assert logs.log_path(JOB, TASK).read_text() == "much longer than ten bytes\n"
    assert await logs.whole(JOB, TASK) == "small\nmuch longer than ten bytes\n"
    await logs.close()


# Concurrency and speed -------------------------------------------------------------


async def test_concurrent_appends_never_interleave(storage: LocalStorage) -> None:
    logs = small_logs(storage, max_bytes=64 * 1024, keep=100)

    async def writer(name: str) -> None:
        for i in range(200):
            block = "\n".join(f"{name} {i} part {k} " + name * 30 for k in range(5))
            await logs.append(JOB, TASK, block)
            if i % 7 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(writer(chr(ord("A") + n)) for n in range(8)))
    text = await logs.whole(JOB, TASK)
    lines = text.splitlines()
    assert len(lines) == 8 * 200 * 5
    for line in lines:
        name, i, _, k, tail = line.split(" ")
        assert tail == name * 30
    # Each multi-line append stays contiguous.
    for start in range(0, len(lines), 5):
        block = lines[start : start + 5]
        assert len({tuple(line.split(" ")[:2]) for line in block}) == 1
        assert [line.split(" ")[3] for line in block] == ["0", "1", "2", "3", "4"]
    assert len(await logs.parts(JOB, TASK)) > 1, "the test should have crossed a rotation"
    await logs.close()


async def test_appends_to_many_tasks(logs: TaskLogs) -> None:
    tasks = [str(uuid.uuid4()) for _ in range(20)]
    await asyncio.gather(*(logs.append(JOB, t, f"hello {t}") for t in tasks for _ in range(5)))
    for t in tasks:
        assert await logs.whole(JOB, t) == f"hello {t}\n" * 5


async def test_ten_thousand_appends_all_land_in_order(logs: TaskLogs) -> None:
    # Speed is bench territory (bench/compile.py exercises logging under load); this checks order.
    for i in range(10_000):
        await logs.append(JOB, TASK, f"line {i}")
    await logs.drain()
    text = await logs.whole(JOB, TASK)
    assert text.count("\n") == 10_000
    assert text.startswith("line 0\n") and text.endswith("line 9999\n")


async def test_reads_see_preceding_appends(logs: TaskLogs) -> None:
    for i in range(50):
        await logs.append(JOB, TASK, f"{i}")
        assert (await logs.tail(JOB, TASK)).endswith(f"{i}\n")


async def test_drain_job_before_removing_dir(logs: TaskLogs, storage: LocalStorage) -> None:
    await logs.append(JOB, TASK, "about to be deleted")
    await logs.drain_job(JOB)
    assert await asyncio.to_thread(storage.remove_job_dir, JOB)
    assert not storage.job_dir(JOB).exists()

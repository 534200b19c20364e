"""Process running: line splitting, streaming, and killing whole process trees on cancel."""

from __future__ import annotations

import asyncio
import sys
import time

import psutil
import pytest

from app.worker import procs
from app.worker.procs import LineSplitter, command_line, run_process

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX sh and sleep")


def test_splitter_handles_newlines_carriage_returns_and_partial_chunks() -> None:
    s = LineSplitter()
    assert s.feed(b"one\ntw") == ["one"]
    assert s.feed(b"o\r\nframe=1\rframe=2\r") == ["two", "frame=1", "frame=2"]
    assert s.feed(b"\n\nlast") == []
    assert s.flush() == ["last"]


def test_splitter_cuts_long_lines_at_utf8_boundaries() -> None:
    s = LineSplitter(max_bytes=10)
    text = "ab" + "é" * 10  # é is 2 bytes: a cut at byte 10 would fall inside one
    pieces = s.feed(text.encode() + b"\n")
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 10 for p in pieces)
    assert all("\ufffd" not in p for p in pieces)


def test_splitter_cuts_unterminated_long_output() -> None:
    s = LineSplitter(max_bytes=8)
    pieces = s.feed("€".encode() * 10)  # 30 bytes, 3-byte characters, no newline
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces + s.flush()) == "€" * 10


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX quoting")
def test_command_line_is_shell_quoted() -> None:
    assert command_line(["blender", "-b", "my file.blend", "--python-expr", "print('x')"]) == (
        "blender -b 'my file.blend' --python-expr 'print('\"'\"'x'\"'\"')'"
    )


async def test_run_process_streams_merged_output_and_returns_exit_code() -> None:
    lines: list[str] = []
    code = await run_process(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
        lines.append,
    )
    assert code == 3
    assert sorted(lines) == ["err", "out"]


async def test_run_process_missing_executable_raises() -> None:
    with pytest.raises(FileNotFoundError):
        await run_process(["/nonexistent/blender"], lambda line: None)


# The tree: sh (root) → sleep 60 (child) and sh → sleep 60 (grandchild, ignoring SIGTERM).
_TREE_SCRIPT = """
sleep 60 &
echo "child $!"
sh -c 'trap "" TERM; sleep 60 & echo "grandchild $!"; wait' &
echo "middle $!"
wait
"""


@posix_only
async def test_cancel_kills_the_whole_process_tree() -> None:
    pids: dict[str, int] = {}
    got_all = asyncio.Event()

    def on_line(line: str) -> None:
        name, pid = line.split()
        pids[name] = int(pid)
        if len(pids) == 3:
            got_all.set()

    root_pid: list[int] = []
    task = asyncio.create_task(run_process(["sh", "-c", _TREE_SCRIPT], on_line, on_start=root_pid.append))
    await asyncio.wait_for(got_all.wait(), 10)
    tree = [psutil.Process(p) for p in [root_pid[0], *pids.values()]]
    assert all(_alive(p) for p in tree)

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    elapsed = time.monotonic() - started

    assert elapsed < 2.5, f"killing the tree took {elapsed:.1f} s"
    survivors = [p.pid for p in tree if _alive(p)]
    assert survivors == [], f"still alive after cancel: {survivors}"


@posix_only
async def test_finished_process_with_orphan_holding_the_pipe_does_not_hang() -> None:
    # The root exits at once but leaves a background child that keeps stdout open.
    started = time.monotonic()
    code = await run_process(["sh", "-c", "sleep 30 & echo started"], lambda line: None)
    assert code == 0
    assert time.monotonic() - started < 5


def _alive(p: psutil.Process) -> bool:
    return procs._is_alive(p)


@pytest.mark.skipif(sys.platform != "linux", reason="oom_score_adj is Linux's")
async def test_oom_score_adjust_reaches_the_program_and_its_children() -> None:
    # The shell waits until the Manager-side write has landed, then reports its own value and
    # that of a child it starts afterwards.
    script = (
        'i=0; while [ "$(cat /proc/$$/oom_score_adj)" != 700 ] && [ $i -lt 100 ]; do '
        "sleep 0.05; i=$((i+1)); done; "
        'cat /proc/$$/oom_score_adj; sh -c "cat /proc/self/oom_score_adj"'
    )
    lines: list[str] = []
    code = await run_process(["sh", "-c", script], lines.append, oom_score_adjust=700)
    assert code == 0 and lines == ["700", "700"]


@pytest.mark.skipif(sys.platform != "linux", reason="oom_score_adj is Linux's")
def test_refused_oom_score_adjust_is_not_an_error() -> None:
    assert procs.set_oom_score_adjust(2**22, 500) is False  # no such process: logged, not raised

"""File-management and small commands: make/move/copy, echo, sleep, exec."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from app.worker.commands import files, misc
from app.worker.commands.base import CommandError
from app.worker.config import WorkerConfig
from tests.worker.recording import RecordingSink, make_context


@pytest.fixture
def ctx(tmp_path: Path):  # type: ignore[no-untyped-def]
    context, _ = make_context(RecordingSink(), WorkerConfig(data_dir=tmp_path / "data"))
    return context


def _set_mtime(path: Path, when: datetime) -> None:
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


async def test_make_directory_is_mkdir_p(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "a" / "b" / "c"
    await files.make_directory(ctx, {"path": str(target)})
    await files.make_directory(ctx, {"path": str(target)})  # existing is fine
    assert target.is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(CommandError, match="not a directory"):
        await files.make_directory(ctx, {"path": str(tmp_path / "file")})


async def test_move_directory_to_free_destination(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, dest = tmp_path / "render-tmp", tmp_path / "out" / "render"
    src.mkdir()
    (src / "0001.png").write_text("frame")
    await files.move_directory(ctx, {"src": str(src), "dest": str(dest)})
    assert not src.exists() and (dest / "0001.png").read_text() == "frame"


async def test_move_directory_backs_up_existing_dest_by_mtime(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, dest = tmp_path / "new", tmp_path / "render"
    src.mkdir()
    dest.mkdir()
    (dest / "old.png").write_text("old")
    _set_mtime(dest, datetime(2024, 5, 1, 13, 45, 1))
    # The first backup name is taken already, so a numeric suffix is added.
    (tmp_path / "render-2024-05-01_134501").mkdir()

    await files.move_directory(ctx, {"src": str(src), "dest": str(dest)})

    backup = tmp_path / "render-2024-05-01_134501-1"
    assert (backup / "old.png").read_text() == "old"
    assert dest.is_dir() and not src.exists()
    assert "moved existing" in ctx.reporter.pending_lines[0]


async def test_move_directory_needs_existing_source(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="does not exist"):
        await files.move_directory(ctx, {"src": str(tmp_path / "nope"), "dest": str(tmp_path / "d")})


async def test_copy_file_creates_parents(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "a.txt"
    src.write_text("hello")
    dest = tmp_path / "deep" / "er" / "b.txt"
    await files.copy_file(ctx, {"src": str(src), "dest": str(dest)})
    assert dest.read_text() == "hello" and src.exists()


@pytest.mark.parametrize(
    "src, dest, message",
    [
        ("relative.txt", "ABS/dest.txt", "absolute"),
        ("ABS/a.txt", "relative.txt", "absolute"),
        ("ABS/missing.txt", "ABS/dest.txt", "does not exist"),
        ("ABS/dir", "ABS/dest.txt", "not a regular file"),
        ("ABS/a.txt", "ABS/exists.txt", "already exists"),
        ("", "ABS/dest.txt", "missing parameter 'src'"),
    ],
)
async def test_copy_file_rules(ctx, tmp_path: Path, src: str, dest: str, message: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "exists.txt").write_text("e")
    (tmp_path / "dir").mkdir()
    params = {"src": src.replace("ABS", str(tmp_path)), "dest": dest.replace("ABS", str(tmp_path))}
    with pytest.raises(CommandError, match=message):
        await files.copy_file(ctx, params)
    assert (tmp_path / "exists.txt").read_text() == "e"


async def test_copy_directory(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("f")
    dest = tmp_path / "copies" / "dest"
    await files.copy_directory(ctx, {"src": str(src), "dest": str(dest)})
    assert (dest / "sub" / "f.txt").read_text() == "f"
    with pytest.raises(CommandError, match="already exists"):
        await files.copy_directory(ctx, {"src": str(src), "dest": str(dest)})


async def test_echo_logs_the_message(ctx) -> None:  # type: ignore[no-untyped-def]
    await misc.echo(ctx, {"message": "hello farm"})
    assert ctx.reporter.pending_lines == ("hello farm",)
    with pytest.raises(CommandError, match="message"):
        await misc.echo(ctx, {})


async def test_sleep_validates_and_is_cancellable(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="negative"):
        await misc.sleep(ctx, {"duration_in_seconds": -1})
    with pytest.raises(CommandError, match="number"):
        await misc.sleep(ctx, {"duration_in_seconds": "ten"})
    await misc.sleep(ctx, {"duration_in_seconds": 0})
    task = asyncio.create_task(misc.sleep(ctx, {"duration_in_seconds": 60}))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 0.5


async def test_exec_runs_without_shell_and_checks_exit_code(ctx) -> None:  # type: ignore[no-untyped-def]
    await misc.exec_command(ctx, {"exe": sys.executable, "args": ["-c", "print('$HOME stays literal')"]})
    assert any("$HOME stays literal" in line for line in ctx.reporter.pending_lines)
    with pytest.raises(CommandError, match="exited with code 4"):
        await misc.exec_command(ctx, {"exe": sys.executable, "args": ["-c", "raise SystemExit(4)"]})

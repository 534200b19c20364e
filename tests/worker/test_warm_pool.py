"""The warm Blender pool with the fake Blender's warm mode: reuse, reload, recycle, release, failures."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import psutil
import pytest

from app.worker.config import WorkerConfig
from app.worker.warm.pool import MustRunCold, TaskHooks, WarmBlenders, WarmFailed
from app.worker.warm.request import WarmRequest
from tests.worker.conftest import FAKE_BLENDER


class Hooks:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.output: list[str] = []

    def hooks(self) -> TaskHooks:
        return TaskHooks(log=self.log.append, output=lambda pid, line: self.output.append(line))

    @property
    def text(self) -> str:
        return "\n".join(self.log)


def _request(tmp_path: Path, frames: tuple[int, ...], out: str = "out") -> WarmRequest:
    blend = tmp_path / "scene.blend"
    if not blend.exists():
        blend.write_bytes(b"BLENDER")
    key = (sys.executable, str(FAKE_BLENDER), "-b", str(blend), "--render-output", str(tmp_path / out / "####"))
    return WarmRequest(key=key, blendfile=str(blend), frames=frames)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def config(tmp_path: Path) -> WorkerConfig:
    return WorkerConfig(data_dir=tmp_path / "data", warm_blender_idle_s=0)


async def test_same_command_reuses_the_process_and_reports_frames(tmp_path, config) -> None:
    pool, first, second = WarmBlenders(config), Hooks(), Hooks()
    try:
        await pool.render(_request(tmp_path, (1, 2)), first.hooks())
        pid = pool.pid
        await pool.render(_request(tmp_path, (3,)), second.hooks())
        assert pool.pid == pid != 0
        assert "going to run:" in first.text and "--python" in first.text
        assert f"warm Blender: reusing pid {pid}" in second.text and "going to run" not in second.text
        assert [line for line in first.output if line.startswith("Saved:")] == [
            f"Saved: '{tmp_path / 'out' / '0001.png'}'", f"Saved: '{tmp_path / 'out' / '0002.png'}'"]
        assert not any("@tablao-warm" in line for line in first.output + second.output)
        assert (tmp_path / "out" / "0003.png").is_file()
    finally:
        await pool.close()
    assert _gone(pid)


async def test_changed_file_or_command_line_starts_a_new_process(tmp_path, config) -> None:
    pool = WarmBlenders(config)
    try:
        await pool.render(_request(tmp_path, (1,)), Hooks().hooks())
        first = pool.pid
        (tmp_path / "scene.blend").write_bytes(b"BLENDER, saved again")
        hooks = Hooks()
        await pool.render(_request(tmp_path, (2,)), hooks.hooks())
        assert pool.pid != first and _gone(first)
        assert "changed on disk" in hooks.text
        second, hooks = pool.pid, Hooks()
        await pool.render(_request(tmp_path, (3,), out="elsewhere"), hooks.hooks())
        assert pool.pid != second and "different command line" in hooks.text
    finally:
        await pool.close()


async def test_recycled_after_max_frames_and_released_when_idle(tmp_path, config) -> None:
    config.warm_blender_max_frames = 2
    pool, hooks = WarmBlenders(config), Hooks()
    await pool.render(_request(tmp_path, (1, 2)), hooks.hooks())
    assert pool.pid == 0 and "recycling" in hooks.text

    config.warm_blender_max_frames, config.warm_blender_idle_s = 0, 0.2
    await pool.render(_request(tmp_path, (3,)), Hooks().hooks())
    pid = pool.pid
    assert pid
    await asyncio.sleep(0.8)
    assert pool.pid == 0 and _gone(pid)


async def test_release_stops_the_process(tmp_path, config) -> None:
    pool = WarmBlenders(config)
    await pool.render(_request(tmp_path, (1,)), Hooks().hooks())
    pid = pool.pid
    await pool.release("the worker is asleep")
    assert pool.pid == 0 and _gone(pid)


async def test_crash_fails_like_cold_and_the_next_render_gets_a_fresh_process(tmp_path, config, monkeypatch):
    monkeypatch.setenv("FAKE_BLENDER_CRASH_FRAME", "3")  # read by the fake at its start
    pool = WarmBlenders(config)
    try:
        await pool.render(_request(tmp_path, (1,)), Hooks().hooks())
        first = pool.pid
        with pytest.raises(WarmFailed, match="blender exited with code 3"):
            await pool.render(_request(tmp_path, (2, 3, 4)), Hooks().hooks())
        assert pool.pid == 0 and _gone(first)
        assert (tmp_path / "out" / "0002.png").is_file()
        monkeypatch.delenv("FAKE_BLENDER_CRASH_FRAME")
        hooks = Hooks()
        await pool.render(_request(tmp_path, (3,)), hooks.hooks())
        assert pool.pid not in (0, first) and "going to run:" in hooks.text
    finally:
        await pool.close()


async def test_crash_of_a_fresh_process_fails_the_render(tmp_path, config, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_BLENDER_CRASH_FRAME", "2")
    pool = WarmBlenders(config)
    with pytest.raises(WarmFailed, match="blender exited with code 3"):
        await pool.render(_request(tmp_path, (1, 2)), Hooks().hooks())
    assert pool.pid == 0


async def test_cancel_kills_the_process_quickly(tmp_path, config, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_BLENDER_FRAME_SLEEP", "30")
    pool, hooks = WarmBlenders(config), Hooks()
    render = asyncio.create_task(pool.render(_request(tmp_path, (1,)), hooks.hooks()))
    while not any(line.startswith("Fra:1") for line in hooks.output):
        await asyncio.sleep(0.02)
    pid = pool.pid
    started = time.monotonic()
    render.cancel()
    with pytest.raises(asyncio.CancelledError):
        await render
    assert time.monotonic() - started < 2.0
    assert pool.pid == 0 and _gone(pid)


async def test_a_scene_that_writes_a_movie_runs_cold_from_then_on(tmp_path, config, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_BLENDER_MOVIE", "1")
    pool, request = WarmBlenders(config), _request(tmp_path, (1,))
    with pytest.raises(MustRunCold):
        await pool.render(request, Hooks().hooks())
    assert pool.pid == 0
    assert pool.cold_reason(request) == "the scene writes a movie file"

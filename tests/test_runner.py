"""The one runner: start, restart after a configuration change, and stop, with real services on
real ports in this test's event loop (as the desktop app will run it in its qasync loop)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from app.manager.settings.config import load_config, save_config
from app.runtime import Runner
from app.worker.config import WorkerConfig
from tests.conftest import RunningManager, make_config

ROOT = Path(__file__).resolve().parents[1]


async def _get(url: str) -> dict:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        return await resp.json()


async def _started(runner: Runner, run: asyncio.Task, starts: int) -> None:
    async with asyncio.timeout(60):
        while not (runner.started.is_set() and runner.starts == starts):
            assert not run.done(), run.result()
            await asyncio.sleep(0.02)


async def _until(check, limit: float = 60) -> None:
    async with asyncio.timeout(limit):
        while not await check():
            await asyncio.sleep(0.05)


def _rename(config_path: Path, name: str) -> None:
    cfg = load_config(config_path)
    cfg.manager_name = name
    save_config(cfg)


async def test_manager_starts_restarts_with_its_changed_config_and_stops(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, manager_name="before")
    runner = Runner(manager_config=lambda: load_config(cfg.path))
    run = asyncio.create_task(runner.run())
    await _started(runner, run, 1)
    port = runner.manager.port
    base = f"http://127.0.0.1:{port}/api/v3"
    assert (await _get(f"{base}/version"))["name"] == "before"

    _rename(cfg.path, "after")
    runner.request_restart()
    await _started(runner, run, 2)
    assert runner.manager.port == port  # listen: port 0 picked a port once; a restart keeps it
    assert (await _get(f"{base}/version"))["name"] == "after"

    runner.request_stop()
    assert await asyncio.wait_for(run, 30) == 0
    assert runner.manager is None and not runner.started.is_set()
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(f"{base}/version")


async def test_setup_assistant_restart_goes_through_the_runner(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    runner = Runner(manager_config=lambda: load_config(cfg.path))
    run = asyncio.create_task(runner.run())
    await _started(runner, run, 1)
    runner.manager.services.settings.restart_requested.set()  # what saving the setup does
    await _started(runner, run, 2)
    runner.request_stop()
    assert await asyncio.wait_for(run, 30) == 0


async def test_manager_and_worker_restart_together_and_the_worker_signs_off_first(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "manager")
    worker_dir = tmp_path / "worker"

    def worker_config(manager_url: str | None) -> WorkerConfig:
        assert manager_url is not None and manager_url.startswith("http://127.0.0.1:")
        return WorkerConfig(worker_name="solo", manager_url=manager_url, data_dir=worker_dir,
                            task_wait_s=1.0, may_i_run_wait_s=1.0)

    runner = Runner(manager_config=lambda: load_config(cfg.path), worker_config=worker_config)
    run = asyncio.create_task(runner.run())
    await _started(runner, run, 1)
    base = f"http://127.0.0.1:{runner.manager.port}/api/v3"

    async def solo_status() -> str | None:
        try:
            workers = (await _get(f"{base}/worker-mgt/workers"))["workers"]
        except aiohttp.ClientConnectionError:
            return None
        return next((w["status"] for w in workers if w["name"] == "solo"), None)

    await _until(lambda: _is(solo_status, "awake"))
    first_id = (await _get(f"{base}/worker-mgt/workers"))["workers"][0]["id"]
    runner.request_restart()
    await _started(runner, run, 2)
    await _until(lambda: _is(solo_status, "awake"))
    workers = (await _get(f"{base}/worker-mgt/workers"))["workers"]
    assert [w["id"] for w in workers] == [first_id]  # the same worker signed on again

    runner.request_stop()
    assert await asyncio.wait_for(run, 30) == 0
    # The worker signed off before its Manager went away: the store says offline.
    manager = await RunningManager(load_config(cfg.path)).start()
    try:
        status, body = await manager.request("GET", "/api/v3/worker-mgt/workers")
        assert status == 200 and body["workers"][0]["status"] == "offline"
    finally:
        await manager.stop()


async def _is(probe, wanted: str) -> bool:
    return await probe() == wanted


async def test_worker_ending_ends_the_run_with_its_exit_code(tmp_path: Path) -> None:
    runner = Runner(worker_config=lambda _url: WorkerConfig(data_dir=tmp_path))  # no Manager URL
    assert await asyncio.wait_for(runner.run(), 30) == 2  # the worker's "configuration error"


async def test_a_manager_that_cannot_start_raises_and_starts_no_worker(tmp_path: Path) -> None:
    from app.manager.persistence.errors import StoreUnavailable

    (tmp_path / "damaged.sqlite").write_bytes(b"not a database" * 100)
    cfg = make_config(tmp_path, database=str(tmp_path / "damaged.sqlite"))
    asked: list[str | None] = []
    runner = Runner(manager_config=lambda: load_config(cfg.path),
                    worker_config=lambda url: asked.append(url) or WorkerConfig(data_dir=tmp_path))
    with pytest.raises(StoreUnavailable):
        await asyncio.wait_for(runner.run(), 30)
    assert asked == []


def test_sighup_restarts_the_headless_manager_with_its_changed_config(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, manager_name="before")
    port = _free_port()
    env = {"PATH": "/usr/bin:/bin", "TABLAO_HOME": str(tmp_path), "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "app", "manager", "--headless", "--config", str(cfg.path),
                             "--listen", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/api/v3/version"
    try:
        assert _poll_name(proc, url, "before")
        _rename(cfg.path, "after")
        proc.send_signal(signal.SIGHUP)
        assert _poll_name(proc, url, "after")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-3000:]
    assert "restarting" in out


def _poll_name(proc: subprocess.Popen, url: str, wanted: str) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if json.loads(urllib.request.urlopen(url, timeout=1).read())["name"] == wanted:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

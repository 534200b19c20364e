"""A Manager process killed with SIGKILL while 20 workers claim and complete as fast as they can: every
completion a worker was answered is stored, and no task goes to two workers, on SQLite and on
PostgreSQL (where updates ride with the next statement or the COMMIT, `postgres.FewerTrips`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import aiohttp
import psycopg2
import pytest

from tests.conftest import TEST_POSTGRES, echo_job, make_config
from tests.e2e.farm import ROOT, free_port
from tests.http_worker import HttpWorker

STORES = ["sqlite", "postgres"] if TEST_POSTGRES else ["sqlite"]


def _database(kind: str) -> str:
    if kind == "sqlite":
        return "manager.sqlite"
    name = "tablao_test_kill_" + uuid.uuid4().hex[:12]
    conn = psycopg2.connect(TEST_POSTGRES)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return TEST_POSTGRES.rsplit("/", 1)[0] + "/" + name


async def _up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url + "/api/v3/version") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the Manager did not start")


@pytest.mark.slow
@pytest.mark.parametrize("kind", STORES)
async def test_sigkill_mid_claims_loses_no_answered_completion(tmp_path, kind):
    port = free_port()
    cfg = make_config(tmp_path, listen=f"127.0.0.1:{port}", database=_database(kind), worker_timeout=600.0)
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "app", "manager", "--headless", "--config", str(cfg.path)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    manager = start()
    workers: list[HttpWorker] = []
    try:
        await _up(url)
        async with aiohttp.ClientSession(url) as session, \
                session.post("/api/v3/jobs", json=echo_job(repeats=3000)) as resp:
            job = await resp.json()
            assert resp.status == 200, job
        workers = [await HttpWorker(url, name=f"k{i}").register_and_sign_on() for i in range(20)]
        handed: dict[str, str] = {}  # task uuid -> the worker it was handed to
        twice: list[str] = []
        completed: set[str] = set()  # answered 204

        async def run(w: HttpWorker) -> None:
            while True:
                try:
                    status, task = await w.claim()
                    if status != 200:
                        return
                    if handed.setdefault(task["uuid"], w.name) != w.name:
                        twice.append(task["uuid"])
                    status, _ = await w.complete(task["uuid"])
                    if status == 204:
                        completed.add(task["uuid"])
                except (TimeoutError, aiohttp.ClientError, ValueError):
                    return  # the Manager is gone

        runners = [asyncio.create_task(run(w)) for w in workers]
        async with asyncio.timeout(60):  # a Manager that stores nothing never gets there: fail, not hang
            while len(completed) < 300:
                await asyncio.sleep(0.02)
        os.kill(manager.pid, signal.SIGKILL)
        manager.wait(10)
        await asyncio.gather(*runners)
        assert len(completed) >= 300 and not twice

        manager = start()
        await _up(url)
        async with aiohttp.ClientSession(url) as session, \
                session.get(f"/api/v3/jobs/{job['id']}/tasks") as resp:
            tasks = (await resp.json())["tasks"]
        status_of = {t["id"]: t["status"] for t in tasks}
        lost = [t for t in completed if status_of.get(t) != "completed"]
        assert not lost, f"{len(lost)} completions answered 204 were not stored"
        # A task whose completion was stored is never handed out again after the restart.
        for w in workers[:5]:
            for _ in range(20):
                status, task = await w.claim()
                assert status == 200 and task["uuid"] not in completed
                assert (await w.complete(task["uuid"]))[0] == 204
    finally:
        for w in workers:
            await w.close()
        manager.kill()
        manager.wait(10)

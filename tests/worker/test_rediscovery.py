"""A lost Manager is found again through UPnP/SSDP at a new address, and queued updates reach it;
a Manager that only copies its name is found too, gets no credentials, and is not followed.

Real parts: the Manager is a subprocess on 127.0.0.1, advertised by the Manager's own SSDP
advertiser bound to loopback (multicast is not routed in the test sandbox); the worker is the real
`WorkerService` running real tasks. The Manager is stopped while the worker runs a task, and
started again on ANOTHER port with the same database: the worker must follow it there and deliver
the task updates it queued meanwhile. The impostor is a small aiohttp server that answers
`/version` with the real Manager's name and everything else as if it knew the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from app.common import discovery
from app.manager.lan.discovery import SsdpAdvertiser
from app.worker.config import WorkerConfig, load_credentials
from app.worker.manager_check import Verdict, check_manager
from app.worker.service import WorkerService
from tests.fakes.impostor_manager import ImpostorManager
from tests.ui.conftest import ManagerProcess, free_port

pytestmark = pytest.mark.slow


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _tasks(manager: ManagerProcess, job_id: str) -> list[dict]:
    try:
        return manager.get(f"/api/v3/jobs/{job_id}/tasks")["tasks"]
    except OSError:
        return []


def test_parse_target():
    assert discovery.parse_target("10.0.0.5") == ("10.0.0.5", 1900)
    assert discovery.parse_target(" farm.local:1901 ") == ("farm.local", 1901)
    for bad in ("", ":1900", "host:notaport", "host:70000"):
        with pytest.raises(ValueError):
            discovery.parse_target(bad)


async def test_a_lost_manager_is_found_again_at_a_new_address_and_gets_the_queued_updates(tmp_path: Path):
    first = await asyncio.to_thread(ManagerProcess(tmp_path / "m").start)
    now_at = {"port": first.port}
    advertiser = SsdpAdvertiser(lambda: now_at["port"], bind=("127.0.0.1", 0), multicast=False)
    advertising = asyncio.create_task(advertiser.run())
    second: ManagerProcess | None = None
    worker_task = None
    try:
        await _until(lambda: asyncio.sleep(0, advertiser.address is not None), 10, "the advertiser")
        config = WorkerConfig(worker_name="roaming-pc", manager_url=first.url, data_dir=tmp_path / "w",
                              task_wait_s=2.0, may_i_run_wait_s=2.0, rediscover_manager=True,
                              rediscover_after_s=1.0,
                              discovery_targets=[f"{advertiser.address[0]}:{advertiser.address[1]}"])
        service = WorkerService(config)
        assert service.finder is not None
        worker_task = asyncio.create_task(service.run())

        async def awake() -> bool:
            workers = await asyncio.to_thread(first.get, "/api/v3/worker-mgt/workers")
            return any(w["name"] == "roaming-pc" and w["status"] == "awake" for w in workers["workers"])

        await _until(awake, 60, "the worker awake on the first Manager")
        await _until(lambda: asyncio.sleep(0, service.finder.name is not None), 30, "the Manager's name learnt")
        job = await asyncio.to_thread(first.send, "POST", "/api/v3/jobs", {
            "name": "while moving", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "hello", "sleep_duration_seconds": 6, "sleep_repeats": 1}})

        async def sleeping_task_runs() -> bool:
            tasks = await asyncio.to_thread(_tasks, first, job["id"])
            return any(t["name"].startswith("sleep") and t["status"] == "active" for t in tasks)

        await _until(sleeping_task_runs, 60, "the sleep task running on the worker")
        await asyncio.to_thread(first.stop)

        # The task ends while the Manager is away: its updates (log, completed) wait on disk.
        async def finished_and_queued() -> bool:
            return service.machine.current_task is None and await service.buffer.queue_size() > 0

        await _until(finished_and_queued, 60, "the task done and its updates queued")

        second = ManagerProcess(tmp_path / "m", port=free_port())   # same folder: same database and name
        assert second.port != first.port
        await asyncio.to_thread(second.start)
        now_at["port"] = second.port

        async def moved_and_delivered() -> bool:
            return service.client.base_url == second.url and await service.buffer.queue_size() == 0

        await _until(moved_and_delivered, 90, "the worker at the new address with its queue delivered")
        assert service.finder.searches >= 1
        tasks = await asyncio.to_thread(_tasks, second, job["id"])
        assert {t["name"].split("-")[0]: t["status"] for t in tasks}.get("sleep") == "completed", tasks
        assert await check_manager(second.url, service.client.credentials) is Verdict.PROVEN
        assert load_credentials(config.credentials_path).manager_url == second.url  # the next start goes there
    finally:
        if worker_task is not None:
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
        advertising.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await advertising
        for proc in (first, second):
            if proc is not None:
                await asyncio.to_thread(proc.stop)


async def _advertised(port) -> tuple[SsdpAdvertiser, asyncio.Task]:
    advertiser = SsdpAdvertiser(port, bind=("127.0.0.1", 0), multicast=False)
    task = asyncio.create_task(advertiser.run())
    await _until(lambda: asyncio.sleep(0, advertiser.address is not None), 10, "the advertiser")
    return advertiser, task


async def test_a_manager_that_copies_the_name_gets_no_credentials_and_the_real_one_is_followed(tmp_path: Path):
    first = await asyncio.to_thread(ManagerProcess(tmp_path / "m").start)
    version = await asyncio.to_thread(first.get, "/api/v3/version")
    impostor = await ImpostorManager(version).start()
    now_at = {"port": first.port}
    fake_ad, fake_advertising = await _advertised(lambda: impostor.port)
    real_ad, real_advertising = await _advertised(lambda: now_at["port"])
    second: ManagerProcess | None = None
    worker_task = None
    try:
        config = WorkerConfig(worker_name="wary-pc", manager_url=first.url, data_dir=tmp_path / "w",
                              task_wait_s=2.0, rediscover_manager=True, rediscover_after_s=1.0,
                              discovery_targets=["{}:{}".format(*fake_ad.address),
                                                 "{}:{}".format(*real_ad.address)])
        service = WorkerService(config)
        assert service.finder is not None
        service.finder.search_s, service.finder.check_every_s = 1.0, 0.5
        worker_task = asyncio.create_task(service.run())
        await _until(lambda: asyncio.sleep(0, service.machine.signed_on and service.finder.name is not None),
                     60, "the worker signed on and the Manager's name learnt")
        assert service.finder.name == version["name"]
        await asyncio.to_thread(first.stop)

        def asked() -> list[str]:  # what the worker asked the impostor beyond its name
            return [path for _, path, _ in impostor.requests if path != "/api/v3/version"]

        await _until(lambda: asyncio.sleep(0, bool(asked())), 60, "the impostor found and asked something")
        assert impostor.credentials_received == []
        searches = service.finder.searches
        await _until(lambda: asyncio.sleep(0, service.finder.searches > searches), 60, "another search")
        assert set(asked()) == {"/api/v3/tablao/worker/prove"} and impostor.credentials_received == []
        assert service.client.base_url == first.url  # not followed

        # The real Manager comes back elsewhere; the impostor now relays challenges to it.
        second = ManagerProcess(tmp_path / "m", port=free_port())
        await asyncio.to_thread(second.start)
        impostor.proof, impostor.real_url = "relay", second.url
        now_at["port"] = second.port
        await _until(lambda: asyncio.sleep(0, service.client.base_url == second.url), 90,
                     "the worker following the real Manager")

        async def awake_on_second() -> bool:
            workers = await asyncio.to_thread(second.get, "/api/v3/worker-mgt/workers")
            return any(w["name"] == "wary-pc" and w["status"] == "awake" for w in workers["workers"])

        await _until(awake_on_second, 60, "the worker awake at the new address")
        assert impostor.credentials_received == []
        assert not any(path.startswith("/api/v3/worker/") for _, path, _ in impostor.requests)
    finally:
        if worker_task is not None:
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
        for task in (fake_advertising, real_advertising):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await impostor.stop()
        for proc in (first, second):
            if proc is not None:
                await asyncio.to_thread(proc.stop)

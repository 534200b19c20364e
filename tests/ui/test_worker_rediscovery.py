"""Worker mode follows a lost Manager to its new address, and sleeps/wakes itself without admin rights.

A real Manager (subprocess) with local trust OFF, as a remote Manager would be, advertised over
UPnP/SSDP on loopback; the worker runs in process (LocalServices) and the window's controller has
no admin token, only the worker's own credentials. The Manager is stopped and started again on
another port with the same database: both the worker and the tray find it again on the network.
An impostor with the Manager's name is advertised too (and searched first): neither the worker nor
the tray sends it credentials or follows it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
import yaml

from app.common.roles import RoleConfig
from app.manager.lan.discovery import SsdpAdvertiser
from app.ui import tray_state as ts
from app.ui.local_services import LocalServices
from app.ui.windows.worker_mode import QUIT_NOW, WorkerModeWindow
from tests.fakes.impostor_manager import ImpostorManager
from tests.ui.conftest import ManagerProcess, free_port, wait_for

pytestmark = pytest.mark.slow


def test_the_tray_finds_a_moved_manager_and_changes_its_own_status_without_admin(qloop, tmp_path: Path):
    first = ManagerProcess(tmp_path / "m", extra_config="trust_local_requests: false\n").start()
    now_at = {"port": first.port}
    second: ManagerProcess | None = None

    async def body():
        nonlocal second
        advertiser = SsdpAdvertiser(lambda: now_at["port"], bind=("127.0.0.1", 0), multicast=False)
        advertising = asyncio.ensure_future(advertiser.run())
        impostor = await ImpostorManager(first.get("/api/v3/version")).start()
        fake_ad = SsdpAdvertiser(lambda: impostor.port, bind=("127.0.0.1", 0), multicast=False)
        fake_advertising = asyncio.ensure_future(fake_ad.run())
        await wait_for(lambda: advertiser.address is not None and fake_ad.address is not None, 10,
                       "the advertisers")
        cfg = tmp_path / "worker" / "tablao-worker.yaml"
        cfg.parent.mkdir(parents=True)
        cfg.write_text(yaml.safe_dump({
            "worker_name": "moving-pc", "data_dir": str(tmp_path / "worker"), "task_wait_s": 2,
            "rediscover_after_s": 1,
            "discovery_targets": ["{}:{}".format(*fake_ad.address), "{}:{}".format(*advertiser.address)]}))
        services = LocalServices(manager_config_path=tmp_path / "unused.yaml", worker_config_path=cfg)
        role = RoleConfig(role="worker", manager_url=first.url, manager_found_by="discovery")
        services.start_worker(first.url, rediscover=True)
        window = WorkerModeWindow(services, role, has_tray=True)
        c = window.controller
        try:
            await wait_for(lambda: c.state.kind == ts.IDLE, 60, "the worker awake and idle")
            assert c.rediscover and not c.client.transport.admin_token
            # Its own status, with its own credentials: no admin token, no local trust.
            await c.stop_rendering()
            await wait_for(lambda: c.state.kind == ts.PAUSED, 60, "paused by the artist")
            await c.render_now()
            await wait_for(lambda: c.state.kind == ts.IDLE, 60, "awake again")

            first.stop()
            await wait_for(lambda: c.state.kind == ts.UNREACHABLE, 60, "the Manager lost")
            # Found, challenged by the worker and by the tray, and not followed by either.
            await wait_for(lambda: sum(path == "/api/v3/tablao/worker/prove" for _, path, _ in impostor.requests)
                           >= 3, 60, "the impostor challenged by both")
            assert impostor.credentials_received == [] and c.url == first.url
            second = ManagerProcess(tmp_path / "m", port=free_port()).start()  # same folder: same database
            now_at["port"] = second.port
            await wait_for(lambda: c.url == second.url and c.state.kind == ts.IDLE, 90,
                           "the tray following the Manager to its new address")
            assert second.url in window.manager.text() and role.manager_url == second.url
            worker = services.worker_runner
            assert worker is not None
            await wait_for(lambda: any(w["name"] == "moving-pc" and w["status"] == "awake"
                                       for w in second.get("/api/v3/worker-mgt/workers")["workers"]),
                           60, "the worker itself at the new address")
            await c.stop_rendering()
            await wait_for(lambda: c.state.kind == ts.PAUSED, 60, "paused through the new address")
            assert impostor.credentials_received == []
        finally:
            await window.ask_quit(QUIT_NOW)
            await services.stop()
            for task in (advertising, fake_advertising):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await impostor.stop()

    try:
        qloop.run_until_complete(body())
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.stop()

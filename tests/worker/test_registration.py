"""Registering, signing on, reusing and renewing credentials against the fake Manager."""

from __future__ import annotations

import asyncio

from app.api.enums import WorkerStatus
from app.worker.client import WorkerClient
from app.worker.config import WorkerConfig, load_credentials
from app.worker.registration import SOFTWARE_VERSION, sign_on
from tests.worker.fake_manager import FakeManager


async def _sign_on(config: WorkerConfig) -> WorkerStatus:
    async with WorkerClient(config.manager_url) as client:
        return await sign_on(client, config)


async def test_first_start_registers_and_saves_credentials(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    assert await _sign_on(worker_config) is WorkerStatus.AWAKE
    [registration] = fake_manager.registrations
    assert registration["name"] == "test-worker"
    assert registration["platform"] in ("linux", "windows", "darwin")
    assert len(registration["secret"]) == 64 and int(registration["secret"], 16) >= 0
    assert registration["supported_task_types"] == ["blender", "ffmpeg", "file-management", "misc"]
    creds = load_credentials(worker_config.credentials_path)
    assert creds is not None and creds.worker_id in fake_manager.workers
    [signed] = fake_manager.sign_ons
    facts = signed.pop("facts")  # what this machine has (app.worker.facts; tested in test_facts.py)
    assert isinstance(facts["gpu_backends"], list) and facts["memory_total"] > 0
    assert signed == {
        "name": "test-worker",
        "supported_task_types": registration["supported_task_types"],
        "software_version": SOFTWARE_VERSION,
        "can_restart": False,
        "worker": creds.worker_id,
    }


async def test_next_start_reuses_the_credentials(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    await _sign_on(worker_config)
    fake_manager.initial_status = "asleep"
    assert await _sign_on(worker_config) is WorkerStatus.ASLEEP
    assert len(fake_manager.registrations) == 1
    assert len(fake_manager.sign_ons) == 2


async def test_rejected_credentials_mean_registering_anew(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    await _sign_on(worker_config)
    old = load_credentials(worker_config.credentials_path)
    fake_manager.workers.clear()  # e.g. the Manager's database was reset: now it answers 403
    await _sign_on(worker_config)
    new = load_credentials(worker_config.credentials_path)
    assert len(fake_manager.registrations) == 2
    assert old is not None and new is not None and new.worker_id != old.worker_id
    assert fake_manager.sign_ons[-1]["worker"] == new.worker_id


async def test_can_restart_follows_restart_exit_code(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    worker_config.restart_exit_code = 47
    await _sign_on(worker_config)
    assert fake_manager.sign_ons[0]["can_restart"] is True


async def test_sign_on_waits_for_a_manager_that_starts_later(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    await fake_manager.stop()
    attempt = asyncio.create_task(_sign_on(worker_config))
    await asyncio.sleep(1.0)
    assert not attempt.done()
    await fake_manager.start()
    assert await asyncio.wait_for(attempt, 10) is WorkerStatus.AWAKE

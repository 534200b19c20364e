"""A worker's credentials go only to its own Manager: the challenge, against a real Manager and fakes.

Real Manager (in process, real HTTP on 127.0.0.1), real `WorkerClient` and registration code. The
same Manager is also reached as `localhost`: another address, so it must prove itself there (and
can). Impostors copy its name and answer everything; they never get credentials.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from app.common import manager_proof
from app.worker.client import WorkerClient
from app.worker.config import WorkerConfig, load_credentials, save_credentials
from app.worker.manager_check import Verdict, check_manager
from app.worker.registration import sign_on
from app.worker.service import flush_and_exit, usable_at
from app.worker.upstream_buffer import UpstreamBuffer
from tests.fakes.impostor_manager import ImpostorManager
from tests.ui.conftest import free_port
from tests.worker.fake_manager import FakeManager


def _config(tmp_path: Path, url: str) -> WorkerConfig:
    return WorkerConfig(worker_name="checked", manager_url=url, data_dir=tmp_path / "w")


async def _signed_on(config: WorkerConfig) -> None:
    async with WorkerClient(config.manager_url) as client:
        await sign_on(client, config)


def _localhost(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


async def test_the_worker_keeps_its_managers_key_and_address_and_the_manager_proves_itself(manager, tmp_path):
    config = _config(tmp_path, manager.url)
    await _signed_on(config)
    creds = load_credentials(config.credentials_path)
    assert creds is not None and manager_proof.valid_key(creds.manager_key) and creds.manager_url == manager.url

    assert await check_manager(manager.url, creds) is Verdict.PROVEN
    assert await check_manager(_localhost(manager.url), creds) is Verdict.PROVEN  # same Manager, other name
    wrong = dataclasses.replace(creds, manager_key="0" * 64)
    assert await check_manager(manager.url, wrong) is Verdict.FAILED
    assert await check_manager(manager.url, dataclasses.replace(creds, manager_key="")) is Verdict.NO_KEY
    assert await check_manager(f"http://127.0.0.1:{free_port()}", creds) is Verdict.UNREACHABLE


async def test_impostors_that_relay_or_redirect_to_the_real_manager_fail(manager, tmp_path):
    config = _config(tmp_path, manager.url)
    await _signed_on(config)
    creds = load_credentials(config.credentials_path)
    _, version = await manager.request("GET", "/api/v3/version")
    for how in ("made_up", "relay", "redirect"):
        impostor = await ImpostorManager(version, real_url=manager.url, proof=how).start()
        try:
            assert await check_manager(impostor.url, creds) is Verdict.FAILED, how
            assert any(path == manager_proof.PROVE_PATH for _, path, _ in impostor.requests)
            assert impostor.credentials_received == []
        finally:
            await impostor.stop()


async def test_a_changed_address_where_the_manager_proves_itself_keeps_the_worker(manager, tmp_path):
    config = _config(tmp_path, manager.url)
    await _signed_on(config)
    before = load_credentials(config.credentials_path)
    moved = _config(tmp_path, _localhost(manager.url))
    assert usable_at(moved.manager_url, before) is None  # nothing is sent there before the proof
    await _signed_on(moved)
    after = load_credentials(config.credentials_path)
    assert after is not None and before is not None
    assert after.worker_id == before.worker_id and after.manager_url == moved.manager_url
    _, workers = await manager.request("GET", "/api/v3/worker-mgt/workers")
    assert [w["name"] for w in workers["workers"]] == ["checked"]


async def test_a_changed_address_where_another_manager_answers_gets_a_new_worker_not_the_old_credentials(
        manager, tmp_path, caplog):
    config = _config(tmp_path, manager.url)
    await _signed_on(config)
    old = load_credentials(config.credentials_path)
    other = FakeManager()  # a stock Flamenco Manager: no key, no proof
    await other.start()
    try:
        with caplog.at_level(logging.WARNING):
            await _signed_on(_config(tmp_path, other.url))
        new = load_credentials(config.credentials_path)
        assert old is not None and new is not None and new.worker_id != old.worker_id
        assert old.worker_id not in other.workers and [s["worker"] for s in other.sign_ons] == [new.worker_id]
        paths = [path for _, path in other.calls]
        assert paths.index("/api/v3/worker/register-worker") < paths.index("/api/v3/worker/sign-on")
        assert "registering there as a new worker" in caplog.text
        assert new.manager_url == other.url and new.manager_key == ""
    finally:
        await other.stop()


async def test_credentials_saved_before_managers_had_keys_get_the_key_at_sign_on(manager, tmp_path, caplog):
    config = _config(tmp_path, manager.url)
    await _signed_on(config)
    creds = load_credentials(config.credentials_path)
    assert creds is not None
    save_credentials(config.credentials_path, dataclasses.replace(creds, manager_key="", manager_url=""))
    with caplog.at_level(logging.INFO):
        await _signed_on(config)
    again = load_credentials(config.credentials_path)
    assert again == creds
    assert "trusted on first use" in caplog.text


async def test_queued_updates_are_not_flushed_to_an_address_that_cannot_prove_itself(manager, tmp_path):
    config = _config(tmp_path, manager.url)
    await _signed_on(config)
    creds = load_credentials(config.credentials_path)
    async with WorkerClient(f"http://127.0.0.1:{free_port()}", creds) as away:  # the Manager is away
        buffer = UpstreamBuffer(away, config.queue_db_path)
        await buffer.open()
        await buffer.send("t1", {"activity": "queued while away"})
        await buffer.close()
    _, version = await manager.request("GET", "/api/v3/version")
    impostor = await ImpostorManager(version).start()
    try:
        assert await flush_and_exit(dataclasses.replace(config, manager_url=impostor.url), timeout_s=1) == 1
        assert impostor.credentials_received == []
        assert not any(path.startswith("/api/v3/worker/") for _, path, _ in impostor.requests)
    finally:
        await impostor.stop()

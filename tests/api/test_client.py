"""ManagerClient against a real Manager on a real port."""

from __future__ import annotations

import asyncio

import pytest

from app.api.client import ManagerClient, ManagerUnreachable
from app.api.errors import ApiError
from tests.conftest import echo_job


async def test_client_round_trip(manager):
    async with ManagerClient(manager.url) as client:
        assert (await client.version())["name"] == manager.cfg.manager_name
        assert "echo-sleep-test" in [t["name"] for t in await client.job_types()]
        job = await client.submit_job(echo_job(repeats=2))
        assert (await client.job(job["id"]))["status"] == "queued"
        assert len(await client.job_tasks(job["id"])) == 3
        page = await client.jobs_page(limit=10)
        assert page["total"] == 1
        await client.set_job_priority(job["id"], 70)
        assert (await client.job(job["id"]))["priority"] == 70


async def test_client_raises_the_managers_message(manager):
    async with ManagerClient(manager.url) as client:
        with pytest.raises(ApiError) as info:
            await client.submit_job(echo_job(type="no-such-type"))
        assert info.value.status == 400 and "no-such-type" in info.value.message
        with pytest.raises(ApiError) as info:
            await client.job("4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0aa")
        assert info.value.status == 404


async def test_client_event_stream(manager):
    async with ManagerClient(manager.url) as client:
        seen: list[dict] = []

        async def listen():
            async for event in client.events(types=["job_did_change"]):
                seen.append(event)
                return
        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.3)
        job = await client.submit_job(echo_job())
        await asyncio.wait_for(listener, 5)
        assert seen[0]["type"] == "job_did_change" and seen[0]["data"]["id"] == job["id"]


async def test_unreachable_manager_is_a_clear_error():
    async with ManagerClient("http://127.0.0.1:9", timeout_s=2) as client:
        with pytest.raises(ManagerUnreachable, match="cannot reach the Manager"):
            await client.version()

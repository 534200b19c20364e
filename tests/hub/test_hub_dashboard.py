"""A dashboard pointed at the hub: its snapshot (tags, a page of jobs, workers, farm status) and its
live event stream cover every site, through the same client the desktop dashboard uses."""

from __future__ import annotations

import asyncio
import contextlib

from app.api.client import ManagerClient
from app.api.events import EventMessage, JobUpdate
from tests.conftest import echo_job
from tests.http_worker import HttpWorker
from tests.hub.conftest import eventually


async def test_the_dashboard_client_follows_every_site_through_the_hub(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.join("B")
    await hub_farm.start_site("A")
    site_b = await hub_farm.start_site("B")
    worker = await HttpWorker(site_b.url, "b1", task_types=("misc",)).register_and_sign_on()
    client = ManagerClient(hub.url)
    stream = client.events(types=["job_did_change"])
    seen: list[JobUpdate] = []

    async def follow() -> None:
        async for item in stream:
            if isinstance(item, EventMessage) and isinstance(item.payload, JobUpdate):
                seen.append(item.payload)

    following = asyncio.create_task(follow())
    try:
        await asyncio.wait_for(stream.connected.wait(), 10)
        status, on_a = await hub.request("POST", "/api/v3/jobs", json=echo_job("a", metadata={"site": "A"}))
        assert status == 200
        status, on_b = await hub.request("POST", "/api/v3/jobs", json=echo_job("b", metadata={"site": "B"}))
        assert status == 200
        while (claimed := await worker.claim())[0] == 200:
            await worker.complete(claimed[1]["uuid"])

        async def b_completed_live() -> bool:
            return any(u.id == on_b["id"] and u.status == "completed" for u in seen)
        await eventually(b_completed_live, what="B's job completed, on the hub's event stream")
        assert any(u.id == on_a["id"] for u in seen)
        assert any(u.id == on_b["id"] and u.previous_status is not None for u in seen)
        assert {u.site for u in seen if u.id == on_b["id"]} == {"B"}  # every event says the job's site

        jobs = {j.id: j for j in (await client.jobs_page()).jobs}  # the client keeps the hub's fields
        assert (jobs[on_a["id"]].site, jobs[on_b["id"]].site) == ("A", "B")
        hub_b = jobs[on_b["id"]].hub
        assert hub_b is not None and hub_b.state == "delivered"
        assert hub_b.route_reason.startswith("named by the job")
        assert (await client.job(on_b["id"])).site == "B"

        page = await client.jobs_page(limit=1)
        assert page.total == 2 and len(page.jobs) == 1
        assert {j.id for j in (await client.jobs_page()).jobs} == {on_a["id"], on_b["id"]}
        async def worker_shown() -> bool:
            return [w.name for w in await client.workers()] == ["b1"]
        await eventually(worker_shown, what="B's worker in the hub's worker list")
        assert await client.worker_tags() == []
        assert str(await client.farm_status()) in ("waiting", "active")  # A has queued work, no workers
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        await stream.close()
        await client.close()
        await worker.close()

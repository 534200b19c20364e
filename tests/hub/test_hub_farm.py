"""End to end over 127.0.0.1: `tablao hub` as a process, two site Managers with real `tablao worker`
processes, a Blender render routed through the hub, and the hub killed with -9 while a job waits
for a stopped site: nothing is lost and nothing runs twice."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import RunningManager, echo_job, make_config
from tests.e2e.farm import (
    WorkerProcess,
    blender_job,
    free_port,
    have_blender,
    make_blend,
    wait_awake,
    wait_for,
)
from tests.hub.conftest import link_of
from tests.hub.hub_process import HubProcess, add_site, write_hub_config

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg")]


class Hub:
    """Requests to the hub process over real HTTP."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"

    async def request(self, method: str, path: str, **kwargs):
        import aiohttp

        async with aiohttp.ClientSession(self.url) as session, session.request(method, path, **kwargs) as resp:
            return resp.status, (await resp.json() if resp.content_type == "application/json" else None)

    async def up(self) -> bool:
        try:
            status, _ = await self.request("GET", "/api/v3/version")
        except OSError:
            return False
        return status == 200


async def _site(root, name: str, port: int, hub_port: int, token: str) -> RunningManager:
    path = root / "flamenco-manager.yaml"
    if path.exists():
        from app.manager.settings.config import load_config
        cfg = load_config(path)
    else:
        cfg = make_config(root, listen=f"127.0.0.1:{port}", manager_name=f"site {name}", extra={
            "hub_url": f"http://127.0.0.1:{hub_port}/", "hub_site": name, "hub_token": token})
    return await RunningManager(cfg).start()


async def test_a_render_through_the_hub_and_a_hub_killed_while_a_job_waits(tmp_path):
    hub_port, port_a, port_b = free_port(), free_port(), free_port()
    config = write_hub_config(tmp_path / "hub", hub_port)
    tokens = {name: add_site(config, name) for name in ("A", "B")}
    hub_proc = HubProcess(config).start()
    hub = Hub(hub_port)
    sites: dict[str, RunningManager] = {}
    workers: list[WorkerProcess] = []
    try:
        await wait_for(hub.up, 30, what="the hub to listen")
        for name, port in (("A", port_a), ("B", port_b)):
            sites[name] = await _site(tmp_path / f"site-{name}", name, port, hub_port, tokens[name])
            workers.append(WorkerProcess(sites[name].url, tmp_path, f"{name.lower()}1").start())
        for site in sites.values():
            await wait_awake(site, 1)

        async def idle_everywhere() -> bool:
            _, body = await hub.request("GET", "/api/v3/tablao/hub/sites")
            return all(s["online"] and s["load"].get("idle_workers") == 1 for s in body["sites"])
        await wait_for(idle_everywhere, 30, what="both sites online with an idle worker")

        # A render at site A, submitted to the hub.
        shared_a = tmp_path / "site-A" / "shared"
        blend = make_blend(shared_a / "scene.blend", frames=2)
        job = blender_job(blend, shared_a / "out", frames="1-2", chunk_size=2, name="through the hub")
        job["metadata"] = {"site": "A"}
        started = time.monotonic()
        status, render = await hub.request("POST", "/api/v3/jobs", json=job)
        assert status == 200 and render["site"] == "A", render

        async def first_task_started() -> bool:
            _, body = await sites["A"].request("GET", f"/api/v3/jobs/{render['id']}/tasks")
            return any(t["status"] != "queued" for t in body["tasks"])
        await wait_for(first_task_started, 60, interval=0.02, what="the render's first task to start at A")
        print(f"\nsubmission at the hub to first task started at site A: {time.monotonic() - started:.2f} s")

        async def hub_says(job_id: str, wanted: str) -> bool:
            status, body = await hub.request("GET", f"/api/v3/jobs/{job_id}")
            return status == 200 and body["status"] == wanted
        await wait_for(lambda: hub_says(render["id"], "completed"), 240, what="the render completed at the hub")
        assert sorted(p.name for p in (shared_a / "out" / "frames").glob("*.png")) == ["000001.png", "000002.png"]

        # Site B goes away; a job for it waits at the hub, which is then killed and restarted.
        await sites.pop("B").stop()
        status, waiting = await hub.request("POST", "/api/v3/jobs", json=echo_job("for B", metadata={"site": "B"}))
        assert status == 200 and waiting["hub"]["state"] == "waiting", waiting
        assert "site B is offline" in waiting["hub"]["why"]
        hub_proc.kill9()
        hub_proc = HubProcess(config).start()
        await wait_for(hub.up, 30, what="the hub to listen again")
        status, shown = await hub.request("GET", f"/api/v3/jobs/{waiting['id']}")
        assert status == 200 and shown["hub"]["state"] == "waiting"

        sites["B"] = await _site(tmp_path / "site-B", "B", port_b, hub_port, tokens["B"])
        await wait_for(lambda: hub_says(waiting["id"], "completed"), 120, what="B's job completed at the hub")
        _, at_b = await sites["B"].request("GET", "/api/v3/jobs")
        assert [j["id"] for j in at_b["jobs"]] == [waiting["id"]]
        _, tasks = await sites["B"].request("GET", f"/api/v3/jobs/{waiting['id']}/tasks")
        assert tasks["tasks"] and all(t["status"] == "completed" for t in tasks["tasks"])
        # Each task ran once: its log has one "queued -> active" start.
        for task in tasks["tasks"]:
            _, log = await sites["B"].request("GET", f"/api/v3/tablao/tasks/{task['id']}/log")
            assert str(log).count("-> active") == 1, log
        _, listing = await hub.request("GET", "/api/v3/jobs")
        assert {(j["id"], j["site"]) for j in listing["jobs"]} == {(render["id"], "A"), (waiting["id"], "B")}
        assert link_of(sites["B"]).connected.is_set()
    except BaseException:
        print(hub_proc.output()[-4000:])
        for worker in workers:
            print(f"--- {worker.name}\n{worker.output()[-2000:]}")
        raise
    finally:
        # In threads: a stopping worker signs off with its Manager, which runs in this event loop.
        await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))
        for site in sites.values():
            await site.stop()
        hub_proc.stop()

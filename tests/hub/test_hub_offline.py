"""A site going away loses nothing: submissions and actions for it wait at the hub, in words, and
go out once when it is back; a hub restart loses no waiting submission."""

from __future__ import annotations

from tests.conftest import echo_job
from tests.hub.conftest import eventually, link_of


async def _jobs_at(site) -> list[dict]:
    status, body = await site.request("GET", "/api/v3/jobs")
    assert status == 200
    return body["jobs"]


async def test_a_job_for_a_stopped_site_waits_at_the_hub_and_runs_once_when_it_is_back(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("B")
    await hub_farm.start_site("B")
    await hub_farm.stop_site("B")

    async def b_offline() -> bool:
        return hub.hub.sites.connection("B") is None
    await eventually(b_offline, what="the hub saw B go")

    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job("later", metadata={"site": "B"}))
    assert status == 200, job
    assert job["site"] == "B" and job["hub"]["state"] == "waiting"
    assert "site B is offline (last heard from at" in job["hub"]["why"]
    assert "sent when B connects again" in job["activity"]
    status, sites = await hub.request("GET", "/api/v3/tablao/hub/sites")
    assert status == 200
    (b,) = sites["sites"]
    assert b["online"] is False and b["last_heard"] and b["waiting_at_hub"] == 1
    # An action on the waiting job waits too, behind it, and says so.
    status, body = await hub.request("POST", f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 70})
    assert status == 202 and "kept at the hub" in body["message"]

    site_b = await hub_farm.start_site("B")

    async def delivered() -> dict | None:
        _, shown = await hub.request("GET", f"/api/v3/jobs/{job['id']}")
        return shown if shown["hub"]["state"] == "delivered" and shown["priority"] == 70 else None
    shown = await eventually(delivered, what="the waiting job delivered to B")
    assert shown["site"] == "B"
    jobs = await _jobs_at(site_b)
    assert [(j["id"], j["priority"]) for j in jobs] == [(job["id"], 70)]
    status, sites = await hub.request("GET", "/api/v3/tablao/hub/sites")
    assert sites["sites"][0]["online"] is True and sites["sites"][0]["waiting_at_hub"] == 0


async def test_a_hub_restart_loses_no_waiting_submission_and_repeats_none(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("B")
    site_b = await hub_farm.start_site("B")
    status, first = await hub.request("POST", "/api/v3/jobs", json=echo_job("before"))
    assert status == 200 and first["hub"]["state"] == "delivered"
    await hub_farm.stop_site("B")
    status, waiting = await hub.request("POST", "/api/v3/jobs", json=echo_job("waits", metadata={"site": "B"}))
    assert status == 200 and waiting["hub"]["state"] == "waiting"

    await hub_farm.stop_hub()
    hub = await hub_farm.start_hub()
    status, shown = await hub.request("GET", f"/api/v3/jobs/{waiting['id']}")
    assert status == 200 and shown["hub"]["state"] == "waiting" and "offline" in shown["hub"]["why"]
    # What the hub knew of B (its job types) survived too: it still routes to B by choice.
    status, third = await hub.request("POST", "/api/v3/jobs", json=echo_job("routed while away"))
    assert status == 200 and third["site"] == "B" and third["hub"]["state"] == "waiting"

    site_b = await hub_farm.start_site("B")

    async def all_there() -> list[dict] | None:
        jobs = await _jobs_at(site_b)
        return jobs if len(jobs) >= 3 else None
    jobs = await eventually(all_there, what="three jobs at B")
    assert sorted(j["id"] for j in jobs) == sorted([first["id"], waiting["id"], third["id"]])

    async def all_delivered() -> bool:
        _, listing = await hub.request("GET", "/api/v3/jobs")
        return [j["hub"]["state"] for j in listing["jobs"]] == ["delivered"] * 3
    await eventually(all_delivered, what="the hub shows three delivered jobs")
    # Reconnecting again sends nothing twice.
    await hub_farm.stop_site("B")
    site_b = await hub_farm.start_site("B")
    assert len(await _jobs_at(site_b)) == 3


async def test_a_job_deleted_at_its_site_while_the_hub_was_down_leaves_the_hub_list(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job(metadata={"site": "A"}))
    assert status == 200
    await hub_farm.stop_hub()
    status, _ = await site_a.request("DELETE", f"/api/v3/jobs/{job['id']}", admin=True)
    assert status == 204

    async def gone_at_a() -> bool:
        status, _ = await site_a.request("GET", f"/api/v3/jobs/{job['id']}")
        return status == 404
    await eventually(gone_at_a, what="the job deleted at A")
    hub = await hub_farm.start_hub()

    async def gone_at_hub() -> bool:
        _, listing = await hub.request("GET", "/api/v3/jobs")
        return listing["jobs"] == []
    await eventually(gone_at_hub, what="the hub forgot the deleted job")


async def test_a_site_reconnects_by_itself_when_the_hub_is_back(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200 and job["hub"]["state"] == "delivered"
    await hub_farm.stop_hub()

    async def link_down() -> bool:
        return not link_of(site_a).connected.is_set()
    await eventually(link_down, what="A noticed the hub go")
    hub = await hub_farm.start_hub()

    async def link_up() -> bool:
        return link_of(site_a).connected.is_set() and hub.hub.sites.connection("A") is not None
    await eventually(link_up, what="A linked again without being restarted")
    status, tasks = await hub.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    assert status == 200 and tasks["tasks"]
    status, again = await hub.request("POST", "/api/v3/jobs", json=echo_job("after the restart"))
    assert status == 200 and again["hub"]["state"] == "delivered"
    assert len(await _jobs_at(site_a)) == 2

    await hub_farm.stop_site("A")
    await eventually(lambda: _offline(hub, "A"), what="the hub saw A go")
    status, body = await hub.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    assert status == 503 and "site A is offline" in body["message"]


async def _offline(hub, name: str) -> bool:
    return hub.hub.sites.connection(name) is None


async def test_a_job_its_site_refuses_after_waiting_shows_why_and_can_be_deleted(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("B")
    await hub_farm.start_site("B")
    await hub_farm.stop_site("B")
    await eventually(lambda: _offline(hub, "B"), what="the hub saw B go")
    bad = echo_job(metadata={"site": "B"})
    bad["settings"]["sleep_repeats"] = "many"
    status, job = await hub.request("POST", "/api/v3/jobs", json=bad)
    assert status == 200 and job["hub"]["state"] == "waiting"
    site_b = await hub_farm.start_site("B")

    async def refused() -> dict | None:
        _, shown = await hub.request("GET", f"/api/v3/jobs/{job['id']}")
        return shown if shown["hub"]["state"] == "refused" else None
    shown = await eventually(refused, what="B's refusal at the hub")
    assert shown["status"] == "failed" and "refused by site B" in shown["activity"]
    assert "sleep_repeats" in shown["hub"]["why"]
    assert await _jobs_at(site_b) == []
    status, _ = await hub.request("DELETE", f"/api/v3/jobs/{job['id']}", headers=hub.admin_headers)
    assert status == 204
    status, _ = await hub.request("GET", f"/api/v3/jobs/{job['id']}")
    assert status == 404

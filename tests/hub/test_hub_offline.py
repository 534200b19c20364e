"""A site going away loses nothing: submissions and actions for it wait at the hub, in words, and
go out once when it is back; a hub restart loses no waiting submission."""

from __future__ import annotations

import pytest

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


@pytest.mark.slow  # the site's reconnect backoff: about 15 s
async def test_a_site_cut_off_while_its_job_ran_reports_its_final_state_when_it_reconnects(hub_farm):
    """The link drops while A's worker renders; the job completes at A with the hub away; once A
    is linked again the hub shows it completed (from A's changes since the hub's cursor)."""
    from tests.http_worker import HttpWorker

    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    worker = await HttpWorker(site_a.url, "a1", task_types=("misc",)).register_and_sign_on()
    try:
        status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job("cut off", repeats=1))
        assert status == 200 and job["hub"]["state"] == "delivered"
        status, task = await worker.claim()
        assert status == 200

        async def active_at_hub() -> bool:
            _, shown = await hub.request("GET", f"/api/v3/jobs/{job['id']}")
            return shown["status"] == "active"
        await eventually(active_at_hub, what="the hub saw the job start at A")

        await hub_farm.stop_hub()  # the link is cut while the job runs
        await eventually(lambda: _link_down(site_a), what="A noticed the link go")
        await worker.complete(task["uuid"])
        while (claimed := await worker.claim())[0] == 200:
            await worker.complete(claimed[1]["uuid"])
        status, at_a = await site_a.request("GET", f"/api/v3/jobs/{job['id']}")
        assert at_a["status"] == "completed", "the job finished at A while the hub was away"

        hub = await hub_farm.start_hub()

        async def completed_at_hub() -> bool:
            _, shown = await hub.request("GET", f"/api/v3/jobs/{job['id']}")
            return shown["status"] == "completed" and shown["site"] == "A"
        await eventually(completed_at_hub, what="A reported the job's final state when it linked again")
    finally:
        await worker.close()


async def _link_down(site) -> bool:
    return not link_of(site).connected.is_set()

"""A hub and two site Managers on 127.0.0.1: jobs routed by name and by choice land on the right site,
and the hub's one list shows them with their sites."""

from __future__ import annotations

from tests.conftest import echo_job
from tests.http_worker import HttpWorker
from tests.hub.conftest import eventually, link_of


async def _job_at(site, job_id: str) -> dict | None:
    status, body = await site.request("GET", f"/api/v3/jobs/{job_id}")
    return body if status == 200 else None


async def test_a_job_naming_its_site_lands_there_and_one_without_goes_to_the_idle_site(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.join("B")
    site_a = await hub_farm.start_site("A")
    site_b = await hub_farm.start_site("B")
    worker = await HttpWorker(site_b.url, "b1", task_types=("misc",)).register_and_sign_on()
    try:
        # B's idle worker reaches the hub with B's next status report.
        async def b_has_idle() -> bool:
            return hub.hub.sites.states["B"].info.get("load", {}).get("idle_workers") == 1
        await eventually(b_has_idle, what="B's idle worker known at the hub")

        status, named = await hub.request("POST", "/api/v3/jobs",
                                          json=echo_job("for A", metadata={"site": "A"}))
        assert status == 200, named
        assert named["site"] == "A" and "named by the job" in named["hub"]["route_reason"]
        assert await _job_at(site_a, named["id"]) is not None
        assert await _job_at(site_b, named["id"]) is None

        status, chosen = await hub.request("POST", "/api/v3/jobs", json=echo_job("anywhere"))
        assert status == 200, chosen
        assert chosen["site"] == "B", chosen["hub"]
        assert "soonest" in chosen["hub"]["route_reason"] and "1 idle" in chosen["hub"]["route_reason"]
        assert await _job_at(site_b, chosen["id"]) is not None
        assert await _job_at(site_a, chosen["id"]) is None

        # One list over both sites, each job with its site.
        status, listing = await hub.request("GET", "/api/v3/jobs")
        assert status == 200
        sites = {job["id"]: job["site"] for job in listing["jobs"]}
        assert sites == {named["id"]: "A", chosen["id"]: "B"}

        # The worker at B runs the chosen job; its state reaches the hub through B's link.
        ran = 0
        while (claimed := await worker.claim())[0] == 200:
            await worker.complete(claimed[1]["uuid"])
            ran += 1
        assert ran >= 1

        async def completed() -> bool:
            _, job = await hub.request("GET", f"/api/v3/jobs/{chosen['id']}")
            return job["status"] == "completed"
        await eventually(completed, what="the job completed at the hub")
        status, tasks = await hub.request("GET", f"/api/v3/jobs/{chosen['id']}/tasks")
        assert status == 200 and len(tasks["tasks"]) == ran
        first = tasks["tasks"][0]["id"]
        status, task = await hub.request("GET", f"/api/v3/tasks/{first}")
        assert status == 200 and task["job_id"] == chosen["id"] and task["status"] == "completed"
        status, tail = await hub.request("GET", f"/api/v3/tasks/{first}/logtail")
        assert status == 200 and "done" in tail
        status, body = await hub.request("GET", "/api/v3/tasks/no-such-task")
        assert status == 404 and "no connected site has task" in body["message"]

        # Workers per site, read-only.
        status, workers = await hub.request("GET", "/api/v3/worker-mgt/workers")
        assert status == 200 and [(w["name"], w["site"]) for w in workers["workers"]] == [("b1", "B")]
        assert link_of(site_a).connected.is_set()
    finally:
        await worker.close()


async def test_the_hub_offers_the_job_types_of_its_sites_and_refuses_what_none_can_run(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.start_site("A")
    status, types = await hub.request("GET", "/api/v3/jobs/types")
    assert status == 200
    names = {t["name"] for t in types["job_types"]}
    assert {"echo-sleep-test", "simple-blender-render"} <= names
    status, one = await hub.request("GET", "/api/v3/jobs/type/echo-sleep-test")
    assert status == 200 and one["name"] == "echo-sleep-test"

    status, body = await hub.request("POST", "/api/v3/jobs", json=echo_job(type="no-such-type"))
    assert status == 400 and "no site can run this job" in body["message"]
    status, body = await hub.request("POST", "/api/v3/jobs", json=echo_job(metadata={"site": "Z"}))
    assert status == 400 and "not joined" in body["message"]
    # A refusal by the site (a bad setting) reaches the artist as the site's own 400, and nothing stays.
    bad = echo_job()
    bad["settings"]["sleep_repeats"] = "many"
    status, _ = await hub.request("POST", "/api/v3/jobs/check", json=echo_job())
    assert status == 204
    status, body = await hub.request("POST", "/api/v3/jobs/check", json=bad)
    assert status == 400 and "sleep_repeats" in body["message"], body
    status, body = await hub.request("POST", "/api/v3/jobs", json=bad)
    assert status == 400 and "site A refused the job" in body["message"], body
    status, listing = await hub.request("GET", "/api/v3/jobs")
    assert listing["jobs"] == []


async def test_pause_cancel_and_requeue_through_the_hub_act_on_the_owning_site(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job(metadata={"site": "A"}))
    assert status == 200
    for wanted, shown in (("pause-requested", "paused"), ("queued", "queued"),
                          ("cancel-requested", "canceled"), ("requeueing", "queued")):
        status, body = await hub.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                         json={"status": wanted, "reason": "from the hub"})
        assert status == 204, (wanted, body)
        at_a = await _job_at(site_a, job["id"])
        assert at_a is not None and at_a["status"] == shown, (wanted, at_a)

        async def hub_shows(state: str = shown) -> bool:
            _, seen = await hub.request("GET", f"/api/v3/jobs/{job['id']}")
            return seen["status"] == state
        await eventually(hub_shows, what=f"{shown} at the hub")
    status, _ = await hub.request("DELETE", f"/api/v3/jobs/{job['id']}")
    assert status == 401  # deleting is the hub admin's
    status, _ = await hub.request("DELETE", f"/api/v3/jobs/{job['id']}", headers=hub.admin_headers)
    assert status == 204

    async def gone_everywhere() -> bool:
        _, listing = await hub.request("GET", "/api/v3/jobs")
        return await _job_at(site_a, job["id"]) is None and listing["jobs"] == []
    await eventually(gone_everywhere, what="the job deleted at A and gone from the hub")

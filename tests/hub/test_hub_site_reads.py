"""What the status page and the dashboard read of a job's site through the hub (`site_reads.py`): ETAs,
task figures, the last rendered frame, a worker's details, the variables users see, a task's status
change, and the admin-token check, against a real hub and real site Managers on 127.0.0.1 ports;
bad ids, wrong tokens, huge values and an offline site get a 4xx or a 503 in words, never a 5xx."""

from __future__ import annotations

import io

from tests.conftest import echo_job
from tests.http_worker import HttpWorker
from tests.hub.conftest import eventually


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


async def _two_sites(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.join("B")
    await hub_farm.start_site("A")
    await hub_farm.start_site("B")
    return hub


async def _submit(hub, site: str, name: str) -> dict:
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job(name=name, metadata={"site": site}))
    assert status == 200, job
    return job


async def test_frames_task_figures_and_etas_come_from_the_owning_site(hub_farm):
    hub = await _two_sites(hub_farm)
    job = await _submit(hub, "A", "shot at A")
    jid = job["id"]
    assert await hub.request("GET", f"/api/v3/jobs/{jid}/last-rendered") == (204, None)
    status, stats = await hub.request("GET", f"/api/v3/tablao/jobs/{jid}/task-stats")
    assert status == 200 and stats == {"job_id": jid, "tasks": [], "truncated": False}
    status, etas = await hub.request("GET", "/api/v3/tablao/jobs/eta")
    assert status == 200 and set(etas) == {"jobs", "reasons"}, etas
    assert jid in etas["jobs"] or jid in etas["reasons"], etas

    # A frame at site A: the hub says where it is and serves its pictures, and tells its event stream.
    site_a = hub_farm.sites["A"]
    events: list = []
    hub.hub.bus.add_listener(events.append)
    await site_a.services.last_rendered.submit(jid, _jpeg(), "image/jpeg")
    status, info = await hub.request("GET", f"/api/v3/jobs/{jid}/last-rendered")
    assert status == 200 and info["base"] == f"/api/v3/tablao/hub/frames/{jid}", info
    assert "last-rendered.jpg" in info["suffixes"]
    async with hub.session.get(f"{info['base']}/last-rendered-tiny.jpg") as resp:
        assert resp.status == 200 and resp.content_type == "image/jpeg"
        body = await resp.read()
    on_site = site_a.services.last_rendered.storage.job_file(jid, "last-rendered-tiny.jpg").read_bytes()
    assert body == on_site
    await eventually(lambda: _async(any(e.name == "last_rendered_did_change" and e.data["job_id"] == jid
                                        for e in events)), what="the hub's last_rendered_did_change")

    # Abuse: another Host (a rebinding page), names outside the site's pictures, ids no site has,
    # huge ids: 4xx in words.
    async with hub.session.get(f"{info['base']}/last-rendered.jpg", headers={"Host": "evil.example"}) as resp:
        assert resp.status in (400, 403, 421), resp.status
    for path, expected in [
        (f"/api/v3/tablao/hub/frames/{jid}/..%2Fjob.yaml", (400, 404)),
        (f"/api/v3/tablao/hub/frames/{jid}/flamenco-manager.yaml", (400,)),
        (f"/api/v3/tablao/hub/frames/{'x' * 3000}/last-rendered.jpg", (404,)),
        (f"/api/v3/jobs/{'x' * 3000}/last-rendered", (404,)),
        ("/api/v3/tablao/jobs/not-a-job/task-stats", (404,)),
        ("/api/v3/worker-mgt/workers/nobody", (404,)),
    ]:
        status, answer = await hub.request("GET", path)
        assert status in expected, (path, status, answer)
        if isinstance(answer, dict):
            assert answer["message"], answer


async def _async(value):
    return value


async def test_a_task_action_and_a_worker_go_through_the_hub_to_the_site(hub_farm):
    hub = await _two_sites(hub_farm)
    job = await _submit(hub, "B", "shot at B")
    status, tasks = await hub.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    assert status == 200 and tasks["tasks"], tasks
    task_id = tasks["tasks"][0]["id"]
    # The task's status: the hub's class for it is the Manager's; bad bodies are a 400.
    for body in ({"status": "exploded", "reason": "x"}, {"status": "canceled"}, {"status": "canceled",
                                                                                  "reason": "x" * 100_000}):
        status, answer = await hub.request("POST", f"/api/v3/tasks/{task_id}/setstatus", json=body)
        assert 400 <= status < 500, (body, status, answer)
    status, answer = await hub.request("POST", "/api/v3/tasks/no-such-task/setstatus",
                                       json={"status": "canceled", "reason": "test"})
    assert status == 404, answer
    status, answer = await hub.request("POST", f"/api/v3/tasks/{task_id}/setstatus", headers={
        "Origin": "http://evil.example"}, json={"status": "canceled", "reason": "a page elsewhere"})
    assert status in (400, 403), (status, answer)  # another site's page may not act through the hub
    assert (await hub_farm.sites["B"].services.jobs.task(task_id))["status"] == "queued"
    events: list = []
    hub.hub.bus.add_listener(events.append)
    status, answer = await hub.request("POST", f"/api/v3/tasks/{task_id}/setstatus",
                                       json={"status": "canceled", "reason": "from the hub"})
    assert status == 204, answer
    site_task = await hub_farm.sites["B"].services.jobs.task(task_id)
    assert site_task["status"] == "canceled"
    # The job itself may not change: the hub's stream still tells pages to read its tasks again.
    assert any(e.name == "job_did_change" and e.data["id"] == job["id"] and e.data["refresh_tasks"]
               for e in events), events

    worker = await HttpWorker(hub_farm.sites["B"].url, name="render-b1").register_and_sign_on()
    try:
        async def listed():
            _, body = await hub.request("GET", "/api/v3/worker-mgt/workers")
            return [w for w in body["workers"] if w["name"] == "render-b1"]

        [summary] = await eventually(listed, what="the site's worker at the hub")
        status, detail = await hub.request("GET", f"/api/v3/worker-mgt/workers/{summary['id']}")
        assert status == 200 and detail["site"] == "B" and detail["name"] == "render-b1", detail
        assert "platform" in detail, detail
    finally:
        await worker.close()


async def test_variables_are_a_sites_and_need_its_name_when_the_hub_has_several(hub_farm):
    hub = await _two_sites(hub_farm)
    status, found = await hub.request("GET", "/api/v3/configuration/variables/users/linux?site=A")
    assert status == 200 and isinstance(found, dict), found
    assert found == hub_farm.sites["A"].services.settings.variables.resolve("users", "linux")
    for query, expected, words in [
        ("", 400, "?site=NAME"),
        ("?site=Z", 404, "no site 'Z'"),
        ("?site=" + "A" * 200, 400, "at most 64"),
    ]:
        status, answer = await hub.request("GET", f"/api/v3/configuration/variables/users/linux{query}")
        assert status == expected and words in answer["message"], (query, status, answer)
    status, answer = await hub.request("GET", "/api/v3/configuration/variables/artists/linux?site=A")
    assert status == 400, answer
    status, answer = await hub.request("GET", f"/api/v3/configuration/variables/users/{'l' * 200}?site=A")
    assert status == 400, answer


async def test_the_admin_check_needs_the_hubs_admin_token(hub_farm):
    hub = await hub_farm.start_hub()
    assert (await hub.request("HEAD", "/api/v3/configuration/file"))[0] == 401
    status, _ = await hub.request("HEAD", "/api/v3/configuration/file",
                                  headers={"X-Tablao-Admin-Token": "not-the-token"})
    assert status == 403
    status, _ = await hub.request("HEAD", "/api/v3/configuration/file", headers=hub.admin_headers)
    assert status == 200
    status, body = await hub.request("GET", "/api/v3/configuration/file", headers=hub.admin_headers)
    assert status == 200 and "hub's machine" in body["message"], body
    assert "token" not in body["message"]


async def test_an_offline_site_is_said_in_words(hub_farm):
    hub = await _two_sites(hub_farm)
    job = await _submit(hub, "B", "shot at B")
    await hub_farm.stop_site("B")

    async def offline():
        return hub.hub.sites.connection("B") is None

    await eventually(offline, what="site B seen offline")
    for path in (f"/api/v3/jobs/{job['id']}/last-rendered", f"/api/v3/tablao/jobs/{job['id']}/task-stats",
                 f"/api/v3/tablao/hub/frames/{job['id']}/last-rendered.jpg",
                 "/api/v3/configuration/variables/users/linux?site=B"):
        status, answer = await hub.request("GET", path)
        assert status == 503 and "site B is offline" in answer["message"], (path, status, answer)
    status, etas = await hub.request("GET", "/api/v3/tablao/jobs/eta")
    assert status == 200 and "site B is offline" in etas["reasons"][job["id"]], etas


async def test_a_site_applies_a_task_action_only_to_a_task_of_the_job_named(hub_farm):
    from tests.hub.conftest import link_of

    hub = await _two_sites(hub_farm)
    first, second = await _submit(hub, "A", "first"), await _submit(hub, "A", "second")
    _, tasks = await hub.request("GET", f"/api/v3/jobs/{second['id']}/tasks")
    inbox = link_of(hub_farm.sites["A"]).inbox
    body = {"task_id": tasks["tasks"][0]["id"], "status": "canceled", "reason": "test"}
    answer = await inbox.action({"id": "m-1", "job_id": first["id"], "action": "settaskstatus", "body": body})
    assert answer["status"] == 400 and "is not a task of job" in answer["message"], answer
    answer = await inbox.action({"id": "m-2", "job_id": second["id"], "action": "settaskstatus",
                                 "body": {**body, "task_id": "x" * 5000}})
    assert answer["status"] == 400, answer
    answer = await inbox.ask({"rid": "r-1", "what": "frame", "job_id": first["id"], "name": "../../etc/passwd"})
    assert answer["status"] == 400, answer
    answer = await inbox.ask({"rid": "r-2", "what": "variables", "audience": "users"})
    assert answer["status"] == 400, answer

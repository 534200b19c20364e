"""Only joined sites with their token connect; a repeated or replayed message is applied once; the
hub's admin actions need its admin token; bad bodies are 4xx in words."""

from __future__ import annotations

import aiohttp
import pytest

from app.manager.hub_link import protocol as p
from tests.conftest import echo_job
from tests.hub.conftest import eventually, link_of


async def _connect(hub, site: str, token: str | None):
    headers = {p.SITE_HEADER: site} if site else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    session = aiohttp.ClientSession()
    try:
        return session, await session.ws_connect(f"ws://127.0.0.1:{hub.port}{p.LINK_PATH}", headers=headers)
    except BaseException:
        await session.close()
        raise


@pytest.mark.parametrize(("site", "token", "status"), [
    ("A", "a-wrong-token-of-enough-length", 403),  # joined site, wrong token
    ("Z", None, 401),  # no token at all
    ("", "x" * 43, 401),  # no site name
])
async def test_a_site_link_needs_a_joined_site_and_its_token(hub_farm, site, token, status):
    hub = await hub_farm.start_hub(sites=("A", "Z"))
    await hub_farm.join("A")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await _connect(hub, site, token)
    assert refused.value.status == status


async def test_an_unknown_site_with_a_real_token_of_another_is_refused(hub_farm):
    hub = await hub_farm.start_hub(sites=("A", "Z"))
    token = await hub_farm.join("A")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await _connect(hub, "Z", token)  # Z was never joined: A's token is not Z's
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await _connect(hub, "Q", token)  # not even in the hub's `sites`
    assert refused.value.status == 403


async def test_a_site_not_in_the_hub_list_gets_no_token(hub_farm):
    hub = await hub_farm.start_hub(sites=("A",))
    status, body = await hub.request("POST", "/api/v3/tablao/hub/sites", json={"name": "Q"},
                                     headers=hub.admin_headers)
    assert status == 400 and "not in this hub's `sites` list" in body["message"]
    status, body = await hub.request("POST", "/api/v3/tablao/hub/sites", json={"name": "../x"},
                                     headers=hub.admin_headers)
    assert status == 400 and "cannot name a site" in body["message"]
    for bad, words in (({}, "`name` is required: a string"), ({"name": 5}, "`name` must be a string, not a number"),
                       ({"name": None}, "`name` is required: a string, not null"), (["A"], "expected a JSON object"),
                       ({"name": "A" * 300}, "`name` must be at most 255 characters long")):
        status, body = await hub.request("POST", "/api/v3/tablao/hub/sites", json=bad, headers=hub.admin_headers)
        assert status == 400 and words in body["message"], (bad, body)


async def test_adding_a_site_needs_the_hub_admin_token(hub_farm):
    hub = await hub_farm.start_hub()
    status, body = await hub.request("POST", "/api/v3/tablao/hub/sites", json={"name": "A"})
    assert status == 401 and "admin token" in body["message"]
    status, body = await hub.request("POST", "/api/v3/tablao/hub/sites", json={"name": "A"},
                                     headers={"X-Tablao-Admin-Token": "not-it"})
    assert status == 403
    status, body = await hub.request("POST", "/api/v3/tablao/hub/sites", json={"name": "A"},
                                     headers=hub.admin_headers)
    assert status == 200 and len(body["token"]) >= 40
    status, _ = await hub.request("DELETE", "/api/v3/tablao/hub/sites/A")
    assert status == 401


async def test_a_new_token_replaces_the_old_one(hub_farm):
    hub = await hub_farm.start_hub()
    old = await hub_farm.join("A")
    await hub_farm.join("A")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await _connect(hub, "A", old)
    assert refused.value.status == 403


async def test_bad_bodies_at_the_hub_are_4xx_in_words(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.start_site("A")
    status, body = await hub.request("POST", "/api/v3/jobs", data=b"{not json",
                                     headers={"Content-Type": "application/json"})
    assert status == 400
    status, body = await hub.request("POST", "/api/v3/jobs", json={"name": "x"})
    assert status == 400 and "type" in body["message"]
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200
    status, body = await hub.request("POST", f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 500})
    assert status == 400 and "priority" in body["message"]
    status, body = await hub.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                     json={"status": "completed", "reason": "x"})
    assert status in (400, 422), body
    status, body = await hub.request("GET", "/api/v3/jobs/no-such-job")
    assert status == 404
    status, body = await hub.request("GET", p.LINK_PATH, headers={
        p.SITE_HEADER: "A", "Authorization": f"Bearer {hub_farm.tokens['A']}"})
    assert status == 400 and "websocket" in body["message"]
    status, body = await hub.request("GET", "/api/v3/jobs", headers={"Host": "evil.example"})
    assert status == 421


async def test_a_repeated_submission_is_stored_once_and_answered_alike(hub_farm):
    await hub_farm.start_hub()
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    inbox = link_of(site_a).inbox
    msg = {"type": p.SUBMIT, "id": "m-1", "job_id": "0f0f0f0f-0000-4000-8000-000000000001",
           "job": echo_job("once"), "credentialed": False}
    first = await inbox.submit(msg)
    again = await inbox.submit(msg)
    assert first["ok"] and again == first
    # The same job id under a new message id (its answer was lost with a crash): still one job.
    third = await inbox.submit({**msg, "id": "m-2"})
    assert third["ok"] and third["job"]["id"] == msg["job_id"]
    status, jobs = await site_a.request("GET", "/api/v3/jobs")
    assert [j["id"] for j in jobs["jobs"]] == [msg["job_id"]]
    # An action applied once, even when repeated.
    act = {"type": p.ACTION, "id": "m-3", "job_id": msg["job_id"], "action": "setpriority", "body": {"priority": 80}}
    assert (await inbox.action(act))["ok"]
    await site_a.request("POST", f"/api/v3/jobs/{msg['job_id']}/setpriority", json={"priority": 10})
    assert (await inbox.action(act))["ok"]
    status, job = await site_a.request("GET", f"/api/v3/jobs/{msg['job_id']}")
    assert job["priority"] == 10  # the repeat changed nothing
    refused = await inbox.action({**act, "id": "m-4", "action": "rm -rf"})
    assert refused["ok"] is False and refused["status"] == 400


async def test_a_replayed_ack_or_an_old_report_changes_nothing_at_the_hub(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.start_site("A")
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job(metadata={"site": "A"}))
    assert status == 200
    status, _ = await hub.request("POST", f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 90})
    assert status == 204

    async def priority_90() -> bool:
        _, shown = await hub.request("GET", f"/api/v3/jobs/{job['id']}")
        return shown["priority"] == 90
    await eventually(priority_90)
    # The real site goes away; a connection with A's token then replays the submission's first
    # answer (the job at priority 50) and an old report of it: the hub keeps what is newer.
    await hub_farm.stop_site("A")
    session, ws = await _connect(hub, "A", hub_farm.tokens["A"])
    try:
        await ws.send_json({"type": p.HELLO, "site": "A"})
        welcome = await ws.receive_json(timeout=10)
        assert welcome["type"] == p.WELCOME and welcome["cursor"]
        old = {**job, "priority": 50}
        old.pop("site"), old.pop("hub")
        await ws.send_json({"type": p.ACK, "id": "no-such-message", "ok": True, "status": 200, "job": old})
        await ws.send_json({"type": p.JOBS, "jobs": [old], "gone": []})
        await ws.send_json({"type": p.JOBS, "jobs": [{"id": "x" * 99, "updated": "never"}, "junk"], "gone": [5]})
        await ws.send_json({"type": "no-such-type"})
        await ws.send_str("not json")
        await ws.send_json({"type": p.STATUS, "load": {"idle_workers": 3}, "workers": "not a list"})

        async def heard_status() -> bool:
            return hub.hub.sites.states["A"].info.get("load", {}).get("idle_workers") == 3
        await eventually(heard_status)
    finally:
        await ws.close()
        await session.close()
    _, shown = await hub.request("GET", f"/api/v3/jobs/{job['id']}")
    assert shown["priority"] == 90 and shown["site"] == "A"
    _, listing = await hub.request("GET", "/api/v3/jobs")
    assert [j["id"] for j in listing["jobs"]] == [job["id"]]

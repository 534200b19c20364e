"""Task changes and followed task logs of every site on the hub's event stream (`task_feed.py`),
against a real hub and real site Managers on 127.0.0.1 ports, through the client the dashboard
uses: a task's status change at a site arrives as the Manager's `task_did_change`; a followed
task's log lines arrive live, and only while someone at the hub follows it. Abuse: follows of
unknown, foreign or huge ids, and a site sending events about another site's job, change nothing."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from app.api.client import ManagerClient
from app.api.events import EventMessage, JobUpdate, TaskLogUpdate, TaskUpdate
from app.manager.hub_link import protocol as p
from tests.conftest import echo_job
from tests.http_worker import HttpWorker
from tests.hub.conftest import eventually, link_of


async def _true(value: Any) -> Any:
    return value


class Watch:
    """The hub's event stream, followed in the background, every payload kept."""

    def __init__(self, url: str, types: list[str] | None = None):
        self.client = ManagerClient(url)
        self.stream = self.client.events(types=types)
        self.seen: list[Any] = []
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Watch:
        async def follow() -> None:
            async for item in self.stream:
                if isinstance(item, EventMessage):
                    self.seen.append(item.payload)

        self._task = asyncio.create_task(follow())
        await asyncio.wait_for(self.stream.connected.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.stream.close()
        await self.client.close()

    def of(self, kind: type) -> list[Any]:
        return [x for x in self.seen if isinstance(x, kind)]


async def _farm(hub_farm, sites: tuple[str, ...] = ("A", "B")):
    hub = await hub_farm.start_hub(sites)
    for name in ("A", "B"):
        await hub_farm.join(name)
        await hub_farm.start_site(name)
    return hub


async def _claimed_at(hub, hub_farm, site: str) -> tuple[dict, dict, HttpWorker]:
    """A job submitted at the hub for `site`, and its first task claimed there by a worker."""
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job("live", metadata={"site": site}))
    assert status == 200, job
    worker = await HttpWorker(hub_farm.sites[site].url, f"{site.lower()}1", task_types=("misc",)).register_and_sign_on()
    status, task = await worker.claim()
    assert status == 200, task
    return job, task, worker


async def test_a_task_change_at_a_site_is_on_the_hubs_event_stream(hub_farm):
    hub = await _farm(hub_farm)
    async with Watch(hub.url, types=["task_did_change", "job_did_change"]) as watch:
        job, task, worker = await _claimed_at(hub, hub_farm, "B")
        try:
            tid = task["uuid"]

            def task_events() -> list[TaskUpdate]:
                return [u for u in watch.of(TaskUpdate) if u.id == tid]

            await eventually(lambda: _true(any(u.status == "active" for u in task_events())),
                             what="the claimed task active, on the hub's stream")
            assert await worker.update(tid, activity="rendering frame 1") == (204, "")
            await eventually(lambda: _true(any(u.activity == "rendering frame 1" for u in task_events())),
                             what="the task's activity, on the hub's stream")
            assert (await worker.complete(tid))[0] == 204
            await eventually(lambda: _true(any(u.status == "completed" for u in task_events())),
                             what="the task completed, on the hub's stream")
            done = next(u for u in task_events() if u.status == "completed")
            assert done.job_id == job["id"] and done.previous_status == "active"
            assert done.worker is not None and done.worker.name == "b1"  # the Manager's own event, unchanged
            # The same task as the hub lists it (the id the hub and the site share).
            status, tasks = await hub.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
            assert status == 200 and tid in {t["id"] for t in tasks["tasks"]}
        finally:
            await worker.close()

        # A site connecting again: the hub has its pages read its unfinished jobs' tasks anew, as task
        # changes made while the site was away are not sent again.
        before = len(watch.of(JobUpdate))
        await link_of(hub_farm.sites["B"]).connected.wait()
        conn = hub.hub.sites.connection("B")
        assert conn is not None
        await conn.ws.close()
        await eventually(lambda: _true(any(u.id == job["id"] and u.refresh_tasks
                                           for u in watch.of(JobUpdate)[before:])),
                         what="the unfinished job's tasks to be read again after B reconnected")


async def test_a_followed_task_log_arrives_live_only_while_followed(hub_farm):
    hub = await _farm(hub_farm)
    job, task, worker = await _claimed_at(hub, hub_farm, "A")
    tid, link_a = task["uuid"], link_of(hub_farm.sites["A"])
    try:
        async with Watch(hub.url, types=["task_did_change"]) as watch:
            assert (await worker.update(tid, log="before anyone followed\n"))[0] == 204
            await asyncio.sleep(0.3)
            assert tid not in link_a._follows, "no one follows it: the site sends no lines"
            await watch.stream.watch_task_log(tid)
            await eventually(lambda: _true(tid in link_a._follows), what="site A asked for the task's lines")
            assert hub.hub.feed.followed == {tid: "A"}
            for n in range(3):
                assert (await worker.update(tid, log=f"Fra:{n} rendering\n"))[0] == 204

            def text() -> str:
                return "".join(u.log for u in watch.of(TaskLogUpdate) if u.task_id == tid)

            await eventually(lambda: _true("Fra:2 rendering" in text()), what="the log lines at the hub, live")
            assert text().startswith("Fra:0 rendering\n") and "before anyone" not in text()
            assert all(u.job_id == job["id"] for u in watch.of(TaskLogUpdate))

            # A second follower at the hub: one subscription at the site; the first leaving keeps it.
            async with Watch(hub.url, types=["task_did_change"]) as second:
                await second.stream.watch_task_log(tid)
                await asyncio.sleep(0.3)
                await watch.stream.unwatch_task_log(tid)
                assert (await worker.update(tid, log="for the second\n"))[0] == 204
                await eventually(lambda: _true(any("for the second" in u.log for u in second.of(TaskLogUpdate))),
                                 what="the second follower's lines")
                assert tid in link_a._follows
            # The last follower gone (its connection closed): the site stops sending.
            await eventually(lambda: _true(tid not in link_a._follows), what="site A told to stop")
            assert hub.hub.feed.followed == {}

            # Followed again, the link dropped and made again: the new welcome asks the site again.
            await watch.stream.watch_task_log(tid)
            await eventually(lambda: _true(tid in link_a._follows), what="followed again")
            conn = hub.hub.sites.connection("A")
            assert conn is not None
            # `connected` is set once the new connection's welcome was taken, before any later
            # message is read. The welcome lists the followed tasks, so at that moment the follow
            # must be there already: no gap in which a line is dropped.
            following_when_linked: list[bool] = []
            link_set = link_a.connected.set

            def linked() -> None:
                following_when_linked.append(tid in link_a._follows)
                link_set()

            link_a.connected.set = linked  # type: ignore[method-assign]
            await conn.ws.close()
            await eventually(lambda: _true(hub.hub.sites.connection("A") not in (None, conn)
                                           and link_a.connected.is_set()), what="the link made again")
            assert following_when_linked == [True], "the welcome renews the follow"
            assert hub.hub.feed.followed == {tid: "A"}
            assert (await worker.update(tid, log="after the reconnect\n"))[0] == 204
            await eventually(lambda: _true("after the reconnect" in text()), what="lines after the reconnect")

            # A task logging faster than the link takes: each message holds at most its last 64 KiB,
            # saying how much it skipped.
            assert (await worker.update(tid, log="z" * 200_000 + "\nthe end\n"))[0] == 204
            await eventually(lambda: _true("the end" in text()), what="the big log's last line")
            assert all(len(u.log) <= p.LOG_CHUNK + 200 for u in watch.of(TaskLogUpdate))
            assert "characters of this log skipped" in text()
    finally:
        await worker.close()


async def test_follows_of_unknown_or_huge_ids_change_nothing(hub_farm):
    hub = await _farm(hub_farm)
    job, task, worker = await _claimed_at(hub, hub_farm, "A")
    try:
        async with Watch(hub.url, types=["task_did_change"]) as watch:
            ws = watch.stream._ws
            assert ws is not None
            for command in [{"op": "subscribe", "task_log": "no-such-task"},
                            {"op": "subscribe", "task_log": "x" * 100_000},
                            {"op": "subscribe", "task_log": ["a list"]},
                            {"op": "subscribe", "task_log": ""},
                            {"op": "unsubscribe", "task_log": "never followed"}]:
                await ws.send_json(command)
            for n in range(100):  # more than one connection may follow: ignored past the bound
                await ws.send_json({"op": "subscribe", "task_log": f"unknown-{n}"})
            await asyncio.sleep(1.0)
            assert hub.hub.feed.followed == {}, "no site has those tasks"
            assert not link_of(hub_farm.sites["A"])._follows and not link_of(hub_farm.sites["B"])._follows
            assert len(hub.hub.feed._watchers) <= 64
            # The stream and the hub still work.
            await watch.stream.unwatch_task_log("no-such-task")
            assert (await worker.update(task["uuid"], activity="still here"))[0] == 204
            await eventually(lambda: _true(any(u.activity == "still here" for u in watch.of(TaskUpdate))),
                             what="task changes still flowing")
            assert (await hub.request("GET", "/api/v3/version"))[0] == 200
        await eventually(lambda: _true(not hub.hub.feed._watchers), what="every follow forgotten on leaving")
    finally:
        await worker.close()


async def test_a_site_cannot_put_another_sites_tasks_or_logs_on_the_hubs_stream(hub_farm):
    hub = await _farm(hub_farm, sites=("A", "B", "C"))
    job, task, worker = await _claimed_at(hub, hub_farm, "A")
    tid = task["uuid"]
    token = await hub_farm.join("C")
    events: list = []
    hub.hub.bus.add_listener(events.append)
    try:
        async with Watch(hub.url, types=["task_did_change"]) as watch:
            await watch.stream.watch_task_log(tid)
            await eventually(lambda: _true(hub.hub.feed.followed == {tid: "A"}), what="A's task followed")
            headers = {"Authorization": f"Bearer {token}", p.SITE_HEADER: "C"}
            forged = {"id": tid, "job_id": job["id"], "name": "forged", "updated": "2030-01-01T00:00:00Z",
                      "status": "failed", "activity": "forged by C", "steps_completed": 0, "steps_total": 1}
            async with aiohttp.ClientSession() as http, http.ws_connect(f"{hub.url}{p.LINK_PATH}",
                                                                       headers=headers) as ws:
                await ws.send_json({"type": p.HELLO, "site": "C", "job_types": [], "workers": []})
                welcome = await ws.receive_json(timeout=10)
                assert welcome["type"] == p.WELCOME
                for message in [
                    {"type": p.TASKS, "tasks": [forged], "stale": [job["id"]]},
                    {"type": p.TASKS, "tasks": [{**forged, "job_id": "x" * 5000}, {"id": 5}, "junk", None]},
                    {"type": p.TASKS, "tasks": "not a list", "stale": {"a": 1}},
                    {"type": p.TASKS, "tasks": [{**forged, "status": "no-such-status"}]},
                    {"type": p.LOG, "task_id": tid, "job_id": job["id"], "log": "forged line\n"},
                    {"type": p.LOG, "task_id": tid, "log": 12},
                    {"type": p.LOG, "task_id": "y" * 5000, "log": "x"},
                    {"type": p.FOLLOW, "task_id": tid},
                ]:
                    await ws.send_json(message)
                await ws.send_json({"type": p.STATUS, "workers": [], "load": {}})
                await eventually(lambda: _true(hub.hub.sites.connection("C") is not None), what="C connected")
                await asyncio.sleep(0.5)
            forged_seen = [e for e in events if e.name in ("task_did_change", "task_log_did_append")
                           and ("forged" in str(e.data))]
            assert forged_seen == [], forged_seen
            assert not any(e.name == "job_did_change" and e.data.get("id") == job["id"] and e.data.get("site") == "C"
                           for e in events)
            # A's own lines still arrive.
            assert (await worker.update(tid, log="the real line\n"))[0] == 204
            await eventually(lambda: _true(any("the real line" in u.log for u in watch.of(TaskLogUpdate))),
                             what="A's real lines")
            assert not any("forged" in u.log for u in watch.of(TaskLogUpdate))
    finally:
        hub.hub.bus.remove_listener(events.append)
        await worker.close()


async def test_past_its_bound_a_site_names_the_job_and_the_hub_has_its_tasks_read_again(hub_farm, monkeypatch):
    """More task changes waiting than the link keeps: the site sends the first ones and names the
    job of the others, and the hub puts that job on its stream with `refresh_tasks`."""
    from app.common.events import TASK_DID_CHANGE

    hub = await _farm(hub_farm)
    job, task, worker = await _claimed_at(hub, hub_farm, "A")
    try:
        status, listed = await hub.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
        assert status == 200 and len(listed["tasks"]) >= 2, listed
        first, second = listed["tasks"][0], listed["tasks"][1]
        events: list = []
        await asyncio.sleep(0.5)  # the claim's own changes are through
        hub.hub.bus.add_listener(events.append)
        monkeypatch.setattr(p, "TASKS_PENDING_MAX", 1)
        site_bus = hub_farm.sites["A"].services.bus
        for t in (first, second):  # in one go, as a busy site's changes come
            site_bus.publish(TASK_DID_CHANGE, {"id": t["id"], "job_id": job["id"], "name": t["name"],
                                               "updated": t["updated"], "status": t["status"], "activity": "bulk",
                                               "steps_completed": 0, "steps_total": 1})
        await eventually(lambda: _true(any(e.name == "job_did_change" and e.data["id"] == job["id"]
                                           and e.data.get("refresh_tasks") for e in events)),
                         what="the job's tasks to be read again")
        forwarded = {e.data["id"] for e in events if e.name == "task_did_change"}
        assert forwarded == {first["id"]}, forwarded
    finally:
        await worker.close()

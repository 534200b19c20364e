"""A worker's day on a real Manager: tasks done and failed, frames, time and its last frame, kept in the
store (it survives a Manager restart and the deletion of the job), readable by the dashboard and by
the worker itself, and refused in words for a bad `since`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io

from app.common.credentials import ADMIN_TOKEN_HEADER
from tests.conftest import echo_job
from tests.e2e.farm import blender_job
from tests.http_worker import HttpWorker

ACCESS = "s3cret-access"


def day_path(worker_uuid: str) -> str:
    return f"/api/v3/tablao/workers/{worker_uuid}/day"


def midnight() -> str:
    now = dt.datetime.now().astimezone()
    return dt.datetime.combine(now.date(), dt.time(0, 0), tzinfo=now.tzinfo).isoformat()


async def day(manager, worker_uuid: str, since: str | None = None, **kwargs) -> dict:
    status, body = await manager.request("GET", day_path(worker_uuid), params={"since": since or midnight()}, **kwargs)
    assert status == 200, body
    return body


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def run_all(worker: HttpWorker, fail: set[str] = frozenset(), frame: bool = False) -> list[dict]:
    """Claim and finish every task the farm has for `worker`: completed, or failed for names in `fail`."""
    done = []
    while True:
        status, task = await worker.claim()
        if status != 200:
            return done
        if frame:
            async with worker.session.post(f"/api/v3/worker/task/{task['uuid']}/output-produced", data=jpeg(),
                                           headers={**worker.auth_header, "Content-Type": "image/jpeg"}) as resp:
                assert resp.status == 202, await resp.text()
        if task["name"] in fail:
            status, _ = await worker.fail(task["uuid"])
        else:
            status, _ = await worker.complete(task["uuid"])
        assert status == 204
        done.append(task)


async def test_a_workers_day_counts_its_tasks_frames_and_time_across_a_restart(manager_factory, tmp_path):
    manager = await manager_factory()
    shared = tmp_path / "shared"
    status, render = await manager.request("POST", "/api/v3/jobs", json=blender_job(
        shared / "scene.blend", shared / "out", frames="1-5", chunk_size=2))
    assert status == 200, render
    worker = await HttpWorker(manager.url, "render-01").register_and_sign_on()
    other = await HttpWorker(manager.url, "render-02").register_and_sign_on()
    try:
        ran = await run_all(worker, fail={"preview-video"}, frame=True)
        assert [t["name"].split("-")[0] for t in ran] == ["render"] * 3 + ["preview"]
        status, _ = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
        assert status == 200
        others = await run_all(other)  # the echo job, and the video this worker failed: not this one's

        today = await day(manager, worker.uuid)
        assert (today["tasks_completed"], today["tasks_failed"], today["frames_rendered"]) == (3, 1, 5)
        assert 0 <= today["seconds"] < 60 and today["worker_id"] == worker.uuid
        frame = today["last_frame"]
        assert frame["job_id"] == render["id"] and frame["task_id"] == ran[-1]["uuid"]  # the last it uploaded
        status, picture = await manager.request("GET", f"{frame['base']}/last-rendered-small.jpg")
        assert status == 200 and picture[:2] == b"\xff\xd8"
        assert (await day(manager, other.uuid))["tasks_completed"] == len(others) == 3
        assert "last_frame" not in await day(manager, other.uuid)
        tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=20)).isoformat()
        assert (await day(manager, worker.uuid, tomorrow))["tasks_completed"] == 0

        # More work, then at once a restart (the runs still in memory are written on the way down), and
        # the job is deleted: the worker's day is all there.
        status, _ = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
        extra = await run_all(worker)
        await manager.stop()
        manager = await manager_factory()
        again = await day(manager, worker.uuid)
        assert again["tasks_completed"] == 3 + len(extra) and len(extra) == 2
        assert (again["tasks_failed"], again["frames_rendered"]) == (1, 5)
        assert again["seconds"] >= today["seconds"]
        status, _ = await manager.request("DELETE", f"/api/v3/jobs/{render['id']}", admin=True)
        assert status == 204
        for _ in range(100):  # the Manager deletes in the background
            status, _ = await manager.request("GET", f"/api/v3/jobs/{render['id']}")
            if status == 404:
                break
            await asyncio.sleep(0.1)
        assert status == 404
        after = await day(manager, worker.uuid)
        assert after["tasks_completed"] == 5 and after["last_frame"]["base"] == frame["base"]
        status, picture = await manager.request("GET", f"{frame['base']}/last-rendered-small.jpg")
        assert status == 200
    finally:
        await worker.close()
        await other.close()


async def test_a_bad_since_is_a_400_in_words_and_an_unknown_worker_a_404(manager):
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        for params, words in [({}, "`since` is required"), ({"since": "today"}, "must be a time in RFC 3339"),
                              ({"since": "2001-01-01T00:00:00Z"}, "within the last 31 days"),
                              ({"since": "9" * 200}, "must be a time in RFC 3339")]:
            status, body = await manager.request("GET", day_path(worker.uuid), params=params)
            assert status == 400 and words in body["message"], (params, body)
        status, body = await manager.request("GET", day_path("7c0a5e58-0000-4000-8000-000000000000"),
                                             params={"since": midnight()})
        assert status == 404, body
    finally:
        await worker.close()


async def test_a_worker_reads_its_own_day_without_the_access_token_and_no_one_elses(manager_factory):
    manager = await manager_factory(access_token=ACCESS)
    me = await HttpWorker(manager.url, "me").register_and_sign_on()
    you = await HttpWorker(manager.url, "you").register_and_sign_on()
    try:
        since = {"since": midnight()}
        status, body = await me.call("GET", f"{day_path(me.uuid)}?since={midnight().replace('+', '%2B')}")
        assert status == 200 and body["worker_id"] == me.uuid, body
        status, body = await me.call("GET", f"{day_path(you.uuid)}?since={midnight().replace('+', '%2B')}")
        assert status == 403 and "read its own day only" in body["message"], body
        status, body = await manager.request("GET", day_path(me.uuid), params=since)
        assert status == 403 and "access token" in body["message"], body
        status, body = await manager.request("GET", day_path(me.uuid), params=since,
                                             headers={"Authorization": f"Bearer {ACCESS}"})
        assert status == 200, body
        status, body = await manager.request("GET", day_path(me.uuid), params=since,
                                             headers={"Authorization": "Basic bWU6d3Jvbmc="})
        assert status == 403, body
        status, body = await manager.request("GET", day_path(you.uuid), params=since,
                                             headers={ADMIN_TOKEN_HEADER: manager.services.admin_token})
        assert status == 200, body
    finally:
        await me.close()
        await you.close()


async def test_runs_older_than_the_history_kept_are_pruned(manager):
    import uuid

    from app.manager.persistence import task_runs, workers
    from app.manager.persistence.task_runs import RunRecord
    from app.manager.workers.task_runs import KEEP_DAYS, _write_sync

    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        wid = (await manager.services.store.call(workers.fetch_worker, worker.uuid)).id
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

        def run(days_ago: float) -> RunRecord:
            return RunRecord(wid, str(uuid.uuid4()), str(uuid.uuid4()), "misc", "completed", 0, 1.0,
                             now - dt.timedelta(days=days_ago))
        await manager.services.machine.run(_write_sync, [run(KEEP_DAYS + 1), run(KEEP_DAYS - 1), run(0)], True)
        totals = await manager.services.store.call(task_runs.totals_since, wid, now - dt.timedelta(days=100))
        assert totals.completed == 2  # the one past the history kept is gone
    finally:
        await worker.close()

"""Fair share among submitters, as a Manager option, against strict priority (the default).

A real Manager on a real port and four workers speaking HTTP. Each worker holds one task and, in
turn, reports it done and claims the next, as a busy farm does; who submitted the task it got is
counted. Nothing is timed.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from app.api.client import ManagerClient
from app.manager.persistence import scheduler_queries
from app.manager.settings.config import ConfigError, config_from_dict, config_to_dict, load_config
from tests.http_worker import HttpWorker

WORKERS = 4
IDLE = 50
MAX_LISTED = 100
GUARD_S = 20  # a hang guard, not a measurement

_COUNTED = """
const JOB_TYPE = {label: "Counted", settings: [{key: "count", type: "int32", default: 1}]};
function compileJob(job) {
  for (let i = 0; i < job.settings.count; i++) {
    const t = author.Task(`t${i}`, "misc");
    t.addCommand(author.Command("echo", {message: "hi"}));
    job.addTask(t);
  }
}
"""


async def _farm(manager_factory, **config):
    manager = await manager_factory(worker_timeout=600.0, task_timeout=600.0, **config)
    manager.cfg.scripts_dir.mkdir(exist_ok=True)
    (manager.cfg.scripts_dir / "counted.js").write_text(_COUNTED)
    workers = [await HttpWorker(manager.url, name=f"w{i}", task_types=["misc"]).register_and_sign_on()
               for i in range(WORKERS)]
    return manager, workers


async def _submit(manager, user: str, count: int = 100, priority: int = 50, **metadata) -> dict:
    body = {"name": f"{user}'s shot", "type": "counted", "priority": priority, "submitter_platform": "linux",
            "settings": {"count": count}, "metadata": {"user.name": user, **metadata}}
    status, job = await manager.request("POST", "/api/v3/jobs", json=body)
    assert status == 200, job
    return job


async def _hand_out(workers: list[HttpWorker], jobs: dict[str, str], count: int,
                    held: dict[str, str] | None = None) -> Counter[str]:
    """Who got the next `count` tasks: the workers in turn finish their task and claim the next.
    `held`: the task each worker holds, by worker name (kept up to date)."""
    held = {} if held is None else held
    got: Counter[str] = Counter()
    for i in range(count):
        w = workers[i % len(workers)]
        if w.name in held:
            status, _ = await w.complete(held.pop(w.name))
            assert status == 204
        status, task = await w.claim()
        assert status == 200, task
        held[w.name] = task["uuid"]
        got[jobs[task["job"]]] += 1
    return got


async def _close(workers: list[HttpWorker]) -> None:
    for w in workers:
        await w.close()


@pytest.mark.parametrize("priority", [50, 70])  # 70: the job's priority is not its tasks' (50)
async def test_fair_share_splits_the_farm_between_two_submitters(manager_factory, priority):
    manager, workers = await _farm(manager_factory, scheduler_policy="fair-share")
    try:
        alice = await _submit(manager, "alice", priority=priority)
        bob = await _submit(manager, "bob", priority=priority)
        got = await _hand_out(workers, {alice["id"]: "alice", bob["id"]: "bob"}, 40)
        assert 16 <= got["alice"] <= 24 and 16 <= got["bob"] <= 24, got
    finally:
        await _close(workers)


async def test_strict_priority_gives_the_first_job_everything(manager_factory):
    manager, workers = await _farm(manager_factory)
    try:
        alice = await _submit(manager, "alice")
        bob = await _submit(manager, "bob")
        got = await _hand_out(workers, {alice["id"]: "alice", bob["id"]: "bob"}, 40)
        assert got == {"alice": 40}
    finally:
        await _close(workers)


async def test_weights_and_priority_under_fair_share(manager_factory):
    manager, workers = await _farm(manager_factory, scheduler_policy="fair-share",
                                   fair_share_weights={"alice": 3.0})
    try:
        alice = await _submit(manager, "alice")
        bob = await _submit(manager, "bob")
        held: dict[str, str] = {}
        got = await _hand_out(workers, {alice["id"]: "alice", bob["id"]: "bob"}, 40, held)
        assert 26 <= got["alice"] <= 34, got  # three shares of four
        # A job of higher priority still goes before every share.
        carol = await _submit(manager, "carol", count=10, priority=90)
        names = {alice["id"]: "alice", bob["id"]: "bob", carol["id"]: "carol"}
        got = await _hand_out(workers, names, 10, held)
        assert got == {"carol": 10}
    finally:
        await _close(workers)


async def test_a_project_from_metadata_can_be_the_submitter(manager_factory):
    manager, workers = await _farm(manager_factory, scheduler_policy="fair-share", fair_share_by="project")
    try:
        # One artist, two projects: shared by project.
        one = await _submit(manager, "alice", project="one")
        two = await _submit(manager, "alice", project="two")
        got = await _hand_out(workers, {one["id"]: "one", two["id"]: "two"}, 20)
        assert 8 <= got["one"] <= 12, got
    finally:
        await _close(workers)


def test_the_settings_are_read_checked_and_written_back_only_when_set(tmp_path):
    base = {"_meta": {"version": 3}}
    cfg = config_from_dict({**base, "scheduler_policy": "fair-share", "fair_share_weights": {"alice": 2}}, None)
    assert cfg.scheduler_policy == "fair-share" and cfg.fair_share_weights == {"alice": 2.0}
    out = config_to_dict(cfg)
    assert out["scheduler_policy"] == "fair-share" and out["fair_share_weights"] == {"alice": 2}
    assert "scheduler_policy" not in config_to_dict(config_from_dict(base, None))
    for bad, words in [({"scheduler_policy": "lottery"}, "expected priority or fair-share"),
                       ({"fair_share_weights": {"bob": 0}}, "must be a number above 0"),
                       ({"fair_share_weights": {"bob": True}}, "must be a number above 0"),
                       ({"fair_share_weights": ["bob"]}, "expected a mapping"),
                       ({"fair_share_by": ""}, "expected a metadata key")]:
        path = tmp_path / "flamenco-manager.yaml"
        path.write_text("_meta: {version: 3}\n" + "\n".join(f"{k}: {v!r}" for k, v in bad.items()))
        with pytest.raises(ConfigError, match=words):
            load_config(path)


async def test_claim_statements_under_fair_share_do_not_grow_with_idle_workers(manager_factory):
    manager, workers = await _farm(manager_factory, scheduler_policy="fair-share")
    queue = manager.services.waiters.work
    idle = [await HttpWorker(manager.url, name=f"idle{i}", task_types=["ffmpeg"]).register_and_sign_on()
            for i in range(IDLE)]
    polls: list[asyncio.Task] = []
    try:
        alice = await _submit(manager, "alice")
        bob = await _submit(manager, "bob")
        names = {alice["id"]: "alice", bob["id"]: "bob"}
        held: dict[str, str] = {}
        await _hand_out(workers, names, 8, held)  # every worker holds a task: the steady state

        async def statements_per_hand_out(count: int) -> float:
            before = sum(scheduler_queries.QUERIES.values())
            await _hand_out(workers, names, count, held)
            return (sum(scheduler_queries.QUERIES.values()) - before) / count

        alone = await statements_per_hand_out(20)
        # Now many workers wait for work they cannot run (ffmpeg), woken by every change.
        polls = [asyncio.create_task(w.claim(wait=60)) for w in idle]
        async with asyncio.timeout(GUARD_S):
            while queue.waiting < IDLE:
                await asyncio.sleep(0.01)
        crowded = await statements_per_hand_out(20)
        # A claim under fair share: strict query, the shares, a pinned lookup or two, the warm-job
        # lookup; the waiting workers add one count per change for their group, not one per worker.
        assert alone <= 4, alone
        assert crowded <= alone + 2, (alone, crowded)
    finally:
        for poll in polls:
            poll.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
        await _close(workers + idle)


async def test_the_shares_are_told_for_the_why_waiting_text_and_guarded_like_the_job_list(manager_factory):
    manager, workers = await _farm(manager_factory, scheduler_policy="fair-share",
                                   fair_share_weights={"alice": 2}, access_token="s3cret-access")
    token = {"Authorization": "Bearer s3cret-access"}
    try:
        status, body = await manager.request("GET", "/api/v3/tablao/fair-share")
        assert status == 403 and "access token" in body["message"]
        status, _ = await manager.request("POST", "/api/v3/tablao/fair-share", headers=token, json={})
        assert status == 405
        for user in ("alice", "bob"):
            status, job = await manager.request("POST", "/api/v3/jobs", headers=token, json={
                "name": "shot", "type": "counted", "priority": 50, "submitter_platform": "linux",
                "settings": {"count": 10}, "metadata": {"user.name": user}})
            assert status == 200, job
        for w in workers[:3]:
            status, _ = await w.claim()
            assert status == 200
        status, body = await manager.request("GET", "/api/v3/tablao/fair-share", headers=token)
        assert status == 200, body
        assert body["policy"] == "fair-share" and body["share_by"] == "user.name"
        assert body["tasks_running"] == 3
        # Alice weighs 2: she gets two of the first three workers.
        assert body["submitters"] == [{"name": "alice", "weight": 2.0, "running": 2},
                                      {"name": "bob", "weight": 1.0, "running": 1}]
        async with ManagerClient(manager.url, access_token="s3cret-access") as client:
            assert (await client.fair_share()).to_json() == body  # what the job window reads
    finally:
        await _close(workers)


async def test_the_shares_list_at_most_a_hundred_submitters(manager_factory):
    manager, workers = await _farm(manager_factory)
    try:
        for i in range(MAX_LISTED + 5):
            await _submit(manager, f"artist-{i:03}", count=1)
        status, body = await manager.request("GET", "/api/v3/tablao/fair-share")
        assert status == 200 and body["policy"] == "priority"
        assert len(body["submitters"]) == MAX_LISTED
    finally:
        await _close(workers)


async def test_the_policy_changes_through_the_configuration_file_at_once_and_bad_weights_are_refused(
        manager_factory):
    manager, workers = await _farm(manager_factory)
    try:
        status, raw = await manager.request("GET", "/api/v3/configuration/file", admin=True)
        assert status == 200 and "scheduler_policy" not in raw
        status, body = await manager.request("PUT", "/api/v3/configuration/file", admin=True, json={
            **raw, "scheduler_policy": "fair-share", "fair_share_weights": {"alice": -1}})
        assert status == 400 and "fair_share_weights" in body["message"], body
        status, share = await manager.request("GET", "/api/v3/tablao/fair-share")
        assert share["policy"] == "priority"  # nothing changed
        status, _ = await manager.request("PUT", "/api/v3/configuration/file", admin=True,
                                          json={**raw, "scheduler_policy": "fair-share"})
        assert status == 204
        alice = await _submit(manager, "alice")
        bob = await _submit(manager, "bob")
        got = await _hand_out(workers, {alice["id"]: "alice", bob["id"]: "bob"}, 20)
        assert 8 <= got["alice"] <= 12, got
    finally:
        await _close(workers)


async def test_warmth_breaks_ties_within_a_submitter_but_moves_no_work_to_another(manager_factory):
    manager, workers = await _farm(manager_factory, scheduler_policy="fair-share")
    w1, w2 = workers[:2]
    try:
        alice = await _submit(manager, "alice", count=10)
        bob = await _submit(manager, "bob", count=10)
        _, a = await w1.claim()
        _, b = await w2.claim()
        assert (a["job"], b["job"]) == (alice["id"], bob["id"])
        await w1.complete(a["uuid"])
        await w2.complete(b["uuid"])
        # Both run nothing now: alice (the older job) is next, even for w2, whose warm Blender
        # holds bob's file.
        _, task = await w2.claim()
        assert task["job"] == alice["id"]
    finally:
        await _close(workers)

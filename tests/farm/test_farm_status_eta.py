"""`farm status` shows the Manager's ETA, the figure the dashboard and the status page show, also for a
job none of whose tasks has finished (the Manager knows the same job type's history)."""

from __future__ import annotations

from tests.conftest import echo_job
from tests.sim_workers import ETAS, SimWorker, run_job, submit, workers_of


async def test_farm_status_shows_the_managers_eta_before_any_task_finished(manager, run_farm):
    http = (await workers_of(manager, "sim-1"))[0]
    try:
        meta = {"farm.release": "r1", "farm.job": "shot_010"}
        first = await submit(manager, echo_job(name="shot_010", repeats=3, metadata=meta))
        await run_job(manager, first, [SimWorker(http, 0.2)])
        meta = {"farm.release": "r1", "farm.job": "shot_020"}
        waiting = await submit(manager, echo_job(name="shot_020", repeats=3, metadata=meta))
        result = await run_farm("status", "r1", "--json", "--manager", manager.url)
        text = await run_farm("status", "r1", "--manager", manager.url)
        _, answer = await manager.request("GET", ETAS)
    finally:
        await http.close()
    assert result.code == 0, result.err
    rows = {row["job"]: row for row in result.json["releases"]["r1"]["jobs"]}
    assert rows["shot_020"]["tasks_done"] == 0
    managers = answer["jobs"][waiting]["seconds"]
    assert 0.4 < managers < 1.6  # 4 tasks of about 0.2 s, one worker
    assert abs(rows["shot_020"]["eta_s"] - managers) < 0.5
    assert rows["shot_010"]["eta_s"] == 0.0
    line = next(line for line in text.out.splitlines() if "shot_020" in line)
    assert f"ETA 0m{int(rows['shot_020']['eta_s'] + 0.5):02d}s" in line

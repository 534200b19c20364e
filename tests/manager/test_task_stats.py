"""Each finished task's render time, peak memory and worker, served for the job's task table.

A real Manager on a real port and workers speaking HTTP that report Blender's figures with each
task's final status; `GET /api/v3/tablao/jobs/{id}/task-stats` answers from the stored runs, and
bad job ids get a 4xx in words.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.farm import blender_job
from tests.manager.contract import ResponseChecker
from tests.sim_workers import SimWorker, run_job, submit, workers_of

STATS = "/api/v3/tablao/jobs/{job_id}/task-stats"
FIGURES = {"render_time_s": 12.5, "peak_memory_mb": 812.25}


async def test_each_finished_task_shows_its_figures_and_worker(manager, tmp_path):
    shared = tmp_path / "shared"
    job_id = await submit(manager, blender_job(shared / "scene.blend", shared / "out", frames="1-8", chunk_size=2))
    [http] = await workers_of(manager, "render-1")
    try:
        status, empty = await manager.request("GET", STATS.format(job_id=job_id))
        assert status == 200 and empty == {"job_id": job_id, "tasks": [], "truncated": False}
        await run_job(manager, job_id, [SimWorker(http, 0.01, FIGURES)])
    finally:
        await http.close()
    status, answer = await manager.request("GET", STATS.format(job_id=job_id))
    assert status == 200, answer
    status, tasks = await manager.request("GET", f"/api/v3/jobs/{job_id}/tasks")
    assert {t["task_id"] for t in answer["tasks"]} == {t["id"] for t in tasks["tasks"]}
    for run in answer["tasks"]:
        assert run["outcome"] == "completed" and run["worker_name"] == "render-1"
        assert run["render_time_s"] == 12.5 and run["peak_memory_mb"] == 812.25
        assert run["seconds"] >= 0
    _, spec = await manager.request("GET", "/api/v3/openapi3.json")
    checker = ResponseChecker(spec)
    assert checker.check("GET", STATS, 200, "application/json", json.dumps(answer).encode()) == []


@pytest.mark.parametrize(("job_id", "status", "words"), [
    ("not-a-job", 400, "'not-a-job' is not a job id; a job id is a UUID, as the job list gives it"),
    ("1 OR 1=1", 400, "'1 OR 1=1' is not a job id"),
    ("x" * 2000, 400, "'" + "x" * 40 + "…' is not a job id"),
    (str(uuid.UUID(int=7)), 404, f"job {uuid.UUID(int=7)} does not exist"),
])
async def test_bad_job_ids_are_a_4xx_in_words(manager, job_id, status, words):
    got, body = await manager.request("GET", STATS.format(job_id=job_id))
    assert got == status, body
    assert body["message"].startswith(words), body

"""`GET /api/v3/tablao/jobs/{job_id}/task-stats`: each finished task's latest run, for the job's task
table (render time, peak memory, the worker that ran it). Open as reading a job's tasks is.

The runs are written in batches; they are flushed first, so a task reported a moment ago shows.
A job id that is not a UUID is a 400 saying so; an unknown one a 404, as for the job itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from app.api.errors import BadRequest
from app.api.task_stats import JobTaskStats, TaskRunStats
from app.common.clock import to_rfc3339
from app.manager.jobs.job_service import JobService
from app.manager.persistence import jobs
from app.manager.persistence.task_run_reads import latest_runs
from app.manager.web.keys import JOBS


async def job_task_stats(request: web.Request) -> web.Response:
    return web.json_response(await task_stats_of(request.app[JOBS], request.match_info["job_id"]))


async def task_stats_of(service: JobService, job_id: str) -> dict[str, Any]:
    """`JobTaskStats` of the job as JSON (also what a site answers its hub); 400/404 as the route."""
    job_uuid = _job_uuid(job_id)
    await service.machine.runs.flush()  # a task reported a moment ago counts

    def load():
        jobs.fetch_job(job_uuid)  # 404 for an unknown job
        return latest_runs(job_uuid)

    rows, truncated = await service.store.call(load)
    return JobTaskStats(job_uuid, [
        TaskRunStats(task, outcome, worker, name, round(seconds, 3), to_rfc3339(finished), render_s, memory_mb)
        for task, outcome, worker, name, seconds, finished, render_s, memory_mb in rows], truncated).to_json()


def _job_uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise BadRequest(f"{shown!r} is not a job id; a job id is a UUID, as the job list gives it") from None

"""`GET /api/v3/tablao/jobs/{job_id}/requirements`: what a job's scene needs of a worker, and in words
what no connected worker offers (`app.manager.jobs.requirements`). Open as reading a job is."""

from __future__ import annotations

from aiohttp import web

from app.manager.jobs.requirements import answer
from app.manager.persistence import jobs
from app.manager.persistence.requirements import connected_worker_facts, job_needs
from app.manager.web.keys import JOBS


async def job_requirements(request: web.Request) -> web.Response:
    job_uuid = request.match_info["job_id"]

    def load():
        job = jobs.fetch_job(job_uuid)  # 404 for an unknown job
        return job_needs(job.id), connected_worker_facts()

    needs, workers = await request.app[JOBS].store.call(load)
    return web.json_response(answer(needs, workers))

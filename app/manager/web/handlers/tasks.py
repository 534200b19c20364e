"""Task operations: detail, status change, log tail and log info."""

from __future__ import annotations

from aiohttp import web

from app.api.jobs import TaskLogInfo, TaskStatusChange
from app.manager.web.keys import JOBS, TASK_LOGS
from app.manager.web.request_body import read_body


async def fetch_task(request: web.Request) -> web.Response:
    return web.json_response(await request.app[JOBS].task(request.match_info["task_id"]))


async def set_task_status(request: web.Request) -> web.Response:
    await request.app[JOBS].set_task_status(request.match_info["task_id"], await read_body(request, TaskStatusChange))
    return web.Response(status=204)


async def fetch_log_tail(request: web.Request) -> web.Response:
    jobs, logs = request.app[JOBS], request.app[TASK_LOGS]
    job_uuid, task_uuid = await jobs.task_ids(request.match_info["task_id"])
    tail = await logs.tail(job_uuid, task_uuid)
    if not tail:
        return web.Response(status=204)
    return web.Response(text=tail, content_type="text/plain")


async def fetch_log_info(request: web.Request) -> web.Response:
    jobs, logs = request.app[JOBS], request.app[TASK_LOGS]
    job_uuid, task_uuid = await jobs.task_ids(request.match_info["task_id"])
    size = await logs.size(job_uuid, task_uuid)
    if not size:
        return web.Response(status=204)
    return web.json_response(TaskLogInfo(task_id=task_uuid, job_id=job_uuid, size=size,
                                         url=logs.log_url_path(job_uuid, task_uuid)).to_json())


async def fetch_whole_log(request: web.Request) -> web.Response:
    """Tablao addition: the whole log including rotated parts, oldest first."""
    jobs, logs = request.app[JOBS], request.app[TASK_LOGS]
    job_uuid, task_uuid = await jobs.task_ids(request.match_info["task_id"])
    text = await logs.whole(job_uuid, task_uuid)
    return web.Response(text=text, content_type="text/plain")

"""Job operations: submit, check, query, tasks, status, priority, tag, blocklist, deletion."""

from __future__ import annotations

from aiohttp import web

from app.api.errors import BadRequest
from app.api.jobs import (
    BlocklistEntry,
    JobDeletionInfo,
    JobDependsOnChange,
    JobMassDeletionSelection,
    JobPriorityChange,
    JobStatusChange,
    JobTagChange,
    SubmittedJob,
)
from app.manager.web.access import carries_credential
from app.manager.web.keys import ADMIN_TOKEN, ETAS, JOBS, LAST_RENDERED, SETTINGS, SHAMAN
from app.manager.web.middlewares import error_json
from app.manager.web.request_body import JOB_BODY_MAX, read_body, read_body_list


def _job_id(request: web.Request) -> str:
    return request.match_info["job_id"]


async def submit_job(request: web.Request) -> web.Response:
    cfg = request.app[SETTINGS].config
    credentialed = carries_credential(request, cfg.access_token, request.app[ADMIN_TOKEN], cfg.submit_token)
    job = await request.app[JOBS].submit(await read_body(request, SubmittedJob, JOB_BODY_MAX),
                                         credentialed=credentialed)
    return web.json_response(job)


async def check_job(request: web.Request) -> web.Response:
    await request.app[JOBS].check(await read_body(request, SubmittedJob, JOB_BODY_MAX))
    return web.Response(status=204)


async def fetch_jobs(request: web.Request) -> web.Response:
    jobs, _total = await request.app[JOBS].list()
    return web.json_response({"jobs": jobs})


def int_query(request: web.Request, key: str, default: int | None, minimum: int, maximum: int) -> int | None:
    raw = request.query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"`{key}` must be a whole number") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"`{key}` must be from {minimum} to {maximum}")
    return value


# The document's bounds for tablaoFetchJobsPage; the store's integers are 64-bit.
MAX_PAGE = 10_000
MAX_OFFSET = 2**31 - 1


async def tablao_jobs_page(request: web.Request) -> web.Response:
    limit = int_query(request, "limit", 100, 1, MAX_PAGE)
    offset = int_query(request, "offset", 0, 0, MAX_OFFSET) or 0
    statuses = [s for s in request.query.get("status", "").split(",") if s] or None
    jobs, total = await request.app[JOBS].list(limit, offset, statuses)
    return web.json_response({"jobs": jobs, "total": total, "limit": limit, "offset": offset})


async def fetch_job(request: web.Request) -> web.Response:
    job = await request.app[JOBS].fetch(_job_id(request))
    return web.json_response(await request.app[ETAS].added_to(job))


async def fetch_job_etas(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ETAS].all_unfinished())


async def tablao_job_chain(request: web.Request) -> web.Response:
    return web.json_response(await request.app[JOBS].chain(_job_id(request)))


async def tablao_set_depends_on(request: web.Request) -> web.Response:
    await request.app[JOBS].set_depends_on(_job_id(request), await read_body(request, JobDependsOnChange))
    return web.Response(status=204)


async def fetch_job_tasks(request: web.Request) -> web.Response:
    return web.json_response({"tasks": await request.app[JOBS].job_tasks(_job_id(request))})


async def set_job_status(request: web.Request) -> web.Response:
    await request.app[JOBS].set_job_status(_job_id(request), await read_body(request, JobStatusChange))
    return web.Response(status=204)


async def set_job_priority(request: web.Request) -> web.Response:
    await request.app[JOBS].set_priority(_job_id(request), await read_body(request, JobPriorityChange))
    return web.Response(status=204)


async def set_job_tag(request: web.Request) -> web.Response:
    await request.app[JOBS].set_tag(_job_id(request), await read_body(request, JobTagChange))
    return web.Response(status=204)


async def fetch_blocklist(request: web.Request) -> web.Response:
    return web.json_response(await request.app[JOBS].blocklist(_job_id(request)))


async def remove_blocklist(request: web.Request) -> web.Response:
    # As Flamenco: no body removes nothing.
    entries = await read_body_list(request, BlocklistEntry) if request.body_exists else []
    await request.app[JOBS].remove_blocklist(_job_id(request), entries)
    return web.Response(status=204)


async def delete_job(request: web.Request) -> web.Response:
    await request.app[JOBS].request_deletion(_job_id(request))
    return web.Response(status=204)


async def what_would_delete_do(request: web.Request) -> web.Response:
    job = await request.app[JOBS].fetch(_job_id(request))
    shaman = request.app[SHAMAN]
    checkout = (job.get("storage") or {}).get("shaman_checkout_id")
    # Deletion erases only a checkout the Shaman made; say so only for those.
    has_checkout = bool(checkout) and shaman is not None and await shaman.has_checkout(checkout)
    return web.json_response(JobDeletionInfo(has_checkout).to_json())


async def mass_delete(request: web.Request) -> web.Response:
    count = await request.app[JOBS].request_mass_deletion(await read_body(request, JobMassDeletionSelection))
    if count == 0:
        return error_json(416, "no jobs were last updated at or before that time")
    return web.Response(status=204)


async def last_rendered(request: web.Request) -> web.Response:
    await request.app[JOBS].fetch(_job_id(request))  # 404 for unknown jobs
    info = request.app[LAST_RENDERED].info(_job_id(request))
    return web.json_response(info) if info else web.Response(status=204)


async def global_last_rendered(request: web.Request) -> web.Response:
    info = request.app[LAST_RENDERED].global_info()
    return web.json_response(info) if info else web.Response(status=204)

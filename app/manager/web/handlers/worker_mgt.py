"""Worker management (tag `worker-mgt`): workers, status requests, tags, sleep schedules; and a worker's
day (Tablao's `/tablao/workers/{worker_id}/day`)."""

from __future__ import annotations

from aiohttp import web

from app.api.errors import Forbidden
from app.api.workers import WorkerSleepSchedule, WorkerStatusChangeRequest, WorkerTag, WorkerTagChangeRequest
from app.manager.web.access import SELF_ONLY
from app.manager.web.keys import CREDENTIALS, WORKER_ADMIN, WORKER_DAYS
from app.manager.web.request_body import read_body


def _wid(request: web.Request) -> str:
    return request.match_info["worker_id"]


async def fetch_workers(request: web.Request) -> web.Response:
    return web.json_response({"workers": await request.app[WORKER_ADMIN].list()})


async def fetch_worker(request: web.Request) -> web.Response:
    return web.json_response(await request.app[WORKER_ADMIN].fetch(_wid(request)))


async def delete_worker(request: web.Request) -> web.Response:
    await request.app[WORKER_ADMIN].delete(_wid(request))
    return web.Response(status=204)


def _only_itself(request: web.Request, what: str = "change its own status and sleep schedule",
                 instead: str = "admin token") -> None:
    """A worker with its own credentials (not admin) may act on itself only."""
    if not request.get(SELF_ONLY):
        return
    ident = request.app[CREDENTIALS].authenticate(request.headers.get("Authorization"))
    if ident.uuid != _wid(request):
        raise Forbidden(f"worker {ident.uuid} may {what} only, not those of worker {_wid(request)}; "
                        f"other workers need the Manager's {instead}")


async def fetch_worker_day(request: web.Request) -> web.Response:
    _only_itself(request, "read its own day", "access token")
    return web.json_response(await request.app[WORKER_DAYS].day(_wid(request), request.query.get("since")))


async def request_status_change(request: web.Request) -> web.Response:
    _only_itself(request)
    await request.app[WORKER_ADMIN].request_status(_wid(request), await read_body(request, WorkerStatusChangeRequest))
    return web.Response(status=204)


async def set_worker_tags(request: web.Request) -> web.Response:
    await request.app[WORKER_ADMIN].set_tags(_wid(request), await read_body(request, WorkerTagChangeRequest))
    return web.Response(status=204)


async def fetch_sleep_schedule(request: web.Request) -> web.Response:
    sched = await request.app[WORKER_ADMIN].sleep_schedule(_wid(request))
    return web.json_response(sched) if sched else web.Response(status=204)


async def set_sleep_schedule(request: web.Request) -> web.Response:
    _only_itself(request)
    await request.app[WORKER_ADMIN].set_sleep_schedule(_wid(request), await read_body(request, WorkerSleepSchedule))
    return web.Response(status=204)


async def fetch_tags(request: web.Request) -> web.Response:
    return web.json_response({"tags": await request.app[WORKER_ADMIN].tags()})


async def create_tag(request: web.Request) -> web.Response:
    return web.json_response(await request.app[WORKER_ADMIN].create_tag(await read_body(request, WorkerTag)))


async def fetch_tag(request: web.Request) -> web.Response:
    return web.json_response(await request.app[WORKER_ADMIN].tag(request.match_info["tag_id"]))


async def update_tag(request: web.Request) -> web.Response:
    await request.app[WORKER_ADMIN].update_tag(request.match_info["tag_id"], await read_body(request, WorkerTag))
    return web.Response(status=204)


async def delete_tag(request: web.Request) -> web.Response:
    await request.app[WORKER_ADMIN].delete_tag(request.match_info["tag_id"])
    return web.Response(status=204)

"""The hub's HTTP face: the Flamenco v3 routes an artist needs, over every site, and the hub's own.

A hub answers like a Manager for what an add-on or a dashboard does with jobs (version, job
types, submit, list, one job, its tasks, status, priority, deletion; workers read-only), so they
point at the hub unchanged. Jobs and workers carry a `site` field; a job also `hub`, saying how it
was routed and, while it waits, why. The request guard, the error middleware, the access check
and the body bounds are the Manager's own.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

import app
from app.api.errors import BadRequest, NotFound
from app.api.hub import HubSiteAdd, HubSiteToken
from app.api.jobs import JobPriorityChange, JobStatusChange, SubmittedJob, TaskStatusChange
from app.api.meta import FlamencoVersion
from app.hub.access import HUB_ROUTE_ACCESS, V3
from app.hub.link_server import bearer, serve_link
from app.hub.shaman_relay import BLOBS_PATH, files_of, received_by, serve_blob, shared_storage_answer
from app.hub.site_reads import FRAMES_PATH
from app.manager.hub_link.protocol import LINK_PATH, SITE_HEADER
from app.manager.web.access import carries_credential, check_request
from app.manager.web.app import create_guard
from app.manager.web.connection_guard import connection_tracking_middleware
from app.manager.web.handlers.events_ws import event_stream
from app.manager.web.handlers.jobs import MAX_OFFSET, MAX_PAGE, int_query
from app.manager.web.keys import BUS, FARM_STATUS, SETTINGS, TASK_LOG_FOLLOWS
from app.manager.web.middlewares import error_middleware
from app.manager.web.request_body import JOB_BODY_MAX, read_body
from app.manager.web.request_guard import guard_middleware
from app.manager.web.status_page import add_status_page_routes
from app.shaman.web import add_shaman_routes

if TYPE_CHECKING:
    from app.hub.service import HubServices

HUB: web.AppKey[HubServices] = web.AppKey("hub")


@web.middleware
async def hub_access_middleware(request: web.Request, handler):
    hub = request.app[HUB]
    cfg = hub.config.manager
    check_request(request, cfg.access_token, hub.admin_token, cfg.trust_local_requests,
                  str(cfg.base_dir) if cfg.path is not None else "", cfg.submit_token, table=HUB_ROUTE_ACCESS)
    return await handler(request)


def create_hub_app(hub: HubServices) -> web.Application:
    middlewares = [connection_tracking_middleware, error_middleware, guard_middleware(create_guard(hub.config.manager)),
                   hub_access_middleware]
    application = web.Application(middlewares=middlewares, client_max_size=JOB_BODY_MAX)
    application[HUB] = hub
    # The Manager's event stream handler, bounded outbox and all, reads these keys: the hub's
    # configuration, its bus (every site's jobs and tasks) and its farm status stand in for them,
    # and it tells the hub which task logs its clients follow, so the sites send only those.
    application[SETTINGS] = cast(Any, SimpleNamespace(config=hub.config.manager))
    application[BUS] = hub.bus
    application[FARM_STATUS] = cast(Any, hub)
    application[TASK_LOG_FOLLOWS] = hub.feed
    r = application.router
    r.add_get(f"{V3}/version", get_version)
    r.add_get(f"{V3}/jobs/types", get_job_types)
    r.add_get(f"{V3}/jobs/type/{{type_name}}", get_job_type)
    r.add_get(f"{V3}/jobs", list_jobs)
    r.add_post(f"{V3}/jobs", submit_job)
    r.add_post(f"{V3}/jobs/check", check_job)
    r.add_get(f"{V3}/jobs/{{job_id}}", fetch_job)
    r.add_delete(f"{V3}/jobs/{{job_id}}", delete_job)
    r.add_get(f"{V3}/jobs/{{job_id}}/tasks", fetch_job_tasks)
    r.add_post(f"{V3}/jobs/{{job_id}}/setstatus", set_job_status)
    r.add_post(f"{V3}/jobs/{{job_id}}/setpriority", set_job_priority)
    r.add_get(f"{V3}/tasks/{{task_id}}", fetch_task)
    r.add_get(f"{V3}/tasks/{{task_id}}/logtail", fetch_log_tail)
    r.add_get(f"{V3}/worker-mgt/workers", list_workers)
    r.add_get(f"{V3}/worker-mgt/tags", list_tags)
    r.add_get(f"{V3}/status", farm_status)
    r.add_get(f"{V3}/tablao/jobs", jobs_page)
    r.add_get(f"{V3}/tablao/events", event_stream)
    r.add_get(f"{V3}/configuration/shared-storage/{{audience}}/{{platform}}", get_shared_storage)
    add_shaman_routes(application, lambda: hub.shaman)  # 503 in words when the hub has none
    r.add_get(BLOBS_PATH, fetch_blob)
    r.add_get(LINK_PATH, site_link)
    add_status_page_routes(application)  # the Manager's page, reading the hub's API: every site's jobs
    # What the status page and the dashboard read of a job's site, asked of the site (`site_reads.py`).
    r.add_get(f"{V3}/configuration/file", admin_check)
    r.add_get(f"{V3}/configuration/variables/{{audience}}/{{platform}}", get_variables)
    r.add_get(f"{V3}/tablao/jobs/eta", job_etas)
    r.add_get(f"{V3}/tablao/jobs/{{job_id}}/task-stats", job_task_stats)
    r.add_get(f"{V3}/jobs/{{job_id}}/last-rendered", last_rendered)
    r.add_get(FRAMES_PATH, fetch_frame)
    r.add_post(f"{V3}/tasks/{{task_id}}/setstatus", set_task_status)
    r.add_get(f"{V3}/worker-mgt/workers/{{worker_id}}", fetch_worker)
    r.add_get(f"{V3}/tablao/hub/sites", list_sites)
    r.add_post(f"{V3}/tablao/hub/sites", add_site)
    r.add_delete(f"{V3}/tablao/hub/sites/{{name}}", remove_site)
    return application


async def get_version(request: web.Request) -> web.Response:
    cfg = request.app[HUB].config.manager
    return web.json_response(FlamencoVersion(
        version=f"{app.FLAMENCO_COMPAT_VERSION} (Tablao {app.__version__} hub)",
        shortversion=app.FLAMENCO_COMPAT_VERSION, name=cfg.manager_name, git=f"tablao-{app.__version__}",
    ).to_json())


def _job_types(request: web.Request) -> dict[str, dict]:
    """Every job type some site offers, by name (the first site in name order wins a clash)."""
    types: dict[str, dict] = {}
    for _name, state in sorted(request.app[HUB].sites.states.items()):
        for job_type in state.info.get("job_types") or []:
            types.setdefault(job_type.get("name", ""), job_type)
    return types


async def get_job_types(request: web.Request) -> web.Response:
    return web.json_response({"job_types": list(_job_types(request).values())})


async def get_job_type(request: web.Request) -> web.Response:
    name = request.match_info["type_name"]
    job_type = _job_types(request).get(name)
    if job_type is None:
        raise NotFound(f"no site of this hub offers job type {name!r}")
    return web.json_response(job_type, headers={"ETag": f'"{job_type.get("etag", "")}"'})


async def list_jobs(request: web.Request) -> web.Response:
    return web.json_response({"jobs": await request.app[HUB].jobs.list()})


async def jobs_page(request: web.Request) -> web.Response:
    """`GET /api/v3/tablao/jobs`: a page of every site's jobs, as a dashboard reads them."""
    limit = int_query(request, "limit", 100, 1, MAX_PAGE)
    offset = int_query(request, "offset", 0, 0, MAX_OFFSET) or 0
    statuses = [s for s in request.query.get("status", "").split(",") if s] or None
    jobs = await request.app[HUB].jobs.list(statuses)
    return web.json_response({"jobs": jobs[offset:offset + (limit or 0)], "total": len(jobs), "limit": limit,
                              "offset": offset})


async def farm_status(request: web.Request) -> web.Response:
    return web.json_response({"status": str(request.app[HUB].status)})


async def list_tags(request: web.Request) -> web.Response:
    """Every site's worker tags (ids are the sites' own), each with its site."""
    tags: list[dict] = []
    for name, state in sorted(request.app[HUB].sites.states.items()):
        tags.extend({**tag, "site": name} for tag in state.info.get("tags") or [])
    return web.json_response({"tags": tags})


async def submit_job(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    cfg = hub.config.manager
    credentialed = carries_credential(request, cfg.access_token, hub.admin_token, cfg.submit_token)
    body = await read_body(request, SubmittedJob, JOB_BODY_MAX)
    return web.json_response(await hub.jobs.submit(body, credentialed))


async def check_job(request: web.Request) -> web.Response:
    """204 when the site the hub would send the job to compiles it; its 4xx otherwise."""
    await request.app[HUB].jobs.check(await read_body(request, SubmittedJob, JOB_BODY_MAX))
    return web.Response(status=204)


async def fetch_job(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HUB].jobs.fetch(request.match_info["job_id"]))


async def fetch_job_tasks(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HUB].jobs.tasks(request.match_info["job_id"]))


async def fetch_task(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HUB].jobs.task_question(request.match_info["task_id"], "task"))


async def fetch_log_tail(request: web.Request) -> web.Response:
    data = await request.app[HUB].jobs.task_question(request.match_info["task_id"], "logtail")
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    return web.Response(text=text, content_type="text/plain") if text else web.Response(status=204)


def _acted(waiting: str | None) -> web.Response:
    """204 when the site applied it; 202 with words when it waits at the hub for its site."""
    if waiting is None:
        return web.Response(status=204)
    return web.json_response({"code": 202, "message": waiting}, status=202)


async def set_job_status(request: web.Request) -> web.Response:
    body = await read_body(request, JobStatusChange)
    return _acted(await request.app[HUB].jobs.act(request.match_info["job_id"], "setstatus", body.to_json()))


async def set_job_priority(request: web.Request) -> web.Response:
    body = await read_body(request, JobPriorityChange)
    return _acted(await request.app[HUB].jobs.act(request.match_info["job_id"], "setpriority", body.to_json()))


async def delete_job(request: web.Request) -> web.Response:
    return _acted(await request.app[HUB].jobs.act(request.match_info["job_id"], "delete", None))


async def list_workers(request: web.Request) -> web.Response:
    workers: list[dict] = []
    for name, state in sorted(request.app[HUB].sites.states.items()):
        workers.extend({**worker, "site": name} for worker in state.info.get("workers") or [])
    return web.json_response({"workers": workers})


async def get_shared_storage(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    audience, platform = request.match_info["audience"], request.match_info["platform"]
    if audience not in ("users", "workers") or len(platform) > 32:
        raise BadRequest("expected /configuration/shared-storage/{users|workers}/{platform}")
    return web.json_response(shared_storage_answer(hub.config.manager, hub.shaman, audience, platform))


async def fetch_blob(request: web.Request) -> web.StreamResponse:
    """A file of the hub's Shaman, for a site that lacks it (the site's name and token, as its link)."""
    hub = request.app[HUB]
    site = request.headers.get(SITE_HEADER, "").strip()
    await hub.sites.authenticate(site, bearer(request))
    return await serve_blob(request, hub.shaman, site)


async def site_link(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    return await serve_link(request, hub.sites, hub.outbox, hub.jobs, hub.feed)


async def list_sites(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    waiting = await hub.waiting_counts()
    return web.json_response({"sites": [files_of(hub, name, hub.sites.summary(name, waiting.get(name, 0)))
                                        for name in sorted(hub.sites.states)],
                              **received_by(hub)})


async def add_site(request: web.Request) -> web.Response:
    name = (await read_body(request, HubSiteAdd)).name
    token = await request.app[HUB].sites.add(name)
    return web.json_response(HubSiteToken(name, token).to_json())


async def remove_site(request: web.Request) -> web.Response:
    if not await request.app[HUB].sites.remove(request.match_info["name"]):
        raise NotFound(f"no site {request.match_info['name']!r} is joined to this hub")
    return web.Response(status=204)


async def admin_check(request: web.Request) -> web.Response:
    """`GET`/`HEAD /configuration/file`: admin only, as on a Manager, so the page asks it to learn
    whether the token it holds is the hub's admin token. The hub's file itself stays on its machine."""
    path = request.app[HUB].config.path
    return web.json_response({"message": f"the hub's configuration is {path} on the hub's machine; edit it there"})


async def get_variables(request: web.Request) -> web.Response:
    """The variables of one site (`?site=NAME`; a hub with one site needs none), Flamenco's shape."""
    site = request.query.get("site", "")
    if len(site) > 64:
        raise BadRequest("`site` is a site's name, at most 64 characters")
    return web.json_response(await request.app[HUB].reads.variables(
        request.match_info["audience"], request.match_info["platform"].lower(), site))


async def job_etas(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HUB].reads.etas())


async def job_task_stats(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HUB].reads.task_stats(request.match_info["job_id"]))


async def last_rendered(request: web.Request) -> web.Response:
    info = await request.app[HUB].reads.last_rendered(request.match_info["job_id"])
    return web.json_response(info) if info else web.Response(status=204)


async def fetch_frame(request: web.Request) -> web.Response:
    data = await request.app[HUB].reads.frame(request.match_info["job_id"], request.match_info["name"])
    return web.Response(body=data, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


async def set_task_status(request: web.Request) -> web.Response:
    body = await read_body(request, TaskStatusChange)
    return _acted(await request.app[HUB].reads.set_task_status(request.match_info["task_id"], body))


async def fetch_worker(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HUB].reads.worker(request.match_info["worker_id"]))

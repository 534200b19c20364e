"""The worker operations (tag `worker`): HTTP Basic auth with the worker's id and secret.

Tablao's additions: `worker_vitals` (`/tablao/worker/vitals`), where a worker reports what it
measures of itself, and, without credentials, `prove_manager` (`/tablao/worker/prove`), where the
Manager proves to a worker that it is the one the worker registered with, before the worker sends
it credentials.
"""

from __future__ import annotations

import math
from typing import assert_never

from aiohttp import web

from app.api.enums import WorkerStatus
from app.api.errors import BadRequest
from app.api.headers import WAIT_HEADER
from app.api.models import (
    TablaoManagerChallenge,
    WorkerRegistration,
    WorkerSignOn,
    WorkerStateChange,
    WorkerStateChanged,
    WorkerTaskUpdate,
)
from app.api.workers import TablaoWorkerVitalsReport
from app.manager.credentials.auth import WorkerIdentity
from app.manager.scheduling.assignments import MustChangeStatus, NoTask, NotAwake, TaskAssigned
from app.manager.web.keys import CREDENTIALS, LAST_RENDERED, SESSIONS, VITALS
from app.manager.web.middlewares import error_json
from app.manager.web.request_body import WORKER_BODY_MAX, read_body
from app.manager.workers.worker_vitals import VITALS_BODY_MAX, kept_vitals

IMAGE_CHUNK_BYTES = 256 * 1024
PROVE_BODY_MAX = 1024  # a uuid and a nonce


def _ident(request: web.Request) -> WorkerIdentity:
    return request.app[CREDENTIALS].authenticate(request.headers.get("Authorization"))


def _wait(request: web.Request) -> float:
    """The long-poll header's seconds (0 when absent); a 400 when it is not a number of at least 0."""
    raw = request.headers.get(WAIT_HEADER)
    if raw is None:
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0.0 <= seconds < math.inf:  # also refuses NaN
        raise BadRequest(f"{WAIT_HEADER} must be a number of seconds, 0 or more, not {raw[:40]!r}")
    return seconds


def _address(request: web.Request) -> str:
    return request.remote or ""


async def register_worker(request: web.Request) -> web.Response:
    body = await read_body(request, WorkerRegistration)
    return web.json_response((await request.app[SESSIONS].register(body, _address(request))).to_json())


async def sign_on(request: web.Request) -> web.Response:
    ident = _ident(request)
    body = await read_body(request, WorkerSignOn)
    sessions = request.app[SESSIONS]
    status = await sessions.sign_on(ident, body, _address(request))
    return web.json_response(WorkerStateChange(WorkerStatus(status), sessions.key_of(ident.uuid)).to_json())


async def prove_manager(request: web.Request) -> web.Response:
    body = await read_body(request, TablaoManagerChallenge, PROVE_BODY_MAX)
    # The Host header as sent (not aiohttp's fallback to the socket's address): the worker binds
    # the proof to the address it typed, and that is what it sends.
    return web.json_response(request.app[SESSIONS].prove(body, request.headers.get("Host", "")).to_json())


async def sign_off(request: web.Request) -> web.Response:
    await request.app[SESSIONS].sign_off(_ident(request))
    return web.Response(status=204)


async def worker_state(request: web.Request) -> web.Response:
    requested = await request.app[SESSIONS].state(_ident(request), _wait(request))
    if not requested:
        return web.Response(status=204)
    return web.json_response(WorkerStateChange(WorkerStatus(requested)).to_json())


async def worker_state_changed(request: web.Request) -> web.Response:
    ident = _ident(request)
    await request.app[SESSIONS].state_changed(ident, await read_body(request, WorkerStateChanged))
    return web.Response(status=204)


async def schedule_task(request: web.Request) -> web.Response:
    ident = _ident(request)
    result = await request.app[SESSIONS].schedule(ident, _wait(request))
    match result:
        case TaskAssigned(body=body):
            return web.json_response(body)
        case MustChangeStatus(status_requested=requested):
            return web.json_response(WorkerStateChange(WorkerStatus(requested)).to_json(), status=423)
        case NotAwake():
            return error_json(409, result.message)
        case NoTask():
            return web.Response(status=204)
    assert_never(result)


async def task_update(request: web.Request) -> web.Response:
    ident = _ident(request)
    sessions = request.app[SESSIONS]
    task_uuid = request.match_info["task_id"]
    body = await read_body(request, WorkerTaskUpdate, WORKER_BODY_MAX)
    await sessions.task_update(ident, task_uuid, body)
    return web.Response(status=204)


async def may_i_run(request: web.Request) -> web.Response:
    ident = _ident(request)
    answer = await request.app[SESSIONS].may_i_run(ident, request.match_info["task_id"], _wait(request))
    return web.json_response(answer)


async def output_produced(request: web.Request) -> web.Response:
    """202 once the frame's thumbnails are written; 413/415/429 in words otherwise (see last_rendered.py)."""
    ident = _ident(request)
    sessions = request.app[SESSIONS]
    if request.content_length is None:
        return error_json(411, "Content-Length is required")
    job_uuid = await sessions.owned_task_job(ident, request.match_info["task_id"])
    task_uuid = request.match_info["task_id"]
    await request.app[LAST_RENDERED].receive(job_uuid, request.content_type, request.content_length,
                                              request.content.iter_chunked(IMAGE_CHUNK_BYTES),
                                              worker_id=ident.uuid, task_id=task_uuid)
    return web.Response(status=202)


async def worker_vitals(request: web.Request) -> web.Response:
    """204 once kept; 400/413 in words for a report that is not vitals (see worker_vitals.py)."""
    ident = _ident(request)
    vitals = kept_vitals(await read_body(request, TablaoWorkerVitalsReport, VITALS_BODY_MAX))
    request.app[VITALS].receive(ident.id, ident.uuid, vitals)
    await request.app[SESSIONS].blenders.reported(ident.id, vitals.get("blender_version"))
    return web.Response(status=204)

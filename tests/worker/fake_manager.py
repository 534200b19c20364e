"""A small in-process fake of the Manager's worker endpoints, for worker tests.

It follows the Flamenco v3 worker API (paths, methods, status codes, JSON shapes, HTTP Basic auth
with 403 on failure) plus the Tablao `X-Tablao-Wait` long-poll on `POST /worker/task` and
`GET /worker/task/{id}/may-i-run` (switchable off with `long_poll=False`, which behaves like a
stock Flamenco Manager). It records what workers sent so tests can assert on it, and can be
stopped and restarted on the same port to simulate an outage.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

WAIT_HEADER = "X-Tablao-Wait"


@dataclass
class FakeWorker:
    uuid: str
    secret: str
    name: str
    platform: str
    task_types: list[str]
    status: str = "starting"
    status_requested: str | None = None
    lazy: bool = False


WORKER: Any = web.RequestKey("worker", FakeWorker) if hasattr(web, "RequestKey") else "worker"


@dataclass
class FakeManager:
    long_poll: bool = True
    #: Status every sign-on answers with (unless a request is pending).
    initial_status: str = "awake"
    workers: dict[str, FakeWorker] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    #: task_id → worker uuid of tasks handed out.
    assigned: dict[str, str] = field(default_factory=dict)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    outputs: list[tuple[str, bytes, str]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    sign_ons: list[dict[str, Any]] = field(default_factory=list)
    sign_offs: list[str] = field(default_factory=list)
    state_changes: list[tuple[str, str]] = field(default_factory=list)
    #: Task ids whose may-i-run answers "no".
    stop_tasks: set[str] = field(default_factory=set)
    #: Task ids whose updates are refused with 409 (reassigned).
    reassigned: set[str] = field(default_factory=set)
    #: When set, every request gets this status (e.g. 503).
    fail_with: int | None = None

    def __post_init__(self) -> None:
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self.port = 0

    # --- test controls -------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def poke(self) -> None:
        """Wake every held long-poll so it re-evaluates."""
        self._changed.set()
        self._changed = asyncio.Event()

    def add_task(self, commands: list[dict[str, Any]], **extra: Any) -> str:
        task_id = extra.pop("uuid", None) or str(uuid.uuid4())
        task = {
            "uuid": task_id,
            "job": extra.pop("job", str(uuid.uuid4())),
            "name": extra.pop("name", "test-task"),
            "status": "queued",
            "priority": 50,
            "job_priority": 50,
            "job_type": "test",
            "task_type": extra.pop("task_type", "misc"),
            "commands": commands,
            "steps_completed": 0,
            "steps_total": sum(max(1, c.get("total_step_count", 0)) for c in commands),
        }
        task.update(extra)
        self.tasks.append(task)
        self.poke()
        return task_id

    def stop_task(self, task_id: str) -> None:
        self.stop_tasks.add(task_id)
        self.poke()

    def request_status(self, worker_id: str, status: str, lazy: bool = True) -> None:
        worker = self.workers[worker_id]
        worker.status_requested, worker.lazy = status, lazy
        self.poke()

    def updates_for(self, task_id: str) -> list[dict[str, Any]]:
        return [p for t, p in self.updates if t == task_id]

    def log_of(self, task_id: str) -> str:
        return "".join(p.get("log", "") for p in self.updates_for(task_id))

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware], client_max_size=30 * 1024 * 1024)
        app.add_routes(self._routes())
        self._stopping = False
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.url

    async def stop(self) -> None:
        # Release held long-polls first, or shutting down waits for them to time out.
        self._stopping = True
        self.poke()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- HTTP ------------------------------------------------------------------------------

    def _routes(self) -> list[web.RouteDef]:
        p = "/api/v3/worker"
        return [
            web.post(f"{p}/register-worker", self.register),
            web.post(f"{p}/sign-on", self.sign_on),
            web.post(f"{p}/sign-off", self.sign_off),
            web.get(f"{p}/state", self.state),
            web.post(f"{p}/state-changed", self.state_changed),
            web.post(f"{p}/task", self.schedule_task),
            web.post(f"{p}/task/{{task_id}}", self.task_update),
            web.get(f"{p}/task/{{task_id}}/may-i-run", self.may_i_run),
            web.post(f"{p}/task/{{task_id}}/output-produced", self.output_produced),
        ]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append((request.method, request.path))
        if self.fail_with is not None:
            return web.json_response(
                {"code": self.fail_with, "message": "failing on purpose"}, status=self.fail_with
            )
        if not request.path.endswith("/register-worker"):
            worker = self._authenticate(request)
            if worker is None:
                return web.json_response({"message": "invalid credentials"}, status=403)
            request[WORKER] = worker
        return await handler(request)

    def _authenticate(self, request: web.Request) -> FakeWorker | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        worker = self.workers.get(user)
        return worker if worker is not None and worker.secret == secret else None

    async def _hold(self, request: web.Request, ready: Any) -> None:
        """Tablao long-poll: wait until `ready()` or the requested seconds pass."""
        if not self.long_poll:
            return
        try:
            wait = float(request.headers.get(WAIT_HEADER, "0"))
        except ValueError:
            wait = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not ready() and not self._stopping and loop.time() < deadline:
            event = self._changed
            try:
                async with asyncio.timeout(deadline - loop.time()):
                    await event.wait()
            except TimeoutError:
                break

    async def register(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.registrations.append(body)
        worker = FakeWorker(
            str(uuid.uuid4()), body["secret"], body["name"], body["platform"], body["supported_task_types"]
        )
        self.workers[worker.uuid] = worker
        return web.json_response(
            {
                "uuid": worker.uuid,
                "name": worker.name,
                "address": request.remote or "",
                "status": "starting",
                "platform": worker.platform,
                "software": "",
                "supported_task_types": worker.task_types,
            }
        )

    async def sign_on(self, request: web.Request) -> web.Response:
        worker: FakeWorker = request[WORKER]
        body = await request.json()
        self.sign_ons.append(dict(body, worker=worker.uuid))
        worker.status = "starting"
        return web.json_response({"status_requested": worker.status_requested or self.initial_status})

    async def sign_off(self, request: web.Request) -> web.Response:
        worker: FakeWorker = request[WORKER]
        self.sign_offs.append(worker.uuid)
        worker.status = "offline"
        if worker.status_requested in ("offline", "restart"):
            worker.status_requested = None
        return web.Response(status=204)

    async def state(self, request: web.Request) -> web.Response:
        worker: FakeWorker = request[WORKER]
        if worker.status_requested:
            return web.json_response({"status_requested": worker.status_requested})
        return web.Response(status=204)

    async def state_changed(self, request: web.Request) -> web.Response:
        worker: FakeWorker = request[WORKER]
        status = (await request.json())["status"]
        self.state_changes.append((worker.uuid, status))
        worker.status = status
        if worker.status_requested == status:
            worker.status_requested = None
        return web.Response(status=204)

    async def schedule_task(self, request: web.Request) -> web.Response:
        worker: FakeWorker = request[WORKER]

        def ready() -> bool:
            return bool(self.tasks) or worker.status_requested is not None or worker.status != "awake"

        await self._hold(request, ready)
        if worker.status_requested:
            return web.json_response({"status_requested": worker.status_requested}, status=423)
        if worker.status != "awake":
            return web.Response(status=409)
        if not self.tasks:
            return web.Response(status=204)
        task = self.tasks.pop(0)
        self.assigned[task["uuid"]] = worker.uuid
        return web.json_response(task)

    async def task_update(self, request: web.Request) -> web.Response:
        worker: FakeWorker = request[WORKER]
        task_id = request.match_info["task_id"]
        if task_id in self.reassigned or self.assigned.get(task_id) != worker.uuid:
            return web.json_response({"code": 409, "message": "task not assigned to you"}, status=409)
        self.updates.append((task_id, await request.json()))
        return web.Response(status=204)

    async def may_i_run(self, request: web.Request) -> web.Response:
        worker: FakeWorker = request[WORKER]
        task_id = request.match_info["task_id"]

        def ready() -> bool:
            return task_id in self.stop_tasks or (worker.status_requested is not None and not worker.lazy)

        await self._hold(request, ready)
        if task_id not in self.assigned:
            return web.json_response({"code": 404, "message": "task not found"}, status=404)
        change = worker.status_requested is not None and not worker.lazy
        may = task_id not in self.stop_tasks and not change
        return web.json_response(
            {"mayKeepRunning": may, "reason": "" if may else "told to stop", "statusChangeRequested": change}
        )

    async def output_produced(self, request: web.Request) -> web.Response:
        task_id = request.match_info["task_id"]
        if request.content_length is None:
            return web.json_response({"code": 411, "message": "length required"}, status=411)
        if request.content_type not in ("image/jpeg", "image/png"):
            return web.json_response({"code": 415, "message": "unsupported"}, status=415)
        self.outputs.append((task_id, await request.read(), request.content_type))
        return web.Response(status=202)

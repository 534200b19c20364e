"""`create_app(services)` and the server wrapper (AppRunner + TCPSite, never run_app)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING

from aiohttp import web

from app.common.ports import PortInUse, is_address_in_use, port_holder
from app.manager.web.connection_guard import (
    ConnectionGuard,
    ConnectionLimits,
    connection_cap,
    connection_tracking_middleware,
    descriptor_limit,
)
from app.manager.web.keys import (
    ADMIN_TOKEN,
    BUS,
    CREDENTIALS,
    ETAS,
    FARM_STATUS,
    JOB_TYPES,
    JOBS,
    LAST_RENDERED,
    OUTPUT_ROOTS,
    SERVICES,
    SESSIONS,
    SETTINGS,
    SHAMAN,
    TASK_LOGS,
    VITALS,
    WORKER_ADMIN,
    WORKER_DAYS,
)
from app.manager.web.middlewares import access_token_middleware, error_middleware
from app.manager.web.openapi import add_openapi_routes
from app.manager.web.request_guard import HostNames, RequestGuard, guard_middleware
from app.manager.web.routes import add_routes
from app.manager.web.status_page import add_status_page_routes

if TYPE_CHECKING:
    from app.manager.service import ManagerServices
    from app.manager.settings.config import ManagerConfig

_log = logging.getLogger(__name__)
# The cap for bodies aiohttp reads whole (last-rendered images, at most 25 MiB). JSON bodies have
# smaller caps of their own (request_body.py); Shaman uploads stream, bounded by their declared size.
MAX_BODY = 32 * 1024 * 1024


def create_guard(config: ManagerConfig) -> RequestGuard:
    """The Host/Origin/Content-Type checks for `config` (see request_guard.py)."""
    listen_host = config.effective_listen.rpartition(":")[0].strip("[]")
    hosts = HostNames(listen_host, [h for h in config.allowed_hosts if h != "*"],
                      any_host="*" in config.allowed_hosts)
    return RequestGuard(hosts, config.allowed_origins)


def create_app(services: ManagerServices) -> web.Application:
    guard = create_guard(services.config)

    def follow_settings(config: ManagerConfig) -> None:
        fresh = create_guard(config)
        guard.hosts, guard.allowed_origins = fresh.hosts, fresh.allowed_origins

    services.settings.add_live_applier(follow_settings)
    middlewares = [connection_tracking_middleware, error_middleware, guard_middleware(guard),
                   access_token_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY)
    app[SERVICES] = services
    app[SETTINGS], app[FARM_STATUS], app[JOB_TYPES] = services.settings, services.farm_status, services.compiler
    app[JOBS], app[SESSIONS], app[WORKER_ADMIN] = services.jobs, services.sessions, services.admin
    app[CREDENTIALS], app[TASK_LOGS], app[LAST_RENDERED] = services.creds, services.task_logs, services.last_rendered
    app[BUS], app[ADMIN_TOKEN] = services.bus, services.admin_token
    app[OUTPUT_ROOTS] = services.outputs
    app[VITALS], app[WORKER_DAYS] = services.vitals, services.days
    app[ETAS] = services.etas
    app[SHAMAN] = services.shaman if services.shaman_available else None
    add_routes(app)
    add_openapi_routes(app)
    if services.shaman_routes is not None:
        services.shaman_routes(app)
    storage = services.config.storage_dir
    storage.mkdir(parents=True, exist_ok=True)
    app.router.add_static("/job-files/", storage, show_index=False, follow_symlinks=False)
    add_status_page_routes(app)  # `/`: the farm in any browser
    return app


class HttpServer:
    """Serves the app until cancelled. `port` is known once `start()` returned.

    The listening socket hands connections to a `ConnectionGuard` (a cap on open connections and
    timeouts for slow headers and stalled bodies); idle keep-alive connections are aiohttp's own
    `keepalive_timeout`. The cap is computed here, from the descriptor limit in force at start.
    """

    def __init__(self, app: web.Application, host: str, port: int, *, idle_timeout: float = 75.0,
                 header_timeout: float = 30.0, body_timeout: float = 60.0, max_connections: int = 0,
                 ssl_context: ssl.SSLContext | None = None):
        self.app, self.host, self.port = app, host, port
        self._ssl = ssl_context  # HTTPS (the hub with its own certificate); None: plain HTTP
        self._idle_timeout = idle_timeout
        self._timeouts = (header_timeout, body_timeout)
        self._max_connections = max_connections
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.AbstractServer | None = None
        self.guard: ConnectionGuard | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0,
                                     keepalive_timeout=self._idle_timeout)
        await self._runner.setup()
        assert self._runner.server is not None
        fd_limit = descriptor_limit()
        limits = ConnectionLimits(connection_cap(self._max_connections, fd_limit), *self._timeouts)
        self.guard = ConnectionGuard(self._runner.server, limits)
        loop = asyncio.get_running_loop()
        try:
            self._listener = await loop.create_server(self.guard, self.host, self.port, reuse_address=True,
                                                      backlog=512, ssl=self._ssl)
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            if is_address_in_use(exc):
                holder = await asyncio.to_thread(port_holder, self.port)
                raise PortInUse(self.host, self.port, holder) from None
            raise
        sockets = self._listener.sockets
        if sockets:
            self.port = sockets[0].getsockname()[1]
        _log.info("listening on http%s://%s:%d/ (at most %d connections; %d descriptors)",
                  "s" if self._ssl else "", self.host, self.port, limits.max_connections, fd_limit)

    async def run(self) -> None:
        if self._runner is None:
            await self.start()
        assert self.guard is not None
        try:
            await self.guard.run()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

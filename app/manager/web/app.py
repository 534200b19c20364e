"""`create_app(services)` and the server wrapper (AppRunner + TCPSite, never run_app)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from app.manager.web.keys import FARM_STATUS, JOB_TYPES, SERVICES, SETTINGS
from app.manager.web.middlewares import access_token_middleware, error_middleware
from app.manager.web.openapi import add_openapi_routes
from app.manager.web.routes import add_routes

if TYPE_CHECKING:
    from app.manager.service import ManagerServices

_log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024 * 1024  # job submissions can be large; Shaman uploads stream separately


def create_app(services: ManagerServices) -> web.Application:
    app = web.Application(middlewares=[error_middleware, access_token_middleware], client_max_size=MAX_BODY)
    app[SERVICES] = services
    app[SETTINGS], app[FARM_STATUS], app[JOB_TYPES] = services.settings, services.farm_status, services.compiler
    add_routes(app)
    add_openapi_routes(app)
    if services.shaman_routes is not None:
        services.shaman_routes(app)
    storage = services.config.storage_dir
    storage.mkdir(parents=True, exist_ok=True)
    app.router.add_static("/job-files/", storage, show_index=False, follow_symlinks=False)
    app.router.add_get("/", _root)
    return app


async def _root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/api/v3/swagger-ui/")


class HttpServer:
    """Serves the app until cancelled. `port` is known once `start()` returned."""

    def __init__(self, app: web.Application, host: str, port: int):
        self.app, self.host, self.port = app, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True, backlog=512)
        await site.start()
        sockets = site._server.sockets if site._server else []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        _log.info("listening on http://%s:%d/", self.host, self.port)

    async def run(self) -> None:
        if self._runner is None:
            await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

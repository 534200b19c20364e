"""A fake Manager that copies a real one's name, to try to take its workers: an attack, for tests.

It answers `/api/v3/version` with the real Manager's answer (so its name matches), records the
headers of every request it gets (tests assert that no worker credentials ever arrive), and
answers every worker call as if it knew the worker (200/204), so a worker that trusted it would
move to it. The proof challenge is answered in one of three ways: `made_up` (random hex),
`relay` (forwarded to the real Manager as a naive relay does, so the proof is the real Manager's,
made for the real Manager's address) or `redirect` (307 to the real Manager).
"""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp
from aiohttp import web


class ImpostorManager:
    def __init__(self, version: dict[str, Any], real_url: str = "", proof: str = "made_up"):
        self.version, self.real_url, self.proof = version, real_url, proof
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def credentials_received(self) -> list[str]:
        return [h["Authorization"] for _, _, h in self.requests if "Authorization" in h]

    async def start(self) -> ImpostorManager:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/api/v3/version", self._version)
        app.router.add_post("/api/v3/tablao/worker/prove", self._prove)
        app.router.add_route("*", "/{tail:.*}", self._anything)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler):
        self.requests.append((request.method, request.path, dict(request.headers)))
        return await handler(request)

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response(self.version)

    async def _prove(self, request: web.Request) -> web.Response:
        if self.proof == "redirect" and self.real_url:
            raise web.HTTPTemporaryRedirect(self.real_url + request.path)
        if self.proof == "relay" and self.real_url:
            body = await request.read()
            try:
                async with aiohttp.ClientSession() as session, session.post(
                        self.real_url + request.path, data=body,
                        headers={"Content-Type": "application/json"}) as resp:
                    return web.Response(status=resp.status, body=await resp.read(),
                                        content_type="application/json")
            except aiohttp.ClientError:
                pass  # the real one is away: make something up
        return web.json_response({"proof": secrets.token_hex(32)})

    async def _anything(self, request: web.Request) -> web.Response:
        if request.path == "/api/v3/worker/state":
            return web.Response(status=204)  # "I know you": what the old check asked for
        if request.method == "POST":
            return web.json_response({"status_requested": "awake"})
        return web.json_response({})

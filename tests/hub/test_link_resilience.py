"""A hub that misbehaves never takes its site Manager down: the link says what went wrong and tries again."""

from __future__ import annotations

import pytest
from aiohttp import web

from app.manager.hub_link import protocol as p
from tests.conftest import RunningManager, make_config
from tests.hub.conftest import eventually, link_of


@pytest.mark.parametrize("answer", ["close", "binary", "not-a-welcome", "list"])
async def test_a_broken_hub_answer_leaves_the_site_serving_and_retrying(tmp_path, answer):
    hellos = []

    async def broken_link(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hellos.append(await ws.receive_json())
        if answer == "binary":
            await ws.send_bytes(b"\x00\x01")
        elif answer == "not-a-welcome":
            await ws.send_json({"type": "submit"})
        elif answer == "list":
            await ws.send_json([1, 2])
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get(p.LINK_PATH, broken_link)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    manager = None
    try:
        cfg = make_config(tmp_path, extra={"hub_url": f"http://127.0.0.1:{port}/", "hub_site": "A",
                                           "hub_token": "t" * 43})
        manager = await RunningManager(cfg).start()
        link = link_of(manager)

        async def tried_twice() -> bool:
            return len(hellos) >= 2
        await eventually(tried_twice, what="the link trying again")
        assert link.problem and not link.connected.is_set()
        status, _ = await manager.request("GET", "/api/v3/version")
        assert status == 200, "the Manager still serves"
        assert hellos[0]["site"] == "A" and "job_types" in hellos[0]
    finally:
        if manager is not None:
            await manager.stop()
        await runner.cleanup()

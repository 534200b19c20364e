"""A Manager-less fake Manager: the real Shaman routes plus the shared-storage endpoint, counting bytes."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.shaman import Shaman, ShamanConfig
from app.shaman.web import add_shaman_routes


@dataclass
class FakeManager:
    server: TestServer
    shaman: Shaman
    storage: Path
    shaman_enabled: bool = True
    upload_bytes: int = 0  # request body bytes received on the upload route
    upload_statuses: list[int] = field(default_factory=list)
    defer_once: bool = False  # answer 425 to the first deferrable upload of each file
    _deferred: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/"))


def _make_app(fake: Callable[[], FakeManager]) -> web.Application:
    @web.middleware
    async def count_uploads(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        manager = fake()
        is_upload = request.method == "POST" and request.path.startswith("/api/v3/shaman/files/")
        can_defer = request.headers.get("X-Shaman-Can-Defer-Upload") == "true"
        if is_upload and manager.defer_once and can_defer and request.path not in manager._deferred:
            manager._deferred.add(request.path)
            manager.upload_statuses.append(425)
            return web.Response(status=425)
        response = await handler(request)
        if is_upload:
            manager.upload_bytes += request.content.total_bytes
            manager.upload_statuses.append(response.status)
        return response

    async def shared_storage(request: web.Request) -> web.Response:
        manager = fake()
        return web.json_response(
            {
                "location": str(manager.storage),
                "audience": request.match_info["audience"],
                "platform": request.match_info["platform"],
                "shamanEnabled": manager.shaman_enabled,
            }
        )

    app = web.Application(middlewares=[count_uploads])
    app.router.add_get("/api/v3/configuration/shared-storage/{audience}/{platform}", shared_storage)
    add_shaman_routes(app, lambda: fake().shaman if fake().shaman_enabled else None)
    return app


@pytest.fixture
async def manager(aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path) -> FakeManager:
    holder: list[FakeManager] = []
    storage = tmp_path / "storage"
    shaman = Shaman(ShamanConfig(shared_storage=storage))
    server = await aiohttp_server(_make_app(lambda: holder[0]))
    holder.append(FakeManager(server, shaman, storage))
    return holder[0]


@dataclass
class Project:
    root: Path
    blendfile: Path
    dependencies: list[Path]

    @property
    def all_files(self) -> list[Path]:
        return [self.blendfile, *self.dependencies]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "work" / "proj"
    files = {
        "scenes/shot.blend": 300_000,
        "textures/wood.png": 1_000_000,
        "textures/stone.png": 250_000,
        "textures/ñandú.png": 4000,  # non-ASCII: exercises the RFC 2047 filename header
        "libs/chars.blend": 500_000,
        "textures/copy-of-wood.png": 0,  # filled below with the same bytes as wood.png
    }
    paths = {}
    for rel, size in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        paths[rel] = path
    paths["textures/copy-of-wood.png"].write_bytes(
        paths["textures/wood.png"].read_bytes()
    )  # duplicate content
    deps = [p for rel, p in paths.items() if rel != "scenes/shot.blend"]
    return Project(root, paths["scenes/shot.blend"], deps)

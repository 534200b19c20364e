"""Fixtures: a real Shaman on tmp_path behind a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.shaman import LinkMode, Shaman, ShamanConfig
from app.shaman.web import add_shaman_routes


@pytest.fixture
def make_shaman(tmp_path: Path) -> Callable[..., Shaman]:
    def make(link_mode: LinkMode = LinkMode.AUTO, **kwargs: object) -> Shaman:
        config = ShamanConfig(shared_storage=tmp_path / "storage", link_mode=link_mode, **kwargs)  # type: ignore[arg-type]
        return Shaman(config)

    return make


@pytest.fixture
def shaman(make_shaman: Callable[..., Shaman]) -> Shaman:
    return make_shaman()


@pytest.fixture
async def client(aiohttp_client: Callable, shaman: Shaman) -> TestClient:
    app = web.Application()
    add_shaman_routes(app, lambda: shaman)
    return await aiohttp_client(app)

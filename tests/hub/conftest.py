"""A hub in this process on a fixed free 127.0.0.1 port, and site Managers that join it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.hub.config import HubConfig, load_hub_config
from app.manager.settings.config import ManagerConfig, load_config, save_config
from tests.conftest import RunningManager, _test_database, make_config
from tests.e2e.farm import free_port


class RunningHub:
    def __init__(self, root: Path, port: int, sites: tuple[str, ...] = ("A", "B"), shaman: bool = False):
        path = root / "HUB.yaml"
        if not path.exists():
            root.mkdir(parents=True, exist_ok=True)
            shared = ""
            if shaman:
                (root / "shared").mkdir(exist_ok=True)
                shared = str(root / "shared")
            save_config(ManagerConfig(path=path, listen=f"127.0.0.1:{port}", database=_test_database(root),
                                      local_manager_storage_path="storage", manager_name="Test hub",
                                      shared_storage_path=shared, shaman_enabled=shaman,
                                      extra={"sites": list(sites)}))
        self.config: HubConfig = load_hub_config(path)
        self.port = port
        self.service: Any = None
        self._task: asyncio.Task | None = None
        self.session: aiohttp.ClientSession | None = None

    @property
    def tls(self) -> bool:
        return bool(self.config.manager.extra.get("tls"))

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def hub(self):
        return self.service.services

    async def start(self) -> RunningHub:
        from app.hub.service import HubService

        self.service = HubService(self.config)
        self._task = asyncio.create_task(self.service.run())
        ready = asyncio.create_task(self.service.ready.wait())
        done, _ = await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()
        # The hub's certificate is self-made: the tests' own requests do not check it (the sites pin it).
        self.session = aiohttp.ClientSession(self.url, connector=aiohttp.TCPConnector(ssl=False))
        return self

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def admin_headers(self) -> dict[str, str]:
        from app.common.credentials import ADMIN_TOKEN_HEADER

        return {ADMIN_TOKEN_HEADER: self.hub.admin_token}

    async def request(self, method: str, path: str, **kwargs) -> tuple[int, Any]:
        assert self.session is not None
        async with self.session.request(method, path, **kwargs) as resp:
            if resp.status == 204:
                return resp.status, None
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "") -> Any:
    """Poll `check` until it returns something true; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        await asyncio.sleep(0.1)


def link_of(site: RunningManager):
    from app.manager.hub_link import hub_link_of

    return hub_link_of(site.services)


class HubFarm:
    """A hub and its sites, started and stopped on demand; everything under `root`."""

    def __init__(self, root: Path):
        self.root, self.hub_port = root, free_port()
        self.hub: RunningHub | None = None
        self.sites: dict[str, RunningManager] = {}
        self.tokens: dict[str, str] = {}
        self.scheme = "http"

    async def start_hub(self, sites: tuple[str, ...] = ("A", "B"), shaman: bool = False) -> RunningHub:
        self.hub = await RunningHub(self.root / "hub", self.hub_port, sites, shaman).start()
        return self.hub

    async def join(self, name: str) -> str:
        assert self.hub is not None
        self.tokens[name] = await self.hub.hub.sites.add(name)
        return self.tokens[name]

    async def start_site(self, name: str, wait_linked: bool = True, **overrides: Any) -> RunningManager:
        root = self.root / f"site-{name}"
        path = root / "flamenco-manager.yaml"
        if path.exists():
            cfg = load_config(path)
        else:
            extra = {"hub_url": f"{self.scheme}://127.0.0.1:{self.hub_port}/", "hub_site": name,
                     "hub_token": self.tokens[name], **overrides.pop("extra", {})}
            cfg = make_config(root, manager_name=f"site {name}", extra=extra, **overrides)
        site = await RunningManager(cfg).start()
        self.sites[name] = site
        if wait_linked:
            try:
                await asyncio.wait_for(link_of(site).connected.wait(), 20)
            except TimeoutError:
                raise AssertionError(f"site {name} did not link to the hub: {link_of(site).problem}") from None
        return site

    async def stop_site(self, name: str) -> None:
        await self.sites.pop(name).stop()

    async def stop_hub(self) -> None:
        if self.hub is not None:
            await self.hub.stop()
            self.hub = None

    async def close(self) -> None:
        for name in list(self.sites):
            await self.stop_site(name)
        await self.stop_hub()


@pytest.fixture
async def hub_farm(tmp_path: Path):
    farm = HubFarm(tmp_path)
    try:
        yield farm
    finally:
        await farm.close()

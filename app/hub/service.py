"""`HubService`: the hub's composition root and lifecycle.

The hub is a Manager without workers plus its sites: it opens a Manager store (the same
migrations; only the hub's tables fill up), serves with the Manager's `HttpServer` and
middlewares, and keeps the admin token beside its configuration as a Manager does. It runs until
cancelled; the one shutdown path closes the sites' connections, then the server, then the store.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from app.api.enums import FarmStatus
from app.common.clock import Clock, SystemClock
from app.common.events import EventBus
from app.hub.config import HubConfig
from app.hub.job_book import JobBook
from app.hub.outbox import Outbox
from app.hub.shaman_relay import HubShaman, hub_shaman
from app.hub.site_reads import SiteReads
from app.hub.sites import SiteBook
from app.hub.task_feed import TaskFeed
from app.hub.tls import server_context
from app.manager.credentials.admin_token import ensure_admin_token
from app.manager.persistence import hub_records as records
from app.manager.persistence.db import Store
from app.manager.web.app import HttpServer

_log = logging.getLogger(__name__)


@dataclass
class HubServices:
    config: HubConfig
    clock: Clock
    store: Store
    sites: SiteBook
    outbox: Outbox
    jobs: JobBook
    shaman: HubShaman | None = None
    admin_token: str = ""
    reads: SiteReads = field(init=False)  # what pages read of a job's site through the hub
    feed: TaskFeed = field(init=False)  # the sites' task changes and followed logs, on the hub's stream

    def __post_init__(self) -> None:
        self.reads = SiteReads(self.jobs, self.sites)
        self.feed = TaskFeed(self.jobs, self.sites)

    async def waiting_counts(self) -> dict[str, int]:
        return await self.store.call(records.pending_counts)

    @property
    def bus(self) -> EventBus:
        return self.jobs.bus

    @property
    def status(self) -> FarmStatus:
        """The farm over all sites, from what each last said: `active` when any worker renders."""
        loads = [state.info.get("load") or {} for name, state in self.sites.states.items()
                 if self.sites.connection(name) is not None]
        if not loads:
            return FarmStatus.INOPERATIVE
        awake = sum(load.get("awake_workers", 0) for load in loads)
        if awake > sum(load.get("idle_workers", 0) for load in loads):
            return FarmStatus.ACTIVE
        if any(load.get("queued_tasks", 0) for load in loads):
            return FarmStatus.WAITING
        return FarmStatus.IDLE if awake else FarmStatus.ASLEEP


def build_hub(config: HubConfig, clock: Clock | None = None) -> HubServices:
    clock = clock or SystemClock()
    store = Store(config.manager.database_url)
    sites = SiteBook(config, store, clock)
    outbox = Outbox(store, clock, sites)
    shaman = hub_shaman(config.manager, store)
    hub = HubServices(config, clock, store, sites, outbox, JobBook(store, clock, sites, outbox, shaman), shaman)
    if config.path is not None:
        hub.admin_token = ensure_admin_token(config.manager.base_dir)
    return hub


class HubService:
    """Runs a hub until cancelled. `ready` is set once it listens; `port` is then known."""

    def __init__(self, config: HubConfig, clock: Clock | None = None):
        self.config = config
        self.services = build_hub(config, clock)
        self.ready = asyncio.Event()
        self.server: HttpServer | None = None

    @property
    def port(self) -> int:
        return self.server.port if self.server else 0

    async def run(self) -> None:
        from app.hub.web import create_hub_app

        hub = self.services
        await hub.store.open()
        try:
            await hub.sites.load()
            cfg = self.config.manager
            host, port = cfg.listen_host_port()
            self.server = HttpServer(create_hub_app(hub), host, port, idle_timeout=cfg.http_idle_timeout,
                                     header_timeout=cfg.http_header_timeout, body_timeout=cfg.http_body_timeout,
                                     max_connections=cfg.http_max_connections, ssl_context=server_context(cfg))
            await self.server.start()
            _log.info("hub listening on port %d for sites %s", self.port,
                      ", ".join(self.config.sites) or "(any site with a join token)")
            self.ready.set()
            async with asyncio.TaskGroup() as group:
                group.create_task(self.server.run(), name="http")
                if hub.shaman is not None:
                    group.create_task(hub.shaman.run(), name="shaman-gc")
        finally:
            for conn in list(hub.sites.connections.values()):
                await conn.ws.close(message=b"hub shutting down")
            if self.server is not None:
                await self.server.stop()
            await hub.store.close()
            _log.info("hub stopped")


async def add_site_offline(config: HubConfig, name: str) -> str:
    """`tablao hub add-site`: make a join token in the hub's store (the hub may be running: the
    store takes one writer at a time, and a running hub reads the new token on its next start
    or through POST /api/v3/tablao/hub/sites)."""
    hub = build_hub(config)
    await hub.store.open()
    try:
        await hub.sites.load()
        return await hub.sites.add(name)
    finally:
        await hub.store.close()

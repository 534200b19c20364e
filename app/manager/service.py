"""`ManagerService`: the Manager's composition root and lifecycle.

It builds every collaborator explicitly, opens the store (integrity check, migrations) before
listening, then runs the HTTP server and the background services in one TaskGroup until
cancelled. If any of them dies, the whole role stops: there is one shutdown path.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from app.api.events import LastRenderedUpdate, ManagerShuttingDown, ManagerStarted
from app.api.jobs import LastRenderedInfo
from app.common.clock import Clock, SystemClock
from app.common.events import EventBus
from app.manager.credentials.admin_token import ensure_admin_token
from app.manager.credentials.auth import CredentialCache
from app.manager.credentials.worker_keys import WorkerKeys
from app.manager.hub_link import attach_hub_link
from app.manager.jobs.job_eta import JobEtas
from app.manager.jobs.job_service import JobService
from app.manager.jobs.local_storage import LocalStorage
from app.manager.jobs.output_roots import OutputRoots
from app.manager.jobs.task_logs import TaskLogs
from app.manager.persistence import workers as workers_q
from app.manager.persistence.db import Store
from app.manager.persistence.reader import Reader
from app.manager.pictures.last_rendered import LastRendered
from app.manager.pictures.worker_frames import WorkerFrames
from app.manager.scheduling.background import (
    FarmStatusService,
    JobDeleter,
    SleepScheduler,
    TimeoutChecker,
    WalCheckpointer,
)
from app.manager.scheduling.waiters import Waiters
from app.manager.settings.config import ManagerConfig
from app.manager.settings.settings_service import SettingsService
from app.manager.settings.variables import Variables
from app.manager.state_machine.failures import FailurePolicy
from app.manager.state_machine.runner import StatusMachine
from app.manager.state_machine.tasks import unstick_jobs
from app.manager.state_machine.workers import WorkerStatusMachine
from app.manager.workers.worker_admin import WorkerAdmin
from app.manager.workers.worker_day import WorkerDays
from app.manager.workers.worker_sessions import WorkerSessions
from app.manager.workers.worker_vitals import WorkerVitalsBook

if TYPE_CHECKING:  # imported where they are built: the compiler loads a JS engine, the Shaman is optional
    from app.manager.job_compilers.compiler import JobCompiler
    from app.manager.lan.discovery import SsdpAdvertiser
    from app.manager.web.app import HttpServer
    from app.shaman.service import Shaman

_log = logging.getLogger(__name__)


class BackgroundService(Protocol):
    """A loop the Manager runs beside the HTTP server for as long as it serves (timeouts, deletions...)."""

    async def run(self) -> None: ...


@dataclass
class ManagerServices:
    """Everything the Manager is made of; built by `build_services`. Handlers should take the
    narrow service they need from their own app key (`web/keys.py`), not this whole bag."""

    config: ManagerConfig
    clock: Clock
    store: Store
    bus: EventBus
    waiters: Waiters
    machine: StatusMachine
    variables: Variables
    outputs: OutputRoots
    compiler: JobCompiler
    jobs: JobService
    sessions: WorkerSessions
    admin: WorkerAdmin
    creds: CredentialCache
    local_storage: LocalStorage
    task_logs: TaskLogs
    last_rendered: LastRendered
    farm_status: FarmStatusService
    settings: SettingsService
    vitals: WorkerVitalsBook
    days: WorkerDays
    etas: JobEtas
    reader: Reader
    shaman: Shaman | None = None
    shaman_routes: Callable[[web.Application], None] | None = None
    background: list[BackgroundService] = field(default_factory=list)
    # Beside the config file, never in it; "" means admin only from this machine (local trust).
    admin_token: str = ""

    @property
    def shaman_available(self) -> bool:
        return self.shaman is not None


def build_services(config: ManagerConfig, clock: Clock | None = None) -> ManagerServices:
    from app.common.paths import current_platform
    from app.manager.job_compilers.compiler import JobCompiler

    clock = clock or SystemClock()
    store = Store(config.database_url)
    reader = Reader(store)  # the dashboard's job answers and ETA readings, beside the farm's writes
    bus, waiters = EventBus(), Waiters()
    local_storage = LocalStorage(config.storage_dir)
    task_logs = TaskLogs(local_storage, max_bytes=config.task_log_max_bytes)
    machine = StatusMachine(store, bus, task_logs, waiters, clock)
    variables = Variables(config.variables, shared_storage_path=config.shared_storage_path,
                          shaman_enabled=config.shaman_enabled and bool(config.shared_storage_path))
    compiler = JobCompiler(config.scripts_dir, platform=current_platform())
    creds = CredentialCache()
    policy = FailurePolicy(config.blocklist_threshold, config.task_fail_after_softfail_count)
    statuses = WorkerStatusMachine()

    def on_rendered(job_id: str, info: dict[str, Any]) -> None:
        bus.emit(LastRenderedUpdate(job_id=job_id, thumbnail=LastRenderedInfo.from_json(info)))

    frames = WorkerFrames(local_storage)
    last_rendered = LastRendered(local_storage, on_processed=on_rendered, max_pixels=config.last_rendered_max_pixels,
                                 worker_frames=frames)
    vitals = WorkerVitalsBook(bus, clock, machine.last_seen)
    outputs = OutputRoots(config, variables)
    services = ManagerServices(
        config=config, clock=clock, store=store, bus=bus, waiters=waiters, machine=machine,
        variables=variables, outputs=outputs, compiler=compiler,
        jobs=JobService(machine, compiler, variables, outputs=outputs, reader=reader),
        sessions=WorkerSessions(machine, creds, variables, policy, max_wait_s=_max_hold(config),
                                statuses=statuses, scripts=config, outputs=outputs,
                                keys=WorkerKeys.kept_in(config.base_dir if config.path is not None else None)),
        admin=WorkerAdmin(machine, creds, statuses, vitals),
        creds=creds, local_storage=local_storage, task_logs=task_logs, last_rendered=last_rendered,
        farm_status=FarmStatusService(store, bus),
        settings=SettingsService(config, variables, bus, shaman_available=_shaman_wanted(config)),
        vitals=vitals, days=WorkerDays(machine, frames), etas=JobEtas(machine, reader=reader), reader=reader,
    )
    if config.path is not None:
        services.admin_token = ensure_admin_token(config.base_dir)
    _attach_shaman(services)
    services.jobs.checkouts = services.shaman  # submissions may only refer to its checkouts
    timeouts = TimeoutChecker(machine, config.task_timeout, config.worker_timeout, policy, statuses=statuses)
    services.settings.add_live_applier(_apply_live_settings(services, timeouts))
    services.background = [
        timeouts,
        JobDeleter(machine, _remove_job_files(services), _erase_checkout(services)),
        SleepScheduler(machine, statuses=statuses), services.farm_status, last_rendered,
    ]
    if store.is_sqlite:
        services.background.append(WalCheckpointer(store))
    if services.shaman is not None:
        services.background.append(services.shaman)
    attach_hub_link(services)  # a site of a hub keeps a link to it
    return services


def _apply_live_settings(services: ManagerServices, timeouts: TimeoutChecker):
    """What a replaced configuration changes at once: the failure policy and the timeouts."""
    def apply(config: ManagerConfig) -> None:
        policy = FailurePolicy(config.blocklist_threshold, config.task_fail_after_softfail_count)
        services.sessions.policy = timeouts.policy = policy
        timeouts.task_timeout, timeouts.worker_timeout = config.task_timeout, config.worker_timeout
    return apply


def _max_hold(config: ManagerConfig) -> float:
    """Longest a long-poll may be held: under half of any timeout, so a held worker is never late."""
    limits = [60.0] + [t / 2 for t in (config.worker_timeout, config.task_timeout) if t > 0]
    return max(0.2, min(limits))


def _shaman_wanted(cfg: ManagerConfig) -> bool:
    return bool(cfg.shaman_enabled and cfg.shared_storage_path)


def _attach_shaman(services: ManagerServices) -> None:
    cfg = services.config
    if not _shaman_wanted(cfg):
        return
    from pathlib import Path

    from app.shaman.config import LinkMode, ShamanConfig
    from app.shaman.service import Shaman
    from app.shaman.web import add_shaman_routes

    shaman_cfg = ShamanConfig(shared_storage=Path(cfg.shared_storage_path), enabled=True,
                              gc_period=cfg.shaman_gc_period, gc_max_age=cfg.shaman_gc_max_age,
                              link_mode=LinkMode(cfg.shaman_link_mode),
                              stale_upload_age=cfg.shaman_stale_upload_age)
    services.shaman = Shaman(shaman_cfg)
    services.shaman_routes = lambda app: add_shaman_routes(app, lambda: services.shaman)


def _remove_job_files(services: ManagerServices):
    async def remove(job_uuid: str) -> None:
        await services.task_logs.drain_job(job_uuid)
        await asyncio.to_thread(services.local_storage.remove_job_dir, job_uuid)
        await services.last_rendered.forget(job_uuid)
    return remove


def _erase_checkout(services: ManagerServices):
    async def erase(checkout_id: str) -> bool:
        if services.shaman is None:
            return False
        return await services.shaman.erase_checkout(checkout_id)
    return erase


class _Restart(Exception):
    """Ends the TaskGroup so `run` can return "restart"."""


class ManagerService:
    """Runs a Manager until cancelled. `ready` is set once it listens; `port` is then known."""

    def __init__(self, config: ManagerConfig, clock: Clock | None = None):
        self.config = config
        self.services = build_services(config, clock)
        self.ready = asyncio.Event()
        self.server: HttpServer | None = None
        self.advertiser: SsdpAdvertiser | None = None  # the UPnP/SSDP advertiser, when one runs

    @property
    def port(self) -> int:
        return self.server.port if self.server else 0

    async def run(self) -> bool:
        """Serve until cancelled; returns True when a restart was asked for (setup assistant)."""
        from app.manager.runtime.fd_limit import raise_open_file_limit
        from app.manager.runtime.gc_pace import pace_collector, pace_young_collections
        from app.manager.web.app import HttpServer, create_app

        services = self.services
        # The loop and the store thread hand the GIL back and forth on every request; Python's
        # default 5 ms switch interval turns that into convoys (measured: bench/farm.py claims).
        sys.setswitchinterval(0.0005)
        pace_collector()  # thousands of long-polls: the default pace spends a tenth of the CPU collecting
        raise_open_file_limit()  # before the server: its connection cap is computed from it
        await services.store.open()
        try:
            services.creds.load(await services.store.call(workers_q.all_credentials))
            await services.machine.run(unstick_jobs)
            host, port = self.config.listen_host_port()
            cfg = self.config
            self.server = HttpServer(
                create_app(services), host, port, idle_timeout=cfg.http_idle_timeout,
                header_timeout=cfg.http_header_timeout, body_timeout=cfg.http_body_timeout,
                max_connections=cfg.http_max_connections)
            await self.server.start()
            services.bus.emit(ManagerStarted(type="manager-startup"))
            _say_what_next(self.config, self.port)
            self.ready.set()
            restart = False
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.server.run(), name="http")
                    for svc in services.background:
                        group.create_task(svc.run(), name=type(svc).__name__)
                    group.create_task(self._restart_when_asked(), name="restart")
                    group.create_task(pace_young_collections(), name="gc-pace")
                    if self.config.autodiscoverable:
                        from app.manager.lan.discovery import advertiser_for

                        self.advertiser = advertiser_for(host, lambda: self.port, cfg.autodiscovery_port)
                        if self.advertiser is not None:
                            group.create_task(self.advertiser.run(), name="ssdp")
            except* _Restart:
                _log.info("restarting the manager with its new configuration")
                restart = True
            return restart
        finally:
            await self._shutdown()

    async def _restart_when_asked(self) -> None:
        await self.services.settings.restart_requested.wait()
        await asyncio.sleep(0.2)  # let the answer to the request that asked go out first
        raise _Restart()

    async def _shutdown(self) -> None:
        services = self.services
        services.bus.emit(ManagerShuttingDown())
        if self.server is not None:
            await self.server.stop()
        await services.waiters.work.close()
        services.vitals.close()
        await services.machine.drain()
        await services.task_logs.close()
        await services.compiler.close()
        await services.reader.close()
        await services.store.close()
        _log.info("manager stopped")


def _say_what_next(config: ManagerConfig, port: int) -> None:
    from app.manager.settings.guidance import guidance_lines

    for line in guidance_lines(config, port):
        _log.info("%s", line)

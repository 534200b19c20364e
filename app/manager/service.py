"""`ManagerService`: the Manager's composition root and lifecycle.

It builds every collaborator explicitly, opens the store (integrity check, migrations) before
listening, then runs the HTTP server and the background services in one TaskGroup until
cancelled. If any of them dies, the whole role stops: there is one shutdown path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app.common import events as ev
from app.common.clock import Clock, SystemClock
from app.common.events import EventBus
from app.manager.auth import CredentialCache
from app.manager.background import (
    FarmStatusService,
    JobDeleter,
    SleepScheduler,
    TimeoutChecker,
    WalCheckpointer,
)
from app.manager.config import ManagerConfig, save_config
from app.manager.job_service import JobService
from app.manager.last_rendered import LastRendered
from app.manager.local_storage import LocalStorage
from app.manager.persistence import workers as workers_q
from app.manager.persistence.db import Store
from app.manager.state_machine.failures import FailurePolicy
from app.manager.state_machine.runner import StatusMachine
from app.manager.state_machine.tasks import unstick_jobs
from app.manager.task_logs import TaskLogs
from app.manager.variables import Variables
from app.manager.waiters import Waiters
from app.manager.worker_admin import WorkerAdmin
from app.manager.worker_sessions import WorkerSessions

_log = logging.getLogger(__name__)


@dataclass
class ManagerServices:
    """Everything the HTTP layer may call; built by `build_services`."""

    config: ManagerConfig
    clock: Clock
    store: Store
    bus: EventBus
    waiters: Waiters
    machine: StatusMachine
    variables: Variables
    compiler: Any
    jobs: JobService
    sessions: WorkerSessions
    admin: WorkerAdmin
    creds: CredentialCache
    local_storage: LocalStorage
    task_logs: TaskLogs
    last_rendered: LastRendered
    farm_status: FarmStatusService
    shaman: Any = None
    shaman_routes: Callable[[web.Application], None] | None = None
    background: list[Any] = field(default_factory=list)
    restart_requested: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def shaman_available(self) -> bool:
        return self.shaman is not None

    async def update_variables(self, definitions: dict[str, Any]) -> None:
        """Validate and apply new variables, then save them to the config file."""
        self.variables.update_from_api(definitions)
        self.config.variables = self.variables.to_yaml_dict()
        if self.config.path is not None:
            await asyncio.to_thread(save_config, self.config)
        self.bus.publish(ev.CONFIG_DID_CHANGE, {"variables": self.config.variables})


    async def replace_config(self, raw: dict[str, Any]) -> None:
        """Validate a whole new config (as JSON), save it, and apply what can change live.

        Variables, timeouts and failure thresholds apply at once; `listen`, `database` and storage
        paths apply at the next start. Nothing is changed when validation fails.
        """
        from app.api.errors import BadRequest
        from app.manager.config import ConfigError, config_from_dict

        try:
            new = config_from_dict(raw, self.config.path)
        except ConfigError as exc:
            raise BadRequest(str(exc).split(": ", 1)[-1])
        self.variables.update_from_api(new.variables)  # raises InvalidVariables (400) first
        for key in ("manager_name", "task_timeout", "worker_timeout", "blocklist_threshold",
                    "task_fail_after_softfail_count", "access_token", "variables", "extra", "listen",
                    "database", "local_manager_storage_path", "shared_storage_path", "shaman_enabled",
                    "shaman_gc_period", "shaman_gc_max_age", "shaman_link_mode", "shaman_stale_upload_age",
                    "database_check_period", "autodiscoverable"):
            setattr(self.config, key, getattr(new, key))
        self.sessions.policy = FailurePolicy(new.blocklist_threshold, new.task_fail_after_softfail_count)
        for svc in self.background:
            if isinstance(svc, TimeoutChecker):
                svc.task_timeout, svc.worker_timeout, svc.policy = (
                    new.task_timeout, new.worker_timeout, self.sessions.policy)
        if self.config.path is not None:
            await asyncio.to_thread(save_config, self.config)
        self.bus.publish(ev.CONFIG_DID_CHANGE, {"variables": self.config.variables})


    async def save_setup(self, body: dict[str, Any]) -> None:
        """The setup assistant's choices: shared storage and Blender. Saved, then a restart."""
        from app.api.errors import BadRequest
        from app.manager.storage_check import check_storage

        storage = body.get("storageLocation")
        blender = body.get("blenderExecutable")
        if not isinstance(storage, str) or not isinstance(blender, dict):
            raise BadRequest("expected {storageLocation, blenderExecutable: {input, path, source, ...}}")
        report = await asyncio.to_thread(check_storage, storage, self.config.shaman_enabled,
                                         protected_dirs=self.config.own_dirs)
        if not report.is_usable:
            raise BadRequest(f"the shared storage cannot be used: {report.cause}")
        command = _blender_command(blender)
        # Written to disk only: the running Manager keeps its config until the restart reads it.
        new = dataclasses.replace(self.config, shared_storage_path=storage, variables={
            **self.config.variables,
            "blender": {"values": [{"platform": p, "value": command} for p in ("linux", "windows", "darwin")]},
            "blenderArgs": {"values": [{"platform": "all", "value": "-b -y"}]},
        })
        if new.path is None:
            raise BadRequest("this Manager runs without a config file; nothing to save the setup to")
        await asyncio.to_thread(save_config, new)
        self.restart_requested.set()


def _blender_command(blender: dict[str, Any]) -> str:
    from app.api.errors import BadRequest

    source = blender.get("source")
    if source in ("file_association", "default"):
        return "blender"
    value = blender.get("input") if source == "path_envvar" else blender.get("path") or blender.get("input")
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("blenderExecutable needs the `path` (or `input`) of the Blender to use")
    return value.strip()


def build_services(config: ManagerConfig, clock: Clock | None = None) -> ManagerServices:
    from app.common.paths import current_platform
    from app.manager.job_compilers.compiler import JobCompiler

    clock = clock or SystemClock()
    store = Store(config.database_url)
    bus, waiters = EventBus(), Waiters()
    local_storage = LocalStorage(config.storage_dir)
    task_logs = TaskLogs(local_storage, max_bytes=config.task_log_max_bytes)
    machine = StatusMachine(store, bus, task_logs, waiters, clock)
    variables = Variables(config.variables, shared_storage_path=config.shared_storage_path,
                          shaman_enabled=config.shaman_enabled and bool(config.shared_storage_path))
    compiler = JobCompiler(config.scripts_dir, platform=current_platform())
    creds = CredentialCache()
    policy = FailurePolicy(config.blocklist_threshold, config.task_fail_after_softfail_count)

    def on_rendered(job_id: str, info: dict[str, Any]) -> None:
        bus.publish(ev.LAST_RENDERED_DID_CHANGE, {"job_id": job_id, "thumbnail": info})

    last_rendered = LastRendered(local_storage, on_processed=on_rendered)
    services = ManagerServices(
        config=config, clock=clock, store=store, bus=bus, waiters=waiters, machine=machine,
        variables=variables, compiler=compiler, jobs=JobService(machine, compiler, variables),
        sessions=WorkerSessions(machine, creds, variables, policy, max_wait_s=_max_hold(config)),
        admin=WorkerAdmin(machine, creds),
        creds=creds, local_storage=local_storage, task_logs=task_logs, last_rendered=last_rendered,
        farm_status=FarmStatusService(store, bus),
    )
    _attach_shaman(services)
    services.background = [
        TimeoutChecker(machine, config.task_timeout, config.worker_timeout, policy),
        JobDeleter(machine, _remove_job_files(services), _erase_checkout(services)),
        SleepScheduler(machine), services.farm_status, last_rendered,
    ]
    if store.is_sqlite:
        services.background.append(WalCheckpointer(store))
    if services.shaman is not None and hasattr(services.shaman, "run"):
        services.background.append(services.shaman)
    return services


def _max_hold(config: ManagerConfig) -> float:
    """Longest a long-poll may be held: under half of any timeout, so a held worker is never late."""
    limits = [60.0] + [t / 2 for t in (config.worker_timeout, config.task_timeout) if t > 0]
    return max(0.2, min(limits))


def _attach_shaman(services: ManagerServices) -> None:
    cfg = services.config
    if not (cfg.shaman_enabled and cfg.shared_storage_path):
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
    async def erase(checkout_id: str) -> None:
        if services.shaman is not None:
            await services.shaman.erase_checkout(checkout_id)
    return erase


class _Restart(Exception):
    """Ends the TaskGroup so `run` can return "restart"."""


async def run_manager(config_path, listen: str | None = None) -> int:
    """Run the Manager from its config file, restarting in-process when asked (setup assistant)."""
    from app.manager.config import load_config

    while True:
        config = load_config(config_path)
        if listen:
            config.listen = listen
        if not await ManagerService(config).run():
            return 0


class ManagerService:
    """Runs a Manager until cancelled. `ready` is set once it listens; `port` is then known."""

    def __init__(self, config: ManagerConfig, clock: Clock | None = None):
        self.config = config
        self.services = build_services(config, clock)
        self.ready = asyncio.Event()
        self.server = None

    @property
    def port(self) -> int:
        return self.server.port if self.server else 0

    async def run(self) -> bool:
        """Serve until cancelled; returns True when a restart was asked for (setup assistant)."""
        from app.manager.fd_limit import raise_open_file_limit
        from app.manager.web.app import HttpServer, create_app

        services = self.services
        # The loop and the store thread hand the GIL back and forth on every request; Python's
        # default 5 ms switch interval turns that into convoys (measured: bench/farm.py claims).
        sys.setswitchinterval(0.0005)
        raise_open_file_limit()  # before the server: its connection cap is computed from it
        await services.store.open()
        try:
            services.creds.load(await services.store.call(workers_q.all_credentials))
            await services.machine.run(unstick_jobs)
            host, port = self.config.listen_host_port()
            self.server = HttpServer(create_app(services), host, port)
            await self.server.start()
            services.bus.publish(ev.MANAGER_DID_START, {"type": "manager-startup"})
            self.ready.set()
            restart = False
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.server.run(), name="http")
                    for svc in services.background:
                        group.create_task(svc.run(), name=type(svc).__name__)
                    group.create_task(self._restart_when_asked(), name="restart")
            except* _Restart:
                _log.info("restarting the manager with its new configuration")
                restart = True
            return restart
        finally:
            await self._shutdown()

    async def _restart_when_asked(self) -> None:
        await self.services.restart_requested.wait()
        await asyncio.sleep(0.2)  # let the answer to the request that asked go out first
        raise _Restart()

    async def _shutdown(self) -> None:
        services = self.services
        services.bus.publish(ev.MANAGER_WILL_SHUT_DOWN, {"type": "manager-shutdown"})
        if self.server is not None:
            await self.server.stop()
        await services.waiters.work.close()
        await services.machine.drain()
        await services.task_logs.close()
        close = getattr(services.compiler, "close", None)
        if close is not None:
            await close()
        await services.store.close()
        _log.info("manager stopped")

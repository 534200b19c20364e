"""The roles this computer runs inside the desktop app, on the app's own asyncio loop.

The Manager and the Worker each run under their own `app.runtime.Runner`, so switching between
Manager and Worker mode starts or stops the Worker without touching the Manager, and the setup
wizard's apply restarts the Manager in place (the Runner does that when the setup assistant asks).

On first launch the Manager runs for the wizard's checks on a temporary address (127.0.0.1, a
port the system picks: nothing is open to the network), and `relisten(port)` moves it to the
address the lead chose, written to its config file while it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from app.manager.settings.config import default_config_path, load_config, save_config
from app.ui.aio import spawn

#: Where the Manager listens while the first-launch wizard asks its questions.
WIZARD_LISTEN = "127.0.0.1:0"

if TYPE_CHECKING:
    from app.manager.service import ManagerService
    from app.runtime import Runner

_log = logging.getLogger(__name__)


class LocalServices:
    def __init__(self, manager_config_path: Path | None = None, worker_config_path: Path | None = None,
                 listen: str | None = None):
        self.manager_config_path = manager_config_path or default_config_path()
        self.worker_config_path = worker_config_path
        self.listen = listen  # from the command line (`--listen`) or a test: wins over the file
        self._temporary_listen: str | None = None  # the wizard's address, while it asks
        self.manager_runner: Runner | None = None
        self.worker_runner: Runner | None = None
        self._tasks: dict[str, asyncio.Task] = {}

    # --- Manager ---------------------------------------------------------------------------------
    def _manager_config(self):
        cfg = load_config(self.manager_config_path)
        if self._temporary_listen or self.listen:
            cfg.listen_override = self._temporary_listen or self.listen or ""
        return cfg

    async def start_manager(self, timeout_s: float = 60.0, temporary_listen: str | None = None) -> str:
        """Start the local Manager (once); return the URL a client on this computer uses.

        `temporary_listen`: an address for this run only (the wizard's). Raises `PortInUse` when
        its port is taken, leaving nothing started."""
        from app.runtime import Runner

        runner = self.manager_runner
        if runner is None:
            self._temporary_listen = temporary_listen
            runner = self.manager_runner = Runner(manager_config=self._manager_config)
            self._tasks["manager"] = asyncio.create_task(runner.run())
        started = asyncio.create_task(runner.started.wait())
        done, _ = await asyncio.wait({started, self._tasks["manager"]}, timeout=timeout_s,
                                     return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if self._tasks["manager"] in done:
            self.manager_runner, self._temporary_listen = None, None
            self._tasks.pop("manager").result()  # raises why it could not start
            raise RuntimeError("the Manager stopped while starting")
        if not runner.started.is_set():
            raise TimeoutError("the Manager did not start within a minute")
        return self.manager_url

    async def stop_manager(self) -> None:
        runner, self.manager_runner = self.manager_runner, None
        task = self._tasks.pop("manager", None)
        if runner is not None and task is not None:
            runner.request_stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
        self._temporary_listen = None

    @property
    def on_temporary_address(self) -> bool:
        return self.manager_running and self._temporary_listen is not None

    @property
    def listen_given(self) -> bool:
        """The listen address comes from the command line: the wizard does not ask for a port."""
        return bool(self.listen)

    def listen_host_port(self) -> tuple[str, int]:
        """Where the Manager listens once set up: the command line's address, else its file's."""
        cfg = load_config(self.manager_config_path)
        if self.listen:
            cfg.listen_override = self.listen
        return cfg.listen_host_port()

    def save_listen_port(self, port: int) -> None:
        """Write `port` into the Manager's config file, keeping its host (the Manager reads it at start)."""
        cfg = load_config(self.manager_config_path)
        self._save_listen(f"{cfg.listen.rpartition(':')[0]}:{port}")

    def _save_listen(self, listen: str) -> None:
        cfg = load_config(self.manager_config_path)
        cfg.listen = listen
        save_config(cfg)

    async def relisten(self, port: int | None) -> str:
        """Start the Manager again where it listens once set up, on `port` when given (written to its
        file); returns its local URL. When that fails (`PortInUse`), the Manager is started again where
        it was (the same temporary port, the file as it was) and the error raised."""
        back_to: str | None
        if self.on_temporary_address:
            back_to = f"127.0.0.1:{self.local_manager().port}"
        else:
            back_to = self._temporary_listen
        saved = load_config(self.manager_config_path).listen
        await self.stop_manager()
        if port is not None and not self.listen:
            self.save_listen_port(port)
        try:
            return await self.start_manager()
        except OSError:
            self._save_listen(saved)
            await self.start_manager(temporary_listen=back_to)
            raise

    @property
    def public_url(self) -> str:
        """The URL other computers use for the local Manager (a LAN address when it listens on all)."""
        from app.manager.settings.guidance import manager_urls

        manager = self.local_manager()
        return manager_urls(manager.config, manager.port)[0]

    @property
    def manager_url(self) -> str:
        return f"http://127.0.0.1:{self.local_manager().port}"

    def local_manager(self) -> ManagerService:
        """The local Manager; only asked for once it runs (`manager_running`, or just started)."""
        assert self.manager_runner is not None and self.manager_runner.manager is not None
        return self.manager_runner.manager

    @property
    def admin_token(self) -> str:
        """The admin token of the Manager running here ("" when none): its clients in this app send it."""
        from app.common.credentials import read_local_admin_token

        if self.manager_runner is not None and self.manager_runner.manager is not None:
            return self.manager_runner.manager.services.admin_token
        return read_local_admin_token(self.manager_config_path.parent) or ""

    @property
    def manager_running(self) -> bool:
        return self.manager_runner is not None and self.manager_runner.started.is_set()

    # --- Worker ----------------------------------------------------------------------------------
    def start_worker(self, manager_url: str, rediscover: bool = False) -> None:
        """Run the worker for `manager_url`; `rediscover`: it was found on the network, so a lost
        Manager is looked for there again (also when the worker's settings say so)."""
        from app.runtime import Runner
        from app.worker.config import WorkerConfig

        if self.worker_runner is not None:
            return

        def worker_config(_local: str | None):
            return WorkerConfig.load(self.worker_config_path, manager_url=manager_url,
                                     rediscover_manager=True if rediscover else None)

        runner = self.worker_runner = Runner(worker_config=worker_config)
        task = spawn(runner.run())  # None once the app's loop has closed
        if task is not None:
            self._tasks["worker"] = task

    async def stop_worker(self) -> None:
        runner, self.worker_runner = self.worker_runner, None
        task = self._tasks.pop("worker", None)
        if runner is not None and task is not None:
            runner.request_stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)

    @property
    def worker_running(self) -> bool:
        return self.worker_runner is not None

    @property
    def worker_name(self) -> str:
        from app.worker.config import ConfigError, WorkerConfig

        try:
            return WorkerConfig.load(self.worker_config_path).worker_name
        except ConfigError:
            return WorkerConfig().worker_name

    # --- the farm, for Quit ---------------------------------------------------------------------
    async def activity(self):
        """What the local Manager has going on (`app.manager.scheduling.activity.FarmActivity`); None without one."""
        from app.manager.scheduling.activity import farm_activity

        if not self.manager_running:
            return None
        return await farm_activity(self.local_manager().services)

    async def drain(self, progress=None) -> None:
        """Hand out no new task and return once the running ones are done (at once without a Manager)."""
        from app.manager.scheduling.activity import drain

        if self.manager_running:
            await drain(self.local_manager().services, progress=progress)

    async def stop(self) -> None:
        """Worker first (it signs off while its Manager still listens), then the Manager."""
        await self.stop_worker()
        await self.stop_manager()

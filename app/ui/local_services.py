"""The roles this computer runs inside the desktop app, on the app's own asyncio loop.

The Manager and the Worker each run under their own `app.runtime.Runner`, so switching between
Manager and Worker mode starts or stops the Worker without touching the Manager, and the setup
wizard's apply restarts the Manager in place (the Runner does that when the setup assistant asks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from app.manager.config import default_config_path, load_config
from app.ui.aio import spawn

_log = logging.getLogger(__name__)


class LocalServices:
    def __init__(self, manager_config_path: Path | None = None, worker_config_path: Path | None = None,
                 listen: str | None = None):
        self.manager_config_path = manager_config_path or default_config_path()
        self.worker_config_path = worker_config_path
        self.listen = listen
        self.manager_runner = None
        self.worker_runner = None
        self._tasks: dict[str, asyncio.Task] = {}

    # --- Manager ---------------------------------------------------------------------------------
    def _manager_config(self):
        cfg = load_config(self.manager_config_path)
        if self.listen:
            cfg.listen_override = self.listen
        return cfg

    async def start_manager(self, timeout_s: float = 60.0) -> str:
        """Start the local Manager (once); return the URL a client on this computer uses."""
        from app.runtime import Runner

        if self.manager_runner is None:
            self.manager_runner = Runner(manager_config=self._manager_config)
            self._tasks["manager"] = spawn(self.manager_runner.run())
        runner = self.manager_runner
        started = spawn(runner.started.wait())
        done, _ = await asyncio.wait({started, self._tasks["manager"]}, timeout=timeout_s,
                                     return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if self._tasks["manager"] in done:
            self._tasks.pop("manager").result()  # raises why it could not start
            self.manager_runner = None
            raise RuntimeError("the Manager stopped while starting")
        if not runner.started.is_set():
            raise TimeoutError("the Manager did not start within a minute")
        return self.manager_url

    @property
    def manager_url(self) -> str:
        assert self.manager_runner is not None and self.manager_runner.manager is not None
        return f"http://127.0.0.1:{self.manager_runner.manager.port}"

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

        self.worker_runner = Runner(worker_config=worker_config)
        self._tasks["worker"] = spawn(self.worker_runner.run())

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

    async def stop(self) -> None:
        """Worker first (it signs off while its Manager still listens), then the Manager."""
        await self.stop_worker()
        runner, self.manager_runner = self.manager_runner, None
        task = self._tasks.pop("manager", None)
        if runner is not None and task is not None:
            runner.request_stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)

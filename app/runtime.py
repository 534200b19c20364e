"""Running the roles of this process: the one runner, and the headless entry around it. No Qt here.

`Runner` starts the Manager and/or the Worker in the running event loop, restarts them (after a
configuration change, or when the Manager's setup assistant asks) and stops them, always down one
path: the worker stops first (it signs off while its Manager is still there), then the Manager.
It never starts or ends an event loop itself, so `tablao manager|worker|all --headless` runs it
under `asyncio.run` (`run_headless`) and the desktop app runs the very same object in its qasync
loop, calling `request_restart()` after its settings dialog and `request_stop()` from its Quit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.manager.service import ManagerService
    from app.manager.settings.config import ManagerConfig
    from app.worker.config import WorkerConfig

_log = logging.getLogger(__name__)

#: Loads the Manager's configuration afresh (from its file, with command-line overrides).
ManagerConfigLoader = Callable[[], "ManagerConfig"]
#: Loads the Worker's configuration afresh; gets this process's Manager URL when there is one.
WorkerConfigLoader = Callable[[str | None], "WorkerConfig"]


class _Restart(Exception):
    """A role asked for a restart (internal to `Runner`)."""


class Runner:
    """Runs the roles of this process until stopped; `run()` returns the process exit code.

    With both loaders (`tablao all`) the Manager starts first and the Worker only once the
    Manager listens, pointed at it. Every (re)start reads the configurations again. The run ends
    when `request_stop()` is called (exit code 0), when the Worker ends (its exit code: the
    Manager sent it offline or to restart), or when a role fails (the exception propagates,
    after the other role was stopped). Configuration errors at a restart propagate too.
    """

    def __init__(self, *, manager_config: ManagerConfigLoader | None = None,
                 worker_config: WorkerConfigLoader | None = None):
        if manager_config is None and worker_config is None:
            raise ValueError("a runner needs a Manager, a Worker, or both")
        self._manager_config, self._worker_config = manager_config, worker_config
        self._stop = asyncio.Event()
        self._restart = asyncio.Event()
        self._pinned_listen: str | None = None
        #: The running Manager, while there is one (its `port`, its `services`).
        self.manager: ManagerService | None = None
        #: Set while every role of this run has started; cleared while (re)starting or stopping.
        self.started = asyncio.Event()
        #: How many times the roles were started (1 after the first start).
        self.starts = 0

    def request_restart(self) -> None:
        """Stop the roles and start them again with freshly read configurations."""
        self._restart.set()

    def request_stop(self) -> None:
        """Stop the roles; `run()` then returns 0."""
        self._stop.set()

    async def run(self) -> int:
        """Run until stopped; see the class docstring for the exit code."""
        while True:
            if self._stop.is_set():
                return 0
            self._restart.clear()
            try:
                return await self._run_once()
            except _Restart:
                _log.info("restarting with the configuration as it is now")

    async def _run_once(self) -> int:
        roles: dict[str, asyncio.Task] = {}
        waits = {asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(self._restart.wait())}
        try:
            manager_url = None
            if self._manager_config is not None:
                roles["manager"] = self._spawn_manager()
                assert self.manager is not None
                ready = asyncio.ensure_future(self.manager.ready.wait())
                try:
                    done, _ = await asyncio.wait({ready, *roles.values(), *waits},
                                                 return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ready.cancel()
                if not self.manager.ready.is_set():  # it failed, or a stop came first
                    return self._outcome(done, roles)
                manager_url = self._manager_url()
            if self._worker_config is not None:
                from app.worker.service import run_worker

                worker_config = self._worker_config(manager_url)
                roles["worker"] = asyncio.create_task(run_worker(worker_config), name="worker")
            self.starts += 1
            self.started.set()
            done, _ = await asyncio.wait({*roles.values(), *waits}, return_when=asyncio.FIRST_COMPLETED)
            return self._outcome(done, roles)
        finally:
            self.started.clear()
            for fut in waits:
                fut.cancel()
            await _stop_roles(roles)
            self.manager = None

    def _spawn_manager(self) -> asyncio.Task:
        from app.manager.service import ManagerService

        assert self._manager_config is not None
        config = self._manager_config()
        host, port = config.listen_host_port()
        if port == 0 and self._pinned_listen:
            config.listen_override = self._pinned_listen  # a restart keeps the port the first start picked
        self.manager = ManagerService(config)
        return asyncio.create_task(self.manager.run(), name="manager")

    def _manager_url(self) -> str:
        """Where this process's Worker finds this process's Manager."""
        assert self.manager is not None
        host, port = self.manager.config.listen_host_port()
        if port == 0:
            self._pinned_listen = f"{host}:{self.manager.port}"
        local = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        return f"http://{f'[{local}]' if ':' in local else local}:{self.manager.port}/"

    def _outcome(self, done: Collection[asyncio.Future], roles: dict[str, asyncio.Task]) -> int:
        """The exit code once something in `done` ended the run; raises `_Restart` for a restart."""
        for name, task in list(roles.items()):
            if task in done:
                del roles[name]  # its result is used here, not awaited again when stopping
                return self._role_ended(name, task)
        if self._stop.is_set():
            return 0
        raise _Restart()

    @staticmethod
    def _role_ended(name: str, task: asyncio.Task) -> int:
        result = task.result()  # raises the role's exception
        if name == "manager":
            if result:  # the Manager asked for a restart (setup assistant)
                raise _Restart()
            _log.warning("the manager stopped by itself")
            return 1
        _log.info("worker ended with exit code %s", result)
        return int(result or 0)


async def _stop_roles(roles: dict[str, asyncio.Task]) -> None:
    """Stop the worker first (it signs off from a Manager that is still there), then the Manager."""
    for name in ("worker", "manager"):
        task = roles.get(name)
        if task is None:
            continue
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - the run already has its outcome; do not mask it
            _log.exception("%s failed while stopping", name)


def run_headless(main: Callable[[], Awaitable[int | None]], *, stop: Callable[[], None] | None = None,
                 restart: Callable[[], None] | None = None) -> int:
    """Run `main()` under `asyncio.run` until it returns; return its exit code.

    SIGINT/SIGTERM call `stop()` (a second one cancels `main` outright); without `stop` they
    cancel `main`. SIGHUP calls `restart()` when given (re-read the configuration, as daemons do).
    """

    async def runner() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(main())
        stopping: dict[str, int | None] = {"signal": None}

        def on_signal(signum: int) -> None:
            if stopping["signal"] is None and stop is not None:
                _log.info("received %s, shutting down", signal.Signals(signum).name)
                stopping["signal"] = signum
                stop()
            elif not task.done():
                if stopping["signal"] is None:
                    _log.info("received %s, shutting down", signal.Signals(signum).name)
                stopping["signal"] = signum
                task.cancel()

        def on_hangup() -> None:
            _log.info("received SIGHUP, restarting")
            assert restart is not None
            restart()

        handlers: list[tuple[signal.Signals, Callable[..., None], tuple[Any, ...]]] = [
            (sig, on_signal, (sig,)) for sig in (signal.SIGINT, signal.SIGTERM)]
        if restart is not None and hasattr(signal, "SIGHUP"):
            handlers.append((signal.SIGHUP, on_hangup, ()))
        for sig, handler, args in handlers:
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt still works
                loop.add_signal_handler(sig, handler, *args)
        try:
            result = await task
            return int(result or 0)
        except asyncio.CancelledError:
            return 0 if stopping["signal"] is not None else 1

    try:
        return asyncio.run(runner())
    except KeyboardInterrupt:
        return 0

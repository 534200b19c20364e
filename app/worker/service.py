"""The worker's composition root: builds every collaborator and runs them until the worker stops.

`run_worker(config)` wires the HTTP client, the upstream buffer (with its background flusher), the
last-rendered uploader, the vitals reporter, the task runner and the state machine; it returns the process exit code
when the Manager sends the worker offline (0) or to restart (`restart_exit_code`). When the caller
cancels it (SIGINT/SIGTERM), a running task is aborted (its processes killed), queued updates get
5 s to reach the Manager, the worker signs off (3 s limit), and the cancellation propagates.
`flush_and_exit(config)` is the `--flush-updates` one-shot.
"""

from __future__ import annotations

import asyncio
import logging

from app.api.enums import WorkerStatus
from app.common.manager_proof import same_address
from app.worker.aiotools import cancel_and_wait
from app.worker.blender_version import BlenderVersion
from app.worker.client import ManagerRejected, ManagerUnreachable, WorkerClient
from app.worker.config import Credentials, WorkerConfig, load_credentials
from app.worker.manager_check import recognised
from app.worker.output_uploader import OutputUploader
from app.worker.rediscovery import ManagerFinder
from app.worker.sandbox import Sandbox
from app.worker.state_machine import Timings, WorkerStateMachine
from app.worker.task_runner import TaskRunner
from app.worker.upstream_buffer import UpstreamBuffer
from app.worker.vitals import RenderProgress, VitalsReporter
from app.worker.warm.pool import WarmBlenders

_log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 5.0
SIGN_OFF_TIMEOUT_S = 3.0
#: Exit code when the configuration cannot work (same spirit as argparse's usage errors).
EXIT_CONFIG_ERROR = 2


class WorkerService:
    """Owns the worker's collaborators and their lifecycle. `run()` returns the exit code."""

    def __init__(self, config: WorkerConfig, timings: Timings | None = None):
        self.config = config
        self.client = WorkerClient(config.manager_url)
        self.buffer = UpstreamBuffer(self.client, config.queue_db_path)
        self.uploader = OutputUploader(self.client)
        self.sandbox = Sandbox(config)
        self.warm = WarmBlenders(config, self.sandbox)
        self.progress = RenderProgress()
        self.runner = TaskRunner(self.buffer, config, self.uploader, warm=self.warm, sandbox=self.sandbox,
                                 progress=self.progress)
        self.machine = WorkerStateMachine(self.client, config, self.runner, timings,
                                          on_asleep=lambda: self.warm.release("the worker is asleep"))
        every = config.vitals_every_s
        self.vitals = VitalsReporter(self.client, self.progress, BlenderVersion(config.blender_exe), self._busy,
                                     every_s=every, asleep_every_s=6 * every) if every > 0 else None
        self.finder = ManagerFinder(self.client, lost_after_s=config.rediscover_after_s,
                                    targets=_targets(config), credentials_path=config.credentials_path
                                    ) if config.rediscover_manager else None

    async def run(self) -> int:
        # Queued updates from an earlier run may be flushed before sign-on finishes; they need these,
        # but only where they were last used: elsewhere sign-on has the Manager prove itself first.
        self.client.credentials = usable_at(self.config.manager_url, load_credentials(self.config.credentials_path))
        await self.buffer.open()
        background = [
            asyncio.create_task(self.buffer.run(), name="upstream-flusher"),
            asyncio.create_task(self.uploader.run(), name="output-uploader"),
        ]
        if self.vitals is not None:
            background.append(asyncio.create_task(self.vitals.run(), name="vitals"))
        if self.finder is not None:
            background.append(asyncio.create_task(self.finder.run(), name="manager-finder"))
        try:
            code = await self.machine.run()
            _log.info("worker stopping with exit code %d", code)
            return code
        finally:
            # One shutdown path, for "offline"/"restart" and for cancellation (signals) alike.
            await cancel_and_wait(*background)
            await self.warm.close()
            await self._shutdown()

    def _busy(self) -> bool:
        """Awake or rendering: the vitals go out often."""
        return self.machine.status == WorkerStatus.AWAKE or self.machine.current_task is not None

    async def _shutdown(self) -> None:
        # Flush first: a completed-status update still in the queue must land before sign-off,
        # or the Manager would requeue a task this worker already finished.
        if not await self.buffer.flush(FLUSH_TIMEOUT_S):
            _log.warning("could not deliver all queued task updates; they stay queued for the next start")
        if self.machine.signed_on:
            await self._sign_off()
        await self.buffer.close()
        await self.client.close()

    async def _sign_off(self) -> None:
        try:
            async with asyncio.timeout(SIGN_OFF_TIMEOUT_S):
                await self.client.sign_off()
            _log.info("signed off")
        except (TimeoutError, ManagerUnreachable, ManagerRejected) as exc:
            _log.warning("could not sign off: %s", exc or type(exc).__name__)


def usable_at(url: str, creds: Credentials | None) -> Credentials | None:
    """`creds` when they may go to `url` without the Manager proving itself first, else None."""
    if creds is None or not creds.manager_url or same_address(creds.manager_url, url):
        return creds
    return None


def _targets(config: WorkerConfig) -> list[tuple[str, int]] | None:
    """Where the search goes: the configured places, or None (the SSDP multicast group)."""
    from app.common.discovery import parse_target

    return [parse_target(t) for t in config.discovery_targets] or None


async def run_worker(config: WorkerConfig) -> int:
    """Run a worker until the Manager sends it offline (returns 0) or to restart (restart_exit_code).

    Cancelling the coroutine shuts the worker down cleanly and re-raises `CancelledError`.
    Returns `EXIT_CONFIG_ERROR` without starting when no Manager URL is configured.
    """
    if not config.manager_url:
        _log.error("no manager URL configured; set manager_url in the worker config or pass --manager")
        return EXIT_CONFIG_ERROR
    _log.info(
        "worker %r starting; manager %s; data in %s", config.worker_name, config.manager_url, config.data_dir
    )
    return await WorkerService(config).run()


async def flush_and_exit(config: WorkerConfig, timeout_s: float = 30.0) -> int:
    """Deliver queued task updates and return: 0 when the queue is empty, 1 when some remain."""
    if not config.manager_url:
        _log.error("no manager URL configured; set manager_url in the worker config or pass --manager")
        return EXIT_CONFIG_ERROR
    creds = load_credentials(config.credentials_path)
    # Not where they were last used: the Manager there proves itself first, or gets nothing.
    if (creds is not None and usable_at(config.manager_url, creds) is None
            and not await recognised(config.manager_url, creds)):
        creds = None
    async with WorkerClient(config.manager_url, creds) as client:
        buffer = UpstreamBuffer(client, config.queue_db_path)
        await buffer.open()
        try:
            pending = await buffer.queue_size()
            if pending == 0:
                _log.info("no queued task updates")
                return 0
            if client.credentials is None:
                _log.error("%d task updates are queued but there are no worker credentials for the manager "
                           "at %s", pending, config.manager_url)
                return 1
            _log.info("delivering %d queued task updates to %s", pending, config.manager_url)
            if await buffer.flush(timeout_s):
                _log.info("all queued task updates delivered")
                return 0
            _log.error("%d task updates are still queued", await buffer.queue_size())
            return 1
        finally:
            await buffer.close()

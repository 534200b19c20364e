"""Running one assigned task: its commands in order, with status, progress and logs to the Manager.

Owns the task-level protocol: `{taskStatus: active, activity: "Started"}` first; per command an
activity, a log header and footer, and the running step count; `{taskStatus: failed, activity:
"Failed: <msg>", log}` on the first error (an unknown command is an error too); and
`{taskStatus: completed, activity: "Completed"}` at the end, with the render time and peak memory
Blender printed (`render_time_s`, `peak_memory_mb`) where its commands saw them. Pending log lines are flushed at the
end of every command, before any final status. When the Manager answers 404/409 the task is no
longer ours and the runner stops without sending anything more.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import traceback
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.api.enums import TaskStatus
from app.api.models import AssignedTask, WorkerTaskUpdate
from app.worker.aiotools import cancel_and_wait
from app.worker.commands.base import CommandContext, CommandError, OutputSink, format_duration
from app.worker.commands.registry import find_command
from app.worker.config import WorkerConfig
from app.worker.render_stats import RenderStats
from app.worker.sandbox import Sandbox
from app.worker.task_reporter import TaskReporter, UpdateSink
from app.worker.upstream_buffer import SendResult

if TYPE_CHECKING:
    from app.worker.vitals import RenderProgress
    from app.worker.warm.pool import WarmBlenders

_log = logging.getLogger(__name__)


class TaskOutcome(enum.Enum):
    COMPLETED = "completed"
    FAILED = "failed"
    #: The Manager took the task away (404/409); nothing more was sent about it.
    ABORTED = "aborted"


class _TaskTakenAway(Exception):
    pass


@dataclass
class TaskRunner:
    """Runs tasks one at a time. Cancel the coroutine to abort (child processes are killed)."""

    sink: UpdateSink
    config: WorkerConfig
    outputs: OutputSink | None = None
    max_log_bytes: int = 8 * 1024
    max_log_age_s: float = 1.0
    warm: WarmBlenders | None = None
    #: Confines Blender and FFmpeg; None: one made from the config, shared by this runner's tasks.
    sandbox: Sandbox | None = None
    #: Where the running render is, for the worker's vitals; None: not followed.
    progress: RenderProgress | None = None

    def __post_init__(self) -> None:
        if self.sandbox is None:
            self.sandbox = Sandbox(self.config)

    async def run(self, task: AssignedTask) -> TaskOutcome:
        try:
            return await self._run(task)
        finally:
            if self.progress is not None:
                self.progress.clear()

    async def _run(self, task: AssignedTask) -> TaskOutcome:
        _log.info(
            "task %s (%s, job %s): starting %d commands", task.uuid, task.name, task.job, len(task.commands)
        )
        reporter = TaskReporter(
            self.sink, task.uuid, max_log_bytes=self.max_log_bytes, max_log_age_s=self.max_log_age_s
        )
        stats = RenderStats()
        async with reporter:
            try:
                await self._send(reporter, WorkerTaskUpdate(TaskStatus.ACTIVE, activity="Started"))
                await self._run_commands(task, reporter, stats)
            except _TaskTakenAway:
                _log.info("task %s: manager took the task away; stopping", task.uuid)
                return TaskOutcome.ABORTED
            except CommandError as exc:
                return await self._fail(task, reporter, str(exc))
            try:
                await self._send(reporter, WorkerTaskUpdate(
                    TaskStatus.COMPLETED, activity="Completed", render_time_s=stats.fields().get("render_time_s"),
                    peak_memory_mb=stats.fields().get("peak_memory_mb")))
            except _TaskTakenAway:
                return TaskOutcome.ABORTED
        _log.info("task %s: completed", task.uuid)
        return TaskOutcome.COMPLETED

    async def _send(self, reporter: TaskReporter, update: WorkerTaskUpdate) -> None:
        result = await reporter.send(update)
        if result is SendResult.REJECTED or reporter.rejected.is_set():
            raise _TaskTakenAway()

    async def _fail(self, task: AssignedTask, reporter: TaskReporter, message: str) -> TaskOutcome:
        _log.warning("task %s: failed: %s", task.uuid, message)
        text = f"Failed: {message}"
        try:
            await self._send(reporter, WorkerTaskUpdate(TaskStatus.FAILED, activity=text, log=text + "\n"))
        except _TaskTakenAway:
            return TaskOutcome.ABORTED
        return TaskOutcome.FAILED

    async def _run_commands(self, task: AssignedTask, reporter: TaskReporter, stats: RenderStats) -> None:
        steps = 0
        count = len(task.commands)
        for index, command in enumerate(task.commands):
            ctx = CommandContext(task, command, index, self.config, reporter, self.outputs, steps_base=steps,
                                 warm=self.warm, sandbox=self.sandbox, progress=self.progress, stats=stats)
            await self._run_command(ctx, count)
            # A command reports at least one step, and never more than it announced.
            steps += max(1, command.total_step_count)
            reporter.progress(steps_completed=steps)
            await self._send(reporter, WorkerTaskUpdate())  # the step count, with the pending log

    async def _run_command(self, ctx: CommandContext, count: int) -> None:
        command = ctx.command
        label = f"command {ctx.index + 1}/{count} {command.name!r}"
        reporter = ctx.reporter
        reporter.log(f"===== task {ctx.task.uuid}: {label} =====")
        reporter.progress(activity=f"Running {label}")
        func = find_command(command.name)
        if func is None:
            raise CommandError(f"unknown command {command.name!r}")
        started = time.monotonic()
        try:
            await _unless_rejected(reporter, func(ctx, command.parameters))
        except _TaskTakenAway:
            self._footer(reporter, label, started, "aborted: task taken away")
            raise
        except CommandError as exc:
            self._footer(reporter, label, started, f"failed: {exc}")
            raise
        except Exception as exc:  # a bug or unexpected OS error fails the task, not the worker
            _log.exception("task %s: %s crashed", ctx.task.uuid, label)
            reporter.log(traceback.format_exc().rstrip())
            self._footer(reporter, label, started, f"crashed: {exc}")
            raise CommandError(f"{command.name}: {type(exc).__name__}: {exc}") from exc
        self._footer(reporter, label, started, "finished")

    @staticmethod
    def _footer(reporter: TaskReporter, label: str, started: float, result: str) -> None:
        reporter.log(f"===== {label} {result} after {format_duration(time.monotonic() - started)} =====")


async def _unless_rejected(reporter: TaskReporter, work: Awaitable[None]) -> None:
    """Await `work`, but cancel it (killing its processes) as soon as the Manager rejects the task."""
    job = asyncio.ensure_future(work)
    rejected = asyncio.ensure_future(reporter.rejected.wait())
    try:
        await asyncio.wait({job, rejected}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Also runs when we ourselves are cancelled: the command must be stopped and awaited, so its
        # process tree is gone before the caller moves on.
        await cancel_and_wait(rejected, job)
    if job.cancelled():
        raise _TaskTakenAway()
    job.result()

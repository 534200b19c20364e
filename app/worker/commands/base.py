"""What every worker command gets to work with, and how it reports failure.

Owns `CommandContext` (logging, activity, step counting, last-rendered images, and running
external processes with the log header/footer), `CommandError`, and parameter validation helpers.
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.api.limits import is_number
from app.api.models import AssignedTask, Command
from app.worker import procs
from app.worker.config import WorkerConfig
from app.worker.output_check import OutputRefused, check_output
from app.worker.render_stats import RenderStats
from app.worker.sandbox import Sandbox, SandboxError, SandboxSpec, bwrap
from app.worker.task_reporter import TaskReporter

if TYPE_CHECKING:
    from app.worker.vitals import RenderProgress
    from app.worker.warm.pool import WarmBlenders

_log = logging.getLogger(__name__)


#: The sandbox's scratch folder for a command's program (one command runs at a time).
RUN_SCRATCH = "run"


class CommandError(Exception):
    """A command failed. The message is shown as the task's activity ("Failed: ...") and logged."""


class OutputSink(Protocol):
    """Receives rendered images for the Manager's last-rendered preview."""

    def queue_image(self, task_id: str, path: Path) -> None: ...


CommandFunc = Callable[["CommandContext", Mapping[str, Any]], Awaitable[None]]


@dataclass
class CommandContext:
    """One command invocation inside a task.

    Steps are counted per command and reported task-wide as `steps_base + steps_done`; a command
    with a known `total_step_count` never reports more than that many steps.
    """

    task: AssignedTask
    command: Command
    index: int
    config: WorkerConfig
    reporter: TaskReporter
    outputs: OutputSink | None = None
    steps_base: int = 0
    steps_done: int = field(default=0, init=False)
    #: The worker's warm Blender, for `blender-render`; None renders every task cold.
    warm: WarmBlenders | None = None
    #: Confines the programs commands run; None: one made from the config.
    sandbox: Sandbox | None = None
    #: Where the running render is, for the worker's vitals; None: not followed.
    progress: RenderProgress | None = None
    #: The task's render time and peak memory, as Blender prints them (shared by its commands).
    stats: RenderStats = field(default_factory=RenderStats)

    def __post_init__(self) -> None:
        if self.sandbox is None:
            self.sandbox = Sandbox(self.config)

    def log(self, line: str) -> None:
        self.reporter.log(line)

    def set_activity(self, activity: str) -> None:
        self.reporter.progress(activity=activity)

    def add_step(self, activity: str | None = None) -> None:
        """Count one step done and tell the Manager."""
        total = self.command.total_step_count
        if total <= 0 or self.steps_done < total:
            self.steps_done += 1
        self.reporter.progress(activity=activity, steps_completed=self.steps_base + self.steps_done)

    def check_output(self, path: Path | str, what: str) -> None:
        """Fail the command unless its Manager lets this task write to `path` (see output_check.py)."""
        try:
            check_output(self.task, path, what)
        except OutputRefused as exc:
            raise CommandError(str(exc)) from None

    def output_produced(self, path: Path | str) -> None:
        if self.outputs is not None:
            self.outputs.queue_image(self.task.uuid, Path(path))

    async def run_process(
        self,
        argv: Sequence[str],
        on_line: Callable[[str], None] | None = None,
        cwd: Path | str | None = None,
        env: dict[str, str] | None = None,
        sandbox: SandboxSpec | None = None,
    ) -> int:
        """Run a program, logging a header with the command line, each output line, and a footer.

        With a `sandbox` spec the program runs confined (when the worker's sandbox setting and
        this machine allow) and the logged command line includes the sandbox's.
        """
        prefix = await self._sandbox_prefix(sandbox) if sandbox is not None else []
        try:
            return await self._run(prefix, argv, on_line, cwd, env)
        finally:
            if prefix:
                assert self.sandbox is not None
                self.sandbox.reset_scratch(RUN_SCRATCH)

    async def _sandbox_prefix(self, spec: SandboxSpec) -> list[str]:
        assert self.sandbox is not None
        try:
            return await self.sandbox.prefix(spec, RUN_SCRATCH, self.log)
        except SandboxError as exc:
            raise CommandError(str(exc)) from None

    async def _run(
        self,
        prefix: list[str],
        program: Sequence[str],
        on_line: Callable[[str], None] | None,
        cwd: Path | str | None,
        env: dict[str, str] | None,
    ) -> int:
        argv = [*prefix, *program]
        self.log(f"going to run: {procs.command_line(argv)}")
        started = time.monotonic()
        pid = 0

        def on_start(started_pid: int) -> None:
            nonlocal pid
            pid = started_pid
            _log.info("task %s: started pid %d: %s", self.task.uuid, pid, argv[0])

        def log_line(line: str) -> None:
            self.log(f"pid={pid} > {line}")
            if on_line is not None:
                on_line(line)

        try:
            code = await procs.run_process(argv, log_line, cwd=cwd, env=env, on_start=on_start,
                                           oom_score_adjust=self.config.oom_score_adjust)
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise CommandError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
        note = bwrap.exit_note(code) if prefix else ""
        took = format_duration(time.monotonic() - started)
        self.log(f"pid={pid} exited with code {code}{note} after {took}")
        return code


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:04.1f}s"
    if minutes:
        return f"{minutes}m{secs:04.1f}s"
    return f"{secs:.1f}s"


# Parameter helpers. The Manager passes parameters as authored by the job type, so check them here.


def param_str(params: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise CommandError(f"missing parameter {name!r}")
        return ""
    if not isinstance(value, str):
        raise CommandError(f"parameter {name!r} must be a string, got {value!r}")
    return value


def param_str_list(params: Mapping[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise CommandError(f"parameter {name!r} must be a list of strings, got {value!r}")
    result = []
    for item in value:
        # Job scripts sometimes pass numbers (frame numbers); they are meant as text on a command line.
        if not (isinstance(item, str) or is_number(item)):
            raise CommandError(f"parameter {name!r} must be a list of strings, got item {item!r}")
        result.append(str(item))
    return result


def param_number(params: Mapping[str, Any], name: str) -> float:
    value = params.get(name)
    if value is None:
        raise CommandError(f"missing parameter {name!r}")
    if not is_number(value):
        raise CommandError(f"parameter {name!r} must be a number, got {value!r}")
    return float(value)


def split_args(text: str) -> list[str]:
    """Split a command-line fragment like a POSIX shell would (quotes honoured, no expansion)."""
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:
        raise CommandError(f"cannot split arguments {text!r}: {exc}") from exc


def split_exe(exe: str) -> list[str]:
    """The executable parameter as argv: an existing path stays whole, else it may carry arguments.

    A Manager variable like `{blender}` can expand to `/opt/blender/blender --factory-startup`.
    """
    if os.path.exists(exe):
        return [exe]
    return split_args(exe) if (" " in exe or '"' in exe or "'" in exe) else [exe]

"""Hand-written fakes shared by worker tests: an update sink and an output sink that record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.api.models import AssignedTask, Command
from app.worker.commands.base import CommandContext
from app.worker.config import WorkerConfig
from app.worker.task_reporter import TaskReporter
from app.worker.upstream_buffer import SendResult


class RecordingSink:
    """Stands in for the upstream buffer: records every update, optionally rejecting some."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.reject_after: int | None = None
        self._listeners: list[Callable[[str], None]] = []

    async def send(self, task_id: str, payload: dict[str, Any]) -> SendResult:
        if self.reject_after is not None and len(self.updates) >= self.reject_after:
            for listener in list(self._listeners):
                listener(task_id)
            return SendResult.REJECTED
        self.updates.append((task_id, payload))
        return SendResult.DELIVERED

    def add_rejection_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [p for _, p in self.updates]

    @property
    def log(self) -> str:
        return "".join(p.get("log", "") for p in self.payloads)


class RecordingOutputs:
    def __init__(self) -> None:
        self.images: list[tuple[str, Path]] = []

    def queue_image(self, task_id: str, path: Path) -> None:
        self.images.append((task_id, path))


def make_task(commands: list[dict[str, Any]], uuid: str = "task-1") -> AssignedTask:
    return AssignedTask.from_json(
        {
            "uuid": uuid,
            "job": "job-1",
            "name": "test",
            "status": "queued",
            "priority": 50,
            "job_priority": 50,
            "job_type": "test",
            "task_type": "misc",
            "commands": commands,
            "steps_completed": 0,
            "steps_total": 1,
        }
    )


def make_context(
    sink: RecordingSink,
    config: WorkerConfig,
    name: str = "echo",
    params: dict[str, Any] | None = None,
    total_step_count: int = 0,
    outputs: RecordingOutputs | None = None,
) -> tuple[CommandContext, TaskReporter]:
    command = Command(name, params or {}, total_step_count)
    task = make_task([{"name": name, "parameters": params or {}, "total_step_count": total_step_count}])
    reporter = TaskReporter(sink, task.uuid, max_log_age_s=0.05)
    return CommandContext(task, command, 0, config, reporter, outputs), reporter

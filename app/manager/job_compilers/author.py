"""What a job-type script authored: the `AuthoredJob` the rest of the Manager stores.

The objects that scripts see (`author.Task`, `author.Command`, the `job` argument) live in
`prelude.js`; this module owns their Python-side result and its checks. The prelude
already rejects dependencies on tasks that were never added to the job; here we also
reject dependency cycles (such tasks could never run) and malformed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.api.limits import is_whole
from app.manager.job_compilers.errors import JobCompileError

AuthoredCommand = dict[str, Any]  # {"name": str, "parameters": dict, "total_step_count": int}


@dataclass(slots=True)
class AuthoredTask:
    """One task of a compiled job. `dependencies` holds uuids of tasks in the same job."""

    uuid: str
    name: str
    type: str
    priority: int
    index_in_job: int  # 1-based, in job.addTask() order
    commands: list[AuthoredCommand] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)

    @property
    def steps_total(self) -> int:
        """Progress steps of the task: a command without a step count reports one step."""
        return sum(max(1, command["total_step_count"]) for command in self.commands)


@dataclass
class AuthoredJob:
    """A compiled job: settings and metadata as the script left them, and its tasks in order."""

    settings: dict[str, Any]
    metadata: dict[str, Any]
    tasks: list[AuthoredTask] = field(default_factory=list)

    @property
    def steps_total(self) -> int:
        return sum(task.steps_total for task in self.tasks)


def _check_command(task_name: str, command: AuthoredCommand) -> None:
    # The prelude checks these when a command is made; a script could still overwrite them.
    steps = command["total_step_count"]
    if not is_whole(steps) or steps < 0:
        raise JobCompileError(
            f"task {task_name!r}: command {command['name']!r} has a bad step count {steps!r}"
        )
    if not isinstance(command["parameters"], dict):
        raise JobCompileError(f"task {task_name!r}: command {command['name']!r} parameters are not an object")


def _tasks_from_flat(flat: list[Any]) -> list[AuthoredTask]:
    """Decode the prelude's flat task list (see `exportTasks` in prelude.js)."""
    tasks: list[AuthoredTask] = []
    i = 0
    while i < len(flat):
        uuid, name, task_type, priority, dep_count = flat[i : i + 5]
        i += 5
        dependencies = flat[i : i + dep_count]
        i += dep_count
        command_count = flat[i]
        i += 1
        commands = [
            {"name": flat[j], "parameters": flat[j + 1], "total_step_count": flat[j + 2]}
            for j in range(i, i + 3 * command_count, 3)
        ]
        i += 3 * command_count
        if not is_whole(priority):
            raise JobCompileError(f"task {name!r}: priority must be a whole number, not {priority!r}")
        for command in commands:
            _check_command(name, command)
        tasks.append(AuthoredTask(uuid, name, task_type, priority, len(tasks) + 1, commands, dependencies))
    return tasks


def _check_acyclic(tasks: list[AuthoredTask]) -> None:
    # Kahn's algorithm: whatever cannot be peeled off in dependency order is in a cycle.
    waiting_on = {task.uuid: len(task.dependencies) for task in tasks}
    if len(waiting_on) != len(tasks):
        raise JobCompileError("two tasks of the job share a uuid (did the script change task.uuid?)")
    dependents: dict[str, list[str]] = {task.uuid: [] for task in tasks}
    for task in tasks:
        for dep in task.dependencies:
            dependents[dep].append(task.uuid)
    ready = [uuid for uuid, count in waiting_on.items() if count == 0]
    done = 0
    while ready:
        uuid = ready.pop()
        done += 1
        for dependent in dependents[uuid]:
            waiting_on[dependent] -= 1
            if waiting_on[dependent] == 0:
                ready.append(dependent)
    if done < len(tasks):
        stuck = sorted({task.name for task in tasks if waiting_on[task.uuid] > 0})
        raise JobCompileError(
            f"the job's task dependencies form a cycle; involved tasks: {', '.join(stuck[:10])}"
        )


def authored_job_from_script(
    result: Mapping[str, Any], float_settings: frozenset[str] = frozenset()
) -> AuthoredJob:
    """Build the AuthoredJob from the prelude's export of a finished `compileJob()`.

    `float_settings` names settings declared as `float`: JavaScript has one number type,
    so 24.0 comes back as 24; those are turned back into floats.
    """
    settings = result.get("settings")
    metadata = result.get("metadata")
    if not isinstance(settings, dict) or not isinstance(metadata, dict):
        raise JobCompileError(
            "the script replaced job.settings or job.metadata with something that is not an object"
        )
    for key in float_settings:
        if is_whole(settings.get(key)):
            settings[key] = float(settings[key])
    tasks = _tasks_from_flat(result["tasks"])
    _check_acyclic(tasks)
    return AuthoredJob(settings=settings, metadata=metadata, tasks=tasks)

"""Wire shapes of the worker's side of the Flamenco v3 API: AssignedTask, Command, MayKeepRunning.

Shared by the Worker, the dashboard and (vendored) the add-on, so it imports nothing but the
standard library. Each `from_json` validates and raises `WireFormatError` (the client's
`ContractError`) on a shape mismatch. Written out by hand rather than through `app.api.codec`:
these are decoded for every task a worker claims. The models of jobs, workers, the Manager and the
event stream are in `jobs`, `workers`, `meta` and `events` beside this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.api.errors import ContractError

#: The Manager sent JSON that does not fit the expected schema (the older name of `ContractError`).
WireFormatError = ContractError


@dataclass(frozen=True)
class Command:
    name: str
    parameters: dict[str, Any]
    total_step_count: int = 0

    @classmethod
    def from_json(cls, data: Any) -> Command:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise WireFormatError(f"command must be an object with a name, got {data!r}")
        params = data.get("parameters") or {}
        if not isinstance(params, dict):
            raise WireFormatError(f"parameters of command {data['name']!r} must be an object")
        steps = data.get("total_step_count") or 0
        return cls(name=data["name"], parameters=params, total_step_count=int(steps))


@dataclass(frozen=True)
class AssignedTask:
    """A task as the worker receives it from `POST /api/v3/worker/task`."""

    uuid: str
    job: str
    name: str
    status: str
    priority: int
    job_priority: int
    job_type: str
    task_type: str
    commands: list[Command] = field(default_factory=list)
    steps_completed: int = 0
    steps_total: int = 0
    #: Tablao: may Blender run the Python stored in the .blend file? Absent (a Flamenco Manager): no.
    blend_scripts: bool = False
    #: Tablao: the folders this task may write under, for this worker's platform; None: not said.
    output_roots: list[str] | None = None
    #: Tablao: folders under those that it must never write into (the Shaman file store).
    output_denied: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> AssignedTask:
        if not isinstance(data, dict) or not isinstance(data.get("uuid"), str):
            raise WireFormatError("assigned task must be an object with a uuid")
        commands = data.get("commands") or []
        if not isinstance(commands, list):
            raise WireFormatError("assigned task commands must be a list")
        return cls(
            uuid=data["uuid"],
            job=str(data.get("job", "")),
            name=str(data.get("name", "")),
            status=str(data.get("status", "")),
            priority=int(data.get("priority") or 0),
            job_priority=int(data.get("job_priority") or 0),
            job_type=str(data.get("job_type", "")),
            task_type=str(data.get("task_type", "")),
            commands=[Command.from_json(c) for c in commands],
            steps_completed=int(data.get("steps_completed") or 0),
            steps_total=int(data.get("steps_total") or 0),
            blend_scripts=data.get("blend_scripts") is True,
            output_roots=_str_list_or_none(data.get("output_roots")),
            output_denied=_str_list_or_none(data.get("output_denied")) or [],
        )


def _str_list_or_none(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WireFormatError("output_roots and output_denied must be lists of paths")
    return list(value)


@dataclass(frozen=True)
class MayKeepRunning:
    may_keep_running: bool
    reason: str = ""
    status_change_requested: bool = False

    @classmethod
    def from_json(cls, data: Any) -> MayKeepRunning:
        if not isinstance(data, dict) or "mayKeepRunning" not in data:
            raise WireFormatError("may-i-run answer lacks mayKeepRunning")
        return cls(
            may_keep_running=bool(data["mayKeepRunning"]),
            reason=str(data.get("reason", "")),
            status_change_requested=bool(data.get("statusChangeRequested", False)),
        )

"""Wire shapes of the worker's side of the Flamenco v3 API: what a worker sends (registration,
sign-on, state changes, task updates) and what it gets (AssignedTask, Command, MayKeepRunning).

Shared by the Worker and the Manager, so it imports nothing but the standard library. Each
`from_json` validates and raises `WireFormatError` (the client's `ContractError`) on a shape
mismatch. Two are written out by hand rather than left to `app.api.codec`, because they are decoded
for every task a worker claims (`AssignedTask`) and for every task update a Manager receives
(`WorkerTaskUpdate`); tests/api/test_fast_decoders.py feeds each the same bodies as the codec and
checks both give the same model or the same message. The models of jobs, workers, the Manager and
the event stream are in `jobs`, `workers`, `meta` and `events` beside this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.api.codec import RequestBody, Wire, wire
from app.api.enums import TaskStatus, WorkerStatus
from app.api.errors import ContractError
from app.api.limits import (
    ACTIVITY_MAX,
    LOG_MAX,
    PEAK_MEMORY_MAX,
    RENDER_TIME_MAX,
    SHORT_MAX,
    TEXT_MAX,
    kind,
    limits,
    number_words,
    shown,
    text_problem,
)
from app.api.requirements import WorkerFacts

#: The Manager sent JSON that does not fit the expected schema (the older name of `ContractError`).
WireFormatError = ContractError



# --- what a worker sends ---------------------------------------------------------------------------

#: The task types of one worker: a few names, each short.
_TASK_TYPES = limits(max_len=SHORT_MAX, max_items=100)


@dataclass(slots=True)
class WorkerRegistration(RequestBody):
    """A new worker (`POST /api/v3/worker/register-worker`); it then signs on with the secret."""

    secret: str = field(metadata=limits(max_len=TEXT_MAX, nonblank=True))
    platform: str = field(metadata=limits(max_len=SHORT_MAX, nonblank=True))
    supported_task_types: list[str] = field(metadata=_TASK_TYPES)
    name: str = field(metadata=limits(max_len=SHORT_MAX, nonblank=True))
    #: Tablao: the worker's version, as text.
    software: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))


@dataclass(slots=True)
class WorkerSignOn(RequestBody):
    """A registered worker coming online (`POST /api/v3/worker/sign-on`)."""

    name: str = field(metadata=limits(max_len=SHORT_MAX, nonblank=True))
    supported_task_types: list[str] = field(metadata=_TASK_TYPES)
    software_version: str = field(metadata=limits(max_len=SHORT_MAX))
    can_restart: bool = False
    #: Tablao: the worker's GPU backends, memory and Blender (`app.api.requirements`).
    facts: WorkerFacts | None = None


@dataclass(slots=True)
class TablaoManagerChallenge(RequestBody):
    """Tablao: a worker asks its Manager to prove itself (`POST /api/v3/tablao/worker/prove`).

    The Manager checks the uuid's and the nonce's form itself, with messages that say which form;
    the body is bounded by the route (a uuid and a nonce)."""

    worker_id: str
    nonce: str


@dataclass(slots=True)
class WorkerStateChanged(RequestBody):
    """The status a worker went to (`POST /api/v3/worker/state-changed`)."""

    status: WorkerStatus


#: The task statuses a worker may report; the others are the Manager's to give.
WORKER_REPORTABLE = (TaskStatus.ACTIVE.value, TaskStatus.COMPLETED.value, TaskStatus.FAILED.value)


@dataclass(slots=True)
class WorkerTaskUpdate(RequestBody):
    """A worker's news about a task it runs (`POST /api/v3/worker/task/{task_id}`); all optional,
    and what is left out stays as it was."""

    task_status: TaskStatus | None = field(default=None, metadata=wire("taskStatus", **limits(
        choices=WORKER_REPORTABLE)))
    activity: str | None = field(default=None, metadata=limits(max_len=ACTIVITY_MAX))
    log: str | None = field(default=None, metadata=limits(max_len=LOG_MAX))
    steps_completed: int | None = field(default=None, metadata=limits(least=0))
    #: Tablao: the seconds Blender spent rendering the task's frames (the sum of its "Time:" lines),
    #: sent with the final status where the worker could read it.
    render_time_s: float | None = field(default=None, metadata=limits(least=0, most=RENDER_TIME_MAX))
    #: Tablao: the highest memory use Blender printed while rendering the task ("Peak"), in MiB.
    peak_memory_mb: float | None = field(default=None, metadata=limits(least=0, most=PEAK_MEMORY_MAX))

    @classmethod
    def from_json(cls, data: Any) -> WorkerTaskUpdate:
        """The codec's strict decoding, by hand: one per task update, so the hot path pays for no
        generic plan (the same bodies give the same model or message, see the module's docstring)."""
        if not isinstance(data, dict):
            raise ContractError(f"expected a JSON object, not {kind(data)}")
        status = data.get("taskStatus")
        if status is not None or "taskStatus" in data:
            if status not in WORKER_REPORTABLE:
                raise ContractError(f"`taskStatus` must be one of {', '.join(WORKER_REPORTABLE)}, "
                                    f"not {'null' if status is None else shown(status)}")
            status = TaskStatus(status)
        activity = _text(data, "activity", ACTIVITY_MAX)
        log = _text(data, "log", LOG_MAX)
        steps = data.get("steps_completed")
        if (steps is not None or "steps_completed" in data) and (type(steps) is not int or steps < 0):
            raise ContractError(f"`steps_completed` must be a whole number, 0 or more, not "
                                f"{kind(steps) if type(steps) is not int else shown(steps)}")
        return cls(status, activity, log, steps, _number(data, "render_time_s", RENDER_TIME_MAX),
                   _number(data, "peak_memory_mb", PEAK_MEMORY_MAX))


def _number(data: dict[str, Any], key: str, most: float) -> float | None:
    """An optional number from 0 to `most` (NaN is no number: it would poison every sum it joins)."""
    value = data.get(key)
    if value is None and key not in data:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ContractError(f"`{key}` must be {number_words('a number', 0, most)}, not {kind(value)}")
    if not 0 <= value <= most:
        raise ContractError(f"`{key}` must be {number_words('a number', 0, most)}, not {shown(float(value))}")
    return float(value)


def _text(data: dict[str, Any], key: str, max_chars: int) -> str | None:
    value = data.get(key)
    if value is None and key not in data:
        return None
    if type(value) is not str:
        raise ContractError(f"`{key}` must be a string, not {kind(value)}")
    problem = text_problem(value, max_chars)
    if problem:
        raise ContractError(f"`{key}` {problem}")
    return value


# --- what a worker gets ----------------------------------------------------------------------------


@dataclass(slots=True)
class RegisteredWorker(Wire):
    """The answer to a registration (`POST /api/v3/worker/register-worker`): the worker as stored."""

    uuid: str
    name: str
    address: str
    status: WorkerStatus
    platform: str
    software: str
    supported_task_types: list[str]
    #: Tablao: the worker's key, with which its Manager proves itself (`app.common.manager_proof`).
    tablao_manager_key: str | None = None


@dataclass(slots=True)
class WorkerStateChange(Wire):
    """The status the Manager wants a worker in: the answer to a sign-on, to `GET /worker/state`, and
    a claim's 423. The worker reads it leniently (`app.worker.client`: an unknown status is asleep)."""

    status_requested: WorkerStatus
    #: Tablao, in the answer to a sign-on only: the worker's key, as in `RegisteredWorker`.
    tablao_manager_key: str | None = None


@dataclass(slots=True)
class TablaoManagerProof(Wire):
    """Tablao: the Manager's answer to a `TablaoManagerChallenge` (`app.common.manager_proof`)."""

    proof: str


@dataclass(frozen=True)
class Command:
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    total_step_count: int = 0

    @classmethod
    def from_json(cls, data: Any, path: str = "Command") -> Command:
        if not isinstance(data, dict):
            raise WireFormatError(f"`{path}` must be a JSON object, not {kind(data)}")
        name = _req(data, "name", str, path)
        params = _opt(data, "parameters", dict, path, {})
        return cls(name=name, parameters=params, total_step_count=_opt(data, "total_step_count", int, path, 0))


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
        """The codec's lenient decoding, by hand: one per claimed task (see the module's docstring)."""
        p = "AssignedTask"
        if not isinstance(data, dict):
            raise WireFormatError(f"`{p}` must be a JSON object, not {kind(data)}")
        commands = _opt(data, "commands", list, p, [])
        roots = _opt(data, "output_roots", list, p, None)
        return cls(
            uuid=_req(data, "uuid", str, p), job=_req(data, "job", str, p), name=_req(data, "name", str, p),
            status=_req(data, "status", str, p), priority=_req(data, "priority", int, p),
            job_priority=_req(data, "job_priority", int, p), job_type=_req(data, "job_type", str, p),
            task_type=_req(data, "task_type", str, p),
            commands=[Command.from_json(c, f"{p}.commands[{i}]") for i, c in enumerate(commands)],
            steps_completed=_opt(data, "steps_completed", int, p, 0),
            steps_total=_opt(data, "steps_total", int, p, 0),
            blend_scripts=_opt(data, "blend_scripts", bool, p, False),
            output_roots=None if roots is None else _strings(roots, f"{p}.output_roots"),
            output_denied=_strings(_opt(data, "output_denied", list, p, []), f"{p}.output_denied"),
        )


_WANT = {str: "a string", int: "a whole number", bool: "true or false", list: "a list", dict: "an object"}


def _req(data: dict[str, Any], key: str, want: type, path: str) -> Any:
    value = data.get(key)
    if value is None:
        raise WireFormatError(f"`{path}.{key}` is required: {_WANT[want]}")
    return _typed(value, want, f"{path}.{key}")


def _opt(data: dict[str, Any], key: str, want: type, path: str, default: Any) -> Any:
    value = data.get(key)
    return default if value is None else _typed(value, want, f"{path}.{key}")


def _typed(value: Any, want: type, path: str) -> Any:
    # bool is an int in Python, but a JSON true is no count.
    if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
        raise WireFormatError(f"`{path}` must be {_WANT[want]}, not {kind(value)}")
    return value


def _strings(value: list[Any], path: str) -> list[str]:
    return [_typed(v, str, f"{path}[{i}]") for i, v in enumerate(value)]


@dataclass(frozen=True)
class MayKeepRunning:
    may_keep_running: bool = field(metadata=wire("mayKeepRunning"))
    reason: str = ""
    status_change_requested: bool = field(default=False, metadata=wire("statusChangeRequested"))

    @classmethod
    def from_json(cls, data: Any) -> MayKeepRunning:
        if not isinstance(data, dict) or "mayKeepRunning" not in data:
            raise WireFormatError("may-i-run answer lacks mayKeepRunning")
        return cls(
            may_keep_running=bool(data["mayKeepRunning"]),
            reason=str(data.get("reason", "")),
            status_change_requested=bool(data.get("statusChangeRequested", False)),
        )

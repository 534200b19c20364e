"""Wire models of workers as the dashboard sees them: summaries, details, vitals, a worker's day,
tags, sleep schedules; and the vitals report a Tablao worker sends."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.api.codec import RequestBody, Wire, check_not_more, field_path
from app.api.enums import TaskStatus, WorkerStatus
from app.api.errors import ContractError
from app.api.jobs import TaskWorker
from app.api.limits import ENTRIES_MAX, SHORT_MAX, TEXT_MAX, limits
from app.api.requirements import WorkerFacts

#: The statuses a worker can be asked to go to.
WORKER_REQUESTABLE = ("awake", "asleep", "offline", "restart")


@dataclass(slots=True)
class WorkerStatusChangeRequest(RequestBody):
    """A status the Manager asks a worker to go to; `is_lazy`: after its current task."""

    status: WorkerStatus = field(metadata=limits(choices=WORKER_REQUESTABLE))
    is_lazy: bool


@dataclass(slots=True)
class WorkerTag(RequestBody):
    """A worker tag; as a body, `id` may be left out (the Manager then makes one)."""

    name: str = field(metadata=limits(max_len=SHORT_MAX, nonblank=True))
    id: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))
    description: str | None = field(default=None, metadata=limits(max_len=TEXT_MAX))


@dataclass(slots=True)
class WorkerTask(Wire):
    """The task a worker runs or last ran (TaskSummary plus its job)."""

    id: str
    name: str
    status: TaskStatus
    index_in_job: int
    priority: int
    task_type: str
    updated: str
    steps_completed: int
    steps_total: int
    job_id: str
    #: The worker that runs it (the worker itself, as in a job's task list).
    worker: TaskWorker | None = None
    #: Tablao: what the task is doing, as in `TaskSummary`.
    activity: str | None = None


#: Bounds of a vitals report: more memory than any worker has (a pebibyte), Blender's frame range,
#: Cycles' most samples.
_BYTES = limits(least=0, most=1 << 50)
_PERCENT = limits(least=0, most=100)
_FRAME = limits(least=-1_048_574, most=1_048_574)
_SAMPLES = limits(least=0, most=1 << 24)
MAX_GPUS = 16


def _check_one_line(obj: object, path: str, key: str) -> None:
    value = getattr(obj, key)
    if value is not None and not value.isprintable():
        raise ContractError(f"`{field_path(path, key)}` must be printable text on one line")


@dataclass(slots=True)
class WorkerGpu(RequestBody):
    """One GPU of a worker: its name, and its use where the worker could read it. In a vitals
    report, used memory may not exceed the total."""

    name: str = field(metadata=limits(max_len=200, nonblank=True))
    #: Utilisation, 0-100.
    percent: float | None = field(default=None, metadata=_PERCENT)
    #: Bytes.
    memory_used: int | None = field(default=None, metadata=_BYTES)
    memory_total: int | None = field(default=None, metadata=_BYTES)

    def check_fields(self, path: str) -> None:
        _check_one_line(self, path, "name")
        check_not_more(self, path, "memory_used", "memory_total")


@dataclass(slots=True)
class TablaoWorkerVitalsReport(RequestBody):
    """What a Tablao worker measures of itself, as it reports it (`POST /api/v3/tablao/worker/vitals`);
    every field may be left out. The Manager keeps it, rounded and trimmed, as `WorkerVitals`.

    Percentages are of the whole machine; memory is in bytes; `frame`, `sample` and `samples_total`
    only while Blender renders. `memory_used` may not exceed `memory_total`, nor `sample`
    `samples_total`."""

    cpu_percent: float | None = field(default=None, metadata=_PERCENT)
    render_cpu_percent: float | None = field(default=None, metadata=_PERCENT)
    cpu_count: int | None = field(default=None, metadata=limits(least=1, most=65_536))
    memory_used: int | None = field(default=None, metadata=_BYTES)
    memory_total: int | None = field(default=None, metadata=_BYTES)
    render_memory: int | None = field(default=None, metadata=_BYTES)
    gpus: list[WorkerGpu] | None = field(default=None, metadata=limits(max_items=MAX_GPUS))
    blender_version: str | None = field(default=None, metadata=limits(max_len=64))
    frame: int | None = field(default=None, metadata=_FRAME)
    sample: int | None = field(default=None, metadata=_SAMPLES)
    samples_total: int | None = field(default=None, metadata=_SAMPLES)

    def check_fields(self, path: str) -> None:
        _check_one_line(self, path, "blender_version")
        check_not_more(self, path, "memory_used", "memory_total")
        check_not_more(self, path, "sample", "samples_total")


@dataclass(slots=True)
class WorkerVitals(Wire):
    """What a Tablao worker measures of itself while it runs; a stock Flamenco worker sends none.

    Percentages are of the whole machine (all its cores), as a task manager shows them; memory is
    in bytes. A field is absent where the worker could not read it. `frame`, `sample` and
    `samples_total` are there only while Blender renders. `updated` is when the Manager received
    them (the Manager's clock, not the worker's).
    """

    updated: str
    cpu_percent: float | None = None
    #: Of the worker's own process tree: Blender, FFmpeg and the worker itself.
    render_cpu_percent: float | None = None
    cpu_count: int | None = None
    memory_used: int | None = None
    memory_total: int | None = None
    render_memory: int | None = None
    gpus: list[WorkerGpu] | None = None
    blender_version: str | None = None
    frame: int | None = None
    sample: int | None = None
    samples_total: int | None = None


@dataclass(slots=True)
class WorkerSummary(Wire):
    id: str
    name: str
    status: WorkerStatus
    version: str
    can_restart: bool
    last_seen: str | None = None
    status_change: WorkerStatusChangeRequest | None = None
    vitals: WorkerVitals | None = None


@dataclass(slots=True)
class Worker(Wire):
    """All the Manager knows about one worker."""

    id: str
    name: str
    status: WorkerStatus
    version: str
    can_restart: bool
    ip_address: str
    platform: str
    supported_task_types: list[str]
    last_seen: str | None = None
    status_change: WorkerStatusChangeRequest | None = None
    tags: list[WorkerTag] = field(default_factory=list)
    #: The task the worker runs now; absent while it runs none (idle, asleep, offline).
    task: WorkerTask | None = None
    vitals: WorkerVitals | None = None
    #: Tablao: what the worker said of itself at sign-on (GPU backends, memory, Blender).
    facts: WorkerFacts | None = None


@dataclass(slots=True)
class WorkerLastFrame(Wire):
    """The newest frame a worker rendered: `base` + "/" + a suffix is a picture's URL path."""

    base: str
    suffixes: list[str]
    rendered_at: str
    job_id: str | None = None
    task_id: str | None = None


@dataclass(slots=True)
class WorkerDay(Wire):
    """A worker's work since `since` (the asker's local midnight, say), as the Manager's store holds it.

    Tasks the worker reported completed or failed; `frames_rendered` counts the frames of its
    completed render tasks; `seconds` is the time from hand-out to the worker's report, summed over
    those tasks.
    """

    worker_id: str
    since: str
    tasks_completed: int
    tasks_failed: int
    frames_rendered: int
    seconds: float
    last_frame: WorkerLastFrame | None = None


@dataclass(slots=True)
class WorkerSleepSchedule(RequestBody):
    """When a worker sleeps: `start_time`-`end_time` (HH:MM) on `days_of_week` ("mo tu"; empty: every day)."""

    is_active: bool
    days_of_week: str = field(metadata=limits(max_len=SHORT_MAX))
    start_time: str = field(metadata=limits(max_len=SHORT_MAX))
    end_time: str = field(metadata=limits(max_len=SHORT_MAX))


@dataclass(slots=True)
class WorkerTagChangeRequest(RequestBody):
    tag_ids: list[str] = field(metadata=limits(max_len=SHORT_MAX, max_items=ENTRIES_MAX))

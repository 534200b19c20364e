"""Wire models of jobs and tasks: submitted jobs, jobs, pages, tasks, blocklists, job types, logs.

Shapes are Flamenco v3's (`flamenco-openapi.yaml`); Tablao's additions are optional fields. See
`app.api.codec` for how the fields state required and optional keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .codec import RequestBody, Wire
from .enums import JobStatus, TaskStatus
from .limits import NAME_MAX, SHORT_MAX, TEXT_MAX, VALUE_MAX, limits
from .requirements import JobRequirements


@dataclass(slots=True)
class JobStorageInfo(Wire):
    shaman_checkout_id: str | None = field(default=None, metadata=limits(max_len=VALUE_MAX))


#: The statuses a job may be submitted in; the others are the Manager's to give.
INITIAL_STATUSES = (JobStatus.QUEUED.value, JobStatus.PAUSED.value)
#: What a job does when a job it waits for fails or is canceled (Tablao's `on_dependency_failure`).
ON_DEPENDENCY_FAILURE = ("wait", "fail")
#: How many jobs one job may wait for.
DEPENDS_ON_MAX = 100


@dataclass(slots=True)
class SubmittedJob(RequestBody):
    """A job as a client submits it (`POST /api/v3/jobs`, `/api/v3/jobs/check`)."""

    name: str = field(metadata=limits(max_len=NAME_MAX, nonblank=True))
    type: str = field(metadata=limits(max_len=SHORT_MAX, nonblank=True))
    submitter_platform: str = field(metadata=limits(max_len=SHORT_MAX, nonblank=True))
    priority: int = field(default=50, metadata=limits(least=0, most=100))
    settings: dict[str, Any] = field(default_factory=dict, metadata=limits(tree=True))
    metadata: dict[str, str] = field(default_factory=dict, metadata=limits(tree=True))
    type_etag: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))
    worker_tag: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))
    storage: JobStorageInfo | None = None
    #: Absent: queued.
    initial_status: JobStatus | None = field(default=None, metadata=limits(choices=INITIAL_STATUSES))
    #: Tablao: the ids of jobs that must complete before this one runs; it waits, `queued`, until then.
    depends_on: list[str] | None = field(default=None,
                                         metadata=limits(max_len=SHORT_MAX, max_items=DEPENDS_ON_MAX))
    #: Tablao: when a job it waits for fails or is canceled, "wait" (absent: for a requeue) or "fail".
    on_dependency_failure: str | None = field(default=None, metadata=limits(choices=ON_DEPENDENCY_FAILURE))
    #: Tablao: what the scene needs of a worker (`app.api.requirements`); absent: any worker.
    requirements: JobRequirements | None = None


@dataclass(slots=True)
class EtaWorker(Wire):
    """A worker the ETA counts on, with its measured speed (1: the farm's average on the same work)."""

    id: str
    name: str
    speed: float


@dataclass(slots=True)
class JobEta(Wire):
    """Tablao: when the Manager expects a job to be done, from the farm's history (`app.manager.jobs.job_eta`).

    `at` is the expected end and `low`/`high` the ends of its range, as times; `seconds` is the time
    left as of `computed`. `source` says what the time per task rests on: the job's own finished
    tasks ("job"), earlier jobs of the same .blend file ("file") or of the same job type ("type");
    `basis` counts those finished tasks."""

    at: str
    low: str
    high: str
    seconds: float
    computed: str
    source: str
    basis: int
    workers: list[EtaWorker] = field(default_factory=list)


@dataclass(slots=True)
class JobEtas(Wire):
    """Tablao: the ETA of each unfinished job (`GET /api/v3/tablao/jobs/eta`), by job id; `reasons`
    says, for each unfinished job without one, why."""

    jobs: dict[str, JobEta]
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class JobHub(Wire):
    """Tablao, in a hub's answer: how the job travels to its site. `state` is "waiting" (at the hub,
    not yet taken by the site), "delivered" or "refused"; `route_reason` says why that site; `why`
    what the job waits for, or why the site refused it."""

    state: str
    route_reason: str = ""
    why: str | None = None


@dataclass(slots=True)
class Job(Wire):
    """A job as the Manager has it (`GET /api/v3/jobs/{id}`)."""

    id: str
    name: str
    type: str
    priority: int
    status: JobStatus
    activity: str
    created: str
    updated: str
    steps_completed: int
    steps_total: int
    submitter_platform: str
    settings: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    type_etag: str | None = None
    worker_tag: str | None = None
    storage: JobStorageInfo | None = None
    delete_requested_at: str | None = None
    #: Tablao: how many of the jobs it waits for have not completed; absent when it waits for none.
    waiting_on: int | None = None
    #: Tablao: the Manager's ETA, in a single job's answer while the job has one.
    eta: JobEta | None = None
    #: Tablao, from a hub: the site that runs the job (absent from a Manager's answers).
    site: str | None = None
    #: Tablao, from a hub: how the job travels to its site.
    hub: JobHub | None = None


@dataclass(slots=True)
class JobLink(Wire):
    """Another job in a job's chain: one it waits for, or one that waits for it."""

    id: str
    name: str
    status: JobStatus


@dataclass(slots=True)
class JobChain(Wire):
    """The jobs a job waits for and the jobs that wait for it (`GET /api/v3/tablao/jobs/{id}/chain`).

    `waiting` is what the job waits for, in words ("" when it waits for nothing); `on_dependency_failure`
    what it does when one of them fails or is canceled.
    """

    id: str
    waiting: str
    waiting_on: int
    on_dependency_failure: str
    depends_on: list[JobLink] = field(default_factory=list)
    dependants: list[JobLink] = field(default_factory=list)


@dataclass(slots=True)
class JobsPage(Wire):
    """A page of jobs (`GET /api/v3/tablao/jobs`); `total` counts all jobs matching the filter."""

    jobs: list[Job]
    total: int
    limit: int | None = None
    offset: int | None = None


@dataclass(slots=True)
class TaskWorker(Wire):
    id: str
    name: str
    address: str


@dataclass(slots=True)
class TaskSummary(Wire):
    id: str
    name: str
    status: TaskStatus
    index_in_job: int
    priority: int
    task_type: str
    updated: str
    steps_completed: int
    steps_total: int
    worker: TaskWorker | None = None
    activity: str | None = None  # Tablao: what the task is doing, so a task list needs no call per task


@dataclass(slots=True)
class Task(Wire):
    """A task as the Manager has it, before variable replacement (`GET /api/v3/tasks/{id}`)."""

    id: str
    name: str
    status: TaskStatus
    index_in_job: int
    priority: int
    task_type: str
    created: str
    updated: str
    job_id: str
    activity: str
    commands: list[dict[str, Any]]
    steps_completed: int
    steps_total: int
    worker: TaskWorker | None = None
    failed_by_workers: list[TaskWorker] = field(default_factory=list)
    last_touched: str | None = None


@dataclass(slots=True)
class BlocklistEntry(RequestBody):
    """One (worker, task type) a job's blocklist holds; a list of them is the body that removes them."""

    worker_id: str = field(metadata=limits(max_len=SHORT_MAX))
    task_type: str = field(metadata=limits(max_len=SHORT_MAX))
    worker_name: str | None = None


@dataclass(slots=True)
class LastRenderedInfo(Wire):
    """Where the last-rendered images are: the URL of each is `{base}/{suffix}`."""

    base: str
    suffixes: list[str]


@dataclass(slots=True)
class JobDeletionInfo(Wire):
    shaman_checkout: bool


@dataclass(slots=True)
class TaskLogInfo(Wire):
    task_id: str
    job_id: str
    url: str
    size: int


@dataclass(slots=True)
class EvalInfo(Wire):
    showLinkButton: bool = False
    description: str = ""


@dataclass(slots=True)
class AvailableJobSetting(Wire):
    key: str
    type: str
    subtype: str | None = None
    choices: list[str] | None = None
    propargs: dict[str, Any] | None = None
    description: Any = None
    label: Any = None
    default: Any = None
    eval: str | None = None
    evalInfo: EvalInfo | None = None
    visible: str | None = None
    required: bool | None = None
    editable: bool | None = None


@dataclass(slots=True)
class AvailableJobType(Wire):
    name: str
    label: str
    settings: list[AvailableJobSetting]
    etag: str
    description: str | None = None


# --- request bodies --------------------------------------------------------------------------


@dataclass(slots=True)
class JobsQuery:
    """The filter of a jobs page: which page, and only jobs in these statuses (all when empty)."""

    limit: int = 100
    offset: int = 0
    statuses: list[str] = field(default_factory=list)

    def to_params(self) -> dict[str, str]:
        params = {"limit": str(self.limit), "offset": str(self.offset)}
        if self.statuses:
            params["status"] = ",".join(str(s) for s in self.statuses)
        return params


@dataclass(slots=True)
class JobStatusChange(RequestBody):
    status: JobStatus
    reason: str = field(metadata=limits(max_len=TEXT_MAX))


@dataclass(slots=True)
class TaskStatusChange(RequestBody):
    status: TaskStatus
    reason: str = field(metadata=limits(max_len=TEXT_MAX))


@dataclass(slots=True)
class JobPriorityChange(RequestBody):
    priority: int = field(metadata=limits(least=0, most=100))


@dataclass(slots=True)
class JobTagChange(RequestBody):
    """Either `id` or `name` of the tag; neither removes the job's tag."""

    id: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))
    name: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))


@dataclass(slots=True)
class JobDependsOnChange(RequestBody):
    """What a job waits for from now on (Tablao): the ids of those jobs (none: it waits for nothing)."""

    depends_on: list[str] = field(metadata=limits(max_len=SHORT_MAX, max_items=DEPENDS_ON_MAX))
    #: Absent: "wait".
    on_dependency_failure: str | None = field(default=None, metadata=limits(choices=ON_DEPENDENCY_FAILURE))


@dataclass(slots=True)
class JobMassDeletionSelection(RequestBody):
    """Which jobs to delete: those last updated at or before `last_updated_max` (RFC 3339)."""

    last_updated_max: str = field(metadata=limits(max_len=SHORT_MAX))

"""Peewee models of the Manager's store, and which database they query. Private to the package.

Each Manager owns its database, so no database is bound here: the models' database,
`database_proxy`, stands for the database of the `Store` whose transaction runs in the current
context (`Store.call`, `call_sync` and `try_quick` enter it for the call, on the thread running it).
Two Managers in one process (the hub, tests) thus never see each other's rows, and a query run
outside any Store's transaction raises `OutsideStore` instead of reaching some other database.

Timestamps are naive UTC datetimes; conversion to RFC 3339 happens at the edge.
JSON columns hold text: SQLite and PostgreSQL both store it without extensions.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import peewee as pw

# The database of the Store whose transaction is running here. Each store thread has its own; quick
# calls of several Managers share one event loop thread, and each sets and resets it around itself.
_current: contextvars.ContextVar[pw.Database | None] = contextvars.ContextVar("tablao_store_db", default=None)


class OutsideStore(RuntimeError):
    """A query ran outside a Store's transaction: it has no database to run on."""


def current_db() -> pw.Database:
    """The database of the Store running this call; raises `OutsideStore` outside one."""
    db = _current.get()
    if db is None:
        raise OutsideStore("a query ran outside a Manager's store: run it with Store.call (or call_sync, "
                           "try_quick), which gives it that Manager's database")
    return db


def tuples(query: pw.BaseQuery) -> Iterator[tuple[Any, ...]]:
    """The rows of `query` as plain tuples (Peewee's `.tuples()`, typed as what it gives)."""
    return cast("Iterator[tuple[Any, ...]]", iter(query.tuples()))


def enter_store(db: pw.Database) -> contextvars.Token:
    """Make `db` the models' database in this context until `leave_store(token)` (`Store` does)."""
    return _current.set(db)


def leave_store(token: contextvars.Token) -> None:
    _current.reset(token)


class _StoreDatabase(pw.DatabaseProxy):
    """The models' database: whatever `current_db()` is when a query runs. Cannot be bound."""

    __slots__ = ("_callbacks", "_Model")

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def initialize(self, obj: Any) -> None:
        raise OutsideStore("the models have no global database: each Store enters its own per call")

    @property
    def obj(self) -> pw.Database | None:  # what peewee's own checks read (None: not bound here)
        return _current.get()

    def __getattr__(self, attr: str) -> Any:
        return getattr(current_db(), attr)

    def __enter__(self) -> Any:
        return current_db().__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return current_db().__exit__(*exc)


database_proxy = _StoreDatabase()


class JSONField(pw.TextField):
    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(pw.Model):
    """Every table's model. Peewee adds an `id` primary key to a model that names none, and beside each
    foreign key `x` the raw column `x_id`; the models declare those as bare annotations (no value, so
    Peewee's own definitions stand) for the type checker."""

    class Meta:
        database = database_proxy
        legacy_table_names = False


class WorkerTag(BaseModel):
    id: pw.AutoField[int]
    uuid = pw.CharField(max_length=36, unique=True)
    name = pw.CharField(unique=True)
    description = pw.TextField(default="")

    class Meta:
        table_name = "worker_tags"


class Worker(BaseModel):
    id: pw.AutoField[int]
    uuid = pw.CharField(max_length=36, unique=True)
    secret_hash = pw.CharField()
    name = pw.CharField(default="")
    address = pw.CharField(default="")
    platform = pw.CharField(default="")
    software = pw.CharField(default="")
    status = pw.CharField(default="")
    status_requested = pw.CharField(default="")
    lazy_status_request = pw.BooleanField(default=False)
    supported_task_types = pw.CharField(default="")  # comma-separated, lower case
    can_restart = pw.BooleanField(default=False)
    last_seen_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    deleted_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "workers"


class WorkerTagMembership(BaseModel):
    worker_id: pw.Field[int]
    tag_id: pw.Field[int]
    worker = pw.ForeignKeyField(Worker, on_delete="CASCADE")
    tag = pw.ForeignKeyField(WorkerTag, on_delete="CASCADE")

    class Meta:
        table_name = "worker_tag_membership"
        primary_key = pw.CompositeKey("worker", "tag")


class Job(BaseModel):
    id: pw.AutoField[int]
    worker_tag_id: pw.Field[int | None]
    uuid = pw.CharField(max_length=36, unique=True)
    name = pw.CharField()
    job_type = pw.CharField()
    priority = pw.IntegerField(default=50)
    status = pw.CharField()
    activity = pw.TextField(default="")
    settings = JSONField(default=dict)
    metadata = JSONField(default=dict)
    submitter_platform = pw.CharField(default="")
    type_etag = pw.CharField(default="")
    storage_shaman_checkout_id = pw.CharField(default="")
    # Submitted with a credential (access, submit or admin token), not anonymously.
    credentialed = pw.BooleanField(default=False)
    worker_tag = pw.ForeignKeyField(WorkerTag, null=True, on_delete="RESTRICT")
    steps_completed = pw.IntegerField(default=0)
    steps_total = pw.IntegerField(default=0)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    delete_requested_at = pw.DateTimeField(null=True)
    # How many of the jobs it waits for are not completed (each of its tasks counts them in deps_left),
    # and what it does when one of them fails or is canceled: "wait" or "fail".
    waiting_on = pw.IntegerField(default=0)
    on_dependency_failure = pw.CharField(max_length=8, default="wait")

    class Meta:
        table_name = "jobs"


class Task(BaseModel):
    id: pw.AutoField[int]
    job_id: pw.Field[int]
    worker_id: pw.Field[int | None]
    uuid = pw.CharField(max_length=36, unique=True)
    job = pw.ForeignKeyField(Job, on_delete="CASCADE")
    name = pw.CharField()
    type = pw.CharField()
    index_in_job = pw.IntegerField()
    priority = pw.IntegerField(default=50)
    # Copied from the job so the scheduler's ordering is one partial index on this table.
    job_priority = pw.IntegerField(default=50)
    status = pw.CharField()
    worker = pw.ForeignKeyField(Worker, null=True, on_delete="SET NULL")
    last_touched_at = pw.DateTimeField(null=True)
    # When it was last handed out to a worker (the start of a worker's run of it).
    started_at = pw.DateTimeField(null=True)
    commands = JSONField(default=list)
    activity = pw.TextField(default="")
    steps_completed = pw.IntegerField(default=0)
    steps_total = pw.IntegerField(default=1)
    # How many of its dependencies are not completed, plus its job's `waiting_on`: only tasks at 0 are in the scheduler's index.
    deps_left = pw.IntegerField(default=0)
    # The scheduler's order within the job (index_in_job stays the task's place for display): a render
    # job's preview chunks rank first (negative ranks, see app.manager.scheduling.preview_first).
    hand_out_rank = pw.IntegerField(default=0)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()

    class Meta:
        table_name = "tasks"


class TaskDependency(BaseModel):
    task_id: pw.Field[int]
    dependency_id: pw.Field[int]
    task = pw.ForeignKeyField(Task, on_delete="CASCADE")
    dependency = pw.ForeignKeyField(Task, on_delete="CASCADE")

    class Meta:
        table_name = "task_dependencies"
        primary_key = pw.CompositeKey("task", "dependency")


class JobDependency(BaseModel):
    """A job that waits for another job to complete."""

    job_id: pw.Field[int]
    dependency_id: pw.Field[int]
    job = pw.ForeignKeyField(Job, on_delete="CASCADE")
    dependency = pw.ForeignKeyField(Job, on_delete="CASCADE")

    class Meta:
        table_name = "job_dependencies"
        primary_key = pw.CompositeKey("job", "dependency")


class TaskFailure(BaseModel):
    task_id: pw.Field[int]
    worker_id: pw.Field[int]
    task = pw.ForeignKeyField(Task, on_delete="CASCADE")
    worker = pw.ForeignKeyField(Worker, on_delete="CASCADE")
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "task_failures"
        primary_key = pw.CompositeKey("task", "worker")


class JobBlock(BaseModel):
    job_id: pw.Field[int]
    worker_id: pw.Field[int]
    job = pw.ForeignKeyField(Job, on_delete="CASCADE")
    worker = pw.ForeignKeyField(Worker, on_delete="CASCADE")
    task_type = pw.CharField()
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "job_blocks"
        primary_key = pw.CompositeKey("job", "worker", "task_type")


class SleepSchedule(BaseModel):
    id: pw.AutoField[int]
    worker_id: pw.Field[int]
    worker = pw.ForeignKeyField(Worker, unique=True, on_delete="CASCADE")
    is_active = pw.BooleanField(default=False)
    days_of_week = pw.CharField(default="")
    start_time = pw.CharField(default="")
    end_time = pw.CharField(default="")
    next_check = pw.DateTimeField(null=True)

    class Meta:
        table_name = "sleep_schedules"


class TaskRun(BaseModel):
    """A task a worker reported completed or failed: one row per report, kept for a while."""

    id: pw.AutoField[int]
    worker_id: pw.Field[int]
    worker = pw.ForeignKeyField(Worker, on_delete="CASCADE", index=False)
    task_uuid = pw.CharField(max_length=36)
    job_uuid = pw.CharField(max_length=36)
    task_type = pw.CharField()
    outcome = pw.CharField(max_length=16)  # "completed" or "failed"
    frames = pw.IntegerField(default=0)
    seconds = pw.FloatField(default=0.0)  # from hand-out to the report
    finished_at = pw.DateTimeField()
    render_time_s = pw.FloatField(null=True)  # what Blender printed, where the worker read it
    peak_memory_mb = pw.FloatField(null=True)
    steps = pw.IntegerField(default=0)  # the task's steps (a render task's frames)
    job_type = pw.CharField(default="")
    blend_key = pw.TextField(default="")  # the job's .blend file, as submitted

    class Meta:
        table_name = "task_runs"


ALL_MODELS = [WorkerTag, Worker, WorkerTagMembership, Job, JobDependency, Task, TaskDependency, TaskFailure,
              JobBlock, SleepSchedule, TaskRun]

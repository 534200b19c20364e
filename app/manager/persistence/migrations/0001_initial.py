"""Initial schema: jobs, tasks, dependencies, workers, tags, blocklist, failures, sleep schedules.

Models here are a frozen copy: later changes to `models.py` must come as new numbered migrations.
Indexes are named for the queries that use them.
"""

import peewee as pw


def up(migrator, db):
    class Base(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class WorkerTag(Base):
        uuid = pw.CharField(max_length=36, unique=True)
        name = pw.CharField(unique=True)
        description = pw.TextField(default="")

        class Meta:
            table_name = "worker_tags"

    class Worker(Base):
        uuid = pw.CharField(max_length=36, unique=True)
        secret_hash = pw.CharField()
        name = pw.CharField(default="")
        address = pw.CharField(default="")
        platform = pw.CharField(default="")
        software = pw.CharField(default="")
        status = pw.CharField(default="")
        status_requested = pw.CharField(default="")
        lazy_status_request = pw.BooleanField(default=False)
        supported_task_types = pw.CharField(default="")
        can_restart = pw.BooleanField(default=False)
        last_seen_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        deleted_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "workers"

    class WorkerTagMembership(Base):
        worker = pw.ForeignKeyField(Worker, on_delete="CASCADE")
        tag = pw.ForeignKeyField(WorkerTag, on_delete="CASCADE")

        class Meta:
            table_name = "worker_tag_membership"
            primary_key = pw.CompositeKey("worker", "tag")

    class Job(Base):
        uuid = pw.CharField(max_length=36, unique=True)
        name = pw.CharField()
        job_type = pw.CharField()
        priority = pw.IntegerField(default=50)
        status = pw.CharField()
        activity = pw.TextField(default="")
        settings = pw.TextField(default="{}")
        metadata = pw.TextField(default="{}")
        submitter_platform = pw.CharField(default="")
        type_etag = pw.CharField(default="")
        storage_shaman_checkout_id = pw.CharField(default="")
        worker_tag = pw.ForeignKeyField(WorkerTag, null=True, on_delete="RESTRICT")
        steps_completed = pw.IntegerField(default=0)
        steps_total = pw.IntegerField(default=0)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        delete_requested_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "jobs"

    class Task(Base):
        uuid = pw.CharField(max_length=36, unique=True)
        job = pw.ForeignKeyField(Job, on_delete="CASCADE", index=False)
        name = pw.CharField()
        type = pw.CharField()
        index_in_job = pw.IntegerField()
        priority = pw.IntegerField(default=50)
        job_priority = pw.IntegerField(default=50)
        status = pw.CharField()
        worker = pw.ForeignKeyField(Worker, null=True, on_delete="SET NULL", index=False)
        last_touched_at = pw.DateTimeField(null=True)
        commands = pw.TextField(default="[]")
        activity = pw.TextField(default="")
        steps_completed = pw.IntegerField(default=0)
        steps_total = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "tasks"

    class TaskDependency(Base):
        task = pw.ForeignKeyField(Task, on_delete="CASCADE", index=False)
        dependency = pw.ForeignKeyField(Task, on_delete="CASCADE")

        class Meta:
            table_name = "task_dependencies"
            primary_key = pw.CompositeKey("task", "dependency")

    class TaskFailure(Base):
        task = pw.ForeignKeyField(Task, on_delete="CASCADE", index=False)
        worker = pw.ForeignKeyField(Worker, on_delete="CASCADE")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "task_failures"
            primary_key = pw.CompositeKey("task", "worker")

    class JobBlock(Base):
        job = pw.ForeignKeyField(Job, on_delete="CASCADE", index=False)
        worker = pw.ForeignKeyField(Worker, on_delete="CASCADE")
        task_type = pw.CharField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "job_blocks"
            primary_key = pw.CompositeKey("job", "worker", "task_type")

    class SleepSchedule(Base):
        worker = pw.ForeignKeyField(Worker, unique=True, on_delete="CASCADE")
        is_active = pw.BooleanField(default=False)
        days_of_week = pw.CharField(default="")
        start_time = pw.CharField(default="")
        end_time = pw.CharField(default="")
        next_check = pw.DateTimeField(null=True)

        class Meta:
            table_name = "sleep_schedules"

    db.create_tables([WorkerTag, Worker, WorkerTagMembership, Job, Task, TaskDependency,
                      TaskFailure, JobBlock, SleepSchedule])
    for sql in INDEXES:
        db.execute_sql(sql)


INDEXES = [
    # Scheduler: runnable tasks in hand-out order; the partial WHERE keeps it small.
    "CREATE INDEX tasks_runnable ON tasks (job_priority DESC, priority DESC, job_id, index_in_job)"
    " WHERE status IN ('queued', 'soft-failed')",
    # Job pages and per-job status counts (state machine) without touching the table.
    "CREATE UNIQUE INDEX tasks_job_index ON tasks (job_id, index_in_job)",
    "CREATE INDEX tasks_job_status ON tasks (job_id, status)",
    # A worker's active task (step 1 of scheduling, requeue on sign-off).
    "CREATE INDEX tasks_worker_status ON tasks (worker_id, status)",
    # Timeout checker: active tasks by last touch.
    "CREATE INDEX tasks_active_touched ON tasks (last_touched_at) WHERE status = 'active'",
    "CREATE INDEX jobs_status ON jobs (status)",
    "CREATE INDEX jobs_updated ON jobs (updated_at)",
    "CREATE INDEX jobs_delete_requested ON jobs (delete_requested_at)"
    " WHERE delete_requested_at IS NOT NULL",
    "CREATE INDEX task_failures_task ON task_failures (task_id)",
    "CREATE INDEX job_blocks_job ON job_blocks (job_id, worker_id)",
    "CREATE INDEX workers_last_seen ON workers (last_seen_at)",
]

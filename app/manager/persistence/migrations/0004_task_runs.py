"""Workers' finished task runs, so a worker's day (tasks done and failed, frames, time) survives a
Manager restart, a requeued job and a deleted one.

`tasks.started_at` is when the task was last handed out (set in the claim's own UPDATE), and
`task_runs` holds one row per task a worker reported completed or failed: its outcome, its frames
and the seconds from hand-out to that report. Job and task are kept by uuid, not by reference, so
deleting a job leaves its workers' history whole.
"""

import peewee as pw


def up(migrator, db):
    class Base(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Worker(Base):
        class Meta:
            table_name = "workers"

    class TaskRun(Base):
        worker = pw.ForeignKeyField(Worker, on_delete="CASCADE", index=False)
        task_uuid = pw.CharField(max_length=36)
        job_uuid = pw.CharField(max_length=36)
        task_type = pw.CharField()
        outcome = pw.CharField(max_length=16)
        frames = pw.IntegerField(default=0)
        seconds = pw.FloatField(default=0.0)
        finished_at = pw.DateTimeField()

        class Meta:
            table_name = "task_runs"

    db.execute_sql("ALTER TABLE tasks ADD COLUMN started_at TIMESTAMP NULL")
    db.create_tables([TaskRun])
    # A worker's day; and the pruning of old rows.
    db.execute_sql("CREATE INDEX task_runs_worker_finished ON task_runs (worker_id, finished_at)")
    db.execute_sql("CREATE INDEX task_runs_finished ON task_runs (finished_at)")

"""Finished task runs keep what the farm's ETA learns from: the render time and peak memory the worker
read from Blender (NULL where it sent none), the task's steps (a render task's frames), and the job's
type and .blend file, so a new job of the same file or type has an estimate before any of its tasks
finished. Runs stored before have no steps, type or file and count for nothing there.
"""


def up(migrator, db):
    for column in ("render_time_s REAL NULL", "peak_memory_mb REAL NULL", "steps INTEGER NOT NULL DEFAULT 0",
                   "job_type VARCHAR(255) NOT NULL DEFAULT ''", "blend_key TEXT NOT NULL DEFAULT ''"):
        db.execute_sql(f"ALTER TABLE task_runs ADD COLUMN {column}")
    # A job's own runs; the history of a file; of a job type (newest first).
    db.execute_sql("CREATE INDEX task_runs_job ON task_runs (job_uuid)")
    db.execute_sql("CREATE INDEX task_runs_blend_finished ON task_runs (blend_key, finished_at)")
    db.execute_sql("CREATE INDEX task_runs_type_finished ON task_runs (job_type, finished_at)")

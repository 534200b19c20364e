"""Tasks count their unfinished dependencies, so the scheduler's index holds only tasks that can run.

`tasks.deps_left` is how many of a task's dependencies are not completed yet. The partial index
`tasks_runnable` now leaves out tasks with `deps_left > 0`: before, a claim stepped over every
queued task still waiting for its dependencies, once per claim (bench/scale.py: 10,000 workers
polling past a job whose 9,999 tasks waited for its first one saturated the Manager).

Also `tasks_worker_touched`: the scheduler's "job this worker ran last" lookup (warm Blender).
"""


def up(migrator, db):
    db.execute_sql("ALTER TABLE tasks ADD COLUMN deps_left INTEGER NOT NULL DEFAULT 0")
    db.execute_sql(
        "UPDATE tasks SET deps_left = (SELECT count(*) FROM task_dependencies d"
        " JOIN tasks dt ON dt.id = d.dependency_id"
        " WHERE d.task_id = tasks.id AND dt.status != 'completed')"
        " WHERE id IN (SELECT task_id FROM task_dependencies)")
    db.execute_sql("DROP INDEX tasks_runnable")
    db.execute_sql(
        "CREATE INDEX tasks_runnable ON tasks (job_priority DESC, priority DESC, job_id, index_in_job)"
        " WHERE status IN ('queued', 'soft-failed') AND deps_left = 0")
    db.execute_sql("CREATE INDEX tasks_worker_touched ON tasks (worker_id, last_touched_at)")

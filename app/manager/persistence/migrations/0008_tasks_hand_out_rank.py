"""Tasks carry a hand-out rank: the scheduler's order within a job, apart from the task's place in it.

`tasks.hand_out_rank` replaces `index_in_job` in the scheduler's ORDER BY and in the partial index
`tasks_runnable`, so a job can hand out some tasks before others without renumbering them: a render
job's preview chunks (first, last, middle frames) go out first while the job page still lists the
tasks in frame order (`index_in_job`). Tasks stored before keep their order: rank = index_in_job.
"""


def up(migrator, db):
    db.execute_sql("ALTER TABLE tasks ADD COLUMN hand_out_rank INTEGER NOT NULL DEFAULT 0")
    db.execute_sql("UPDATE tasks SET hand_out_rank = index_in_job")
    db.execute_sql("DROP INDEX tasks_runnable")
    db.execute_sql(
        "CREATE INDEX tasks_runnable ON tasks (job_priority DESC, priority DESC, job_id, hand_out_rank)"
        " WHERE status IN ('queued', 'soft-failed') AND deps_left = 0")

"""Jobs that wait for other jobs: `job_dependencies`, and a waiting job's count of unmet ones.

`job_dependencies` holds one row per (job, job it waits for). `jobs.waiting_on` counts the job's
dependencies that are not completed, and each of its tasks carries the same count inside its
`deps_left`: the partial index `tasks_runnable` (only `deps_left = 0`) then leaves a waiting job's
tasks out, so a claim never steps over them. `jobs.on_dependency_failure` says what a dependant does
when a job it waits for fails or is canceled: `wait` (for someone to requeue it) or `fail`.
"""

import peewee as pw


def up(migrator, db):
    class Base(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Job(Base):
        class Meta:
            table_name = "jobs"

    class JobDependency(Base):
        job = pw.ForeignKeyField(Job, on_delete="CASCADE", index=False)
        dependency = pw.ForeignKeyField(Job, on_delete="CASCADE", index=False)

        class Meta:
            table_name = "job_dependencies"
            primary_key = pw.CompositeKey("job", "dependency")

    db.execute_sql("ALTER TABLE jobs ADD COLUMN waiting_on INTEGER NOT NULL DEFAULT 0")
    db.execute_sql("ALTER TABLE jobs ADD COLUMN on_dependency_failure VARCHAR(8) NOT NULL DEFAULT 'wait'")
    db.create_tables([JobDependency])
    # The dependants of a job that just completed, failed or went away.
    db.execute_sql("CREATE INDEX job_dependencies_dependency ON job_dependencies (dependency_id)")

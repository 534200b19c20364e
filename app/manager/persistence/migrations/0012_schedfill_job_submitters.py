"""Jobs keep their submitter for fair share in columns of their own, so a claim parses no metadata.

`jobs.share_by` is the metadata key the submitter was read under and `jobs.submitter` its value
("" for none). A job is stored with the default key, `user.name`; a Manager sharing by another key
reads the others again once, at its next fair-share claim. Jobs stored before are filled here from
their metadata. Two partial indexes keep a fair-share claim's lookups to the jobs and tasks that
matter: the unfinished jobs by priority (and by key, to find those read under another key), and the
running tasks by job, so counting them costs the busy workers' rows, not the queue's.
"""

import json

SHARE_BY = "user.name"  # the default of `fair_share_by`, as jobs are stored with it
BATCH = 1000
UNFINISHED = "status IN ('active', 'queued') AND delete_requested_at IS NULL"


def up(migrator, db):
    db.execute_sql("ALTER TABLE jobs ADD COLUMN share_by VARCHAR(255) NOT NULL DEFAULT ''")
    db.execute_sql("ALTER TABLE jobs ADD COLUMN submitter VARCHAR(255) NOT NULL DEFAULT ''")
    last = 0
    while True:
        rows = db.execute_sql(f"SELECT id, metadata FROM jobs WHERE id > {db.param} ORDER BY id LIMIT {BATCH}",
                              [last]).fetchall()
        if not rows:
            break
        updates = [(SHARE_BY, _submitter(metadata), job_id) for job_id, metadata in rows]
        db.cursor().executemany(
            f"UPDATE jobs SET share_by = {db.param}, submitter = {db.param} WHERE id = {db.param}", updates)
        last = rows[-1][0]
    db.execute_sql(f"CREATE INDEX jobs_unfinished_by_priority ON jobs (priority, submitter, id) WHERE {UNFINISHED}")
    db.execute_sql(f"CREATE INDEX jobs_unfinished_by_share_key ON jobs (share_by) WHERE {UNFINISHED}")
    db.execute_sql("CREATE INDEX tasks_running_by_job ON tasks (job_id) WHERE status = 'active'")


def _submitter(text):
    try:
        metadata = json.loads(text or "{}")
    except ValueError:
        return ""
    value = metadata.get(SHARE_BY) if isinstance(metadata, dict) else None
    return value.strip()[:255] if isinstance(value, str) else ""

"""Each job's submitter for fair share, kept in `jobs.submitter` beside the key it was read under.

A job's submitter is a value of its metadata (`fair_share_by`, `user.name` by default). Reading it
from the metadata on every claim cost a JSON parse per active or queued job per claim; it is read
once instead, when the job is stored, under the default key. A Manager set to share by another key
(`project`, say) finds the unfinished jobs read under another key with one seek on a partial index
and reads them again once (`refresh`), so the column always answers for the key in force.
"""

from __future__ import annotations

import json
from typing import Any

from app.manager.persistence.models import current_db
from app.manager.scheduling.fair_share import DEFAULT_SHARE_BY, MAX_NAME, submitter_of

UNFINISHED = "j.status IN ('active', 'queued') AND j.delete_requested_at IS NULL"
# `<` and `>` rather than `<>`: both databases seek a partial index for a range, not for "not equal".
_STALE_SQL = """
SELECT j.id, j.metadata FROM jobs j
WHERE (j.share_by < {p} OR j.share_by > {p}) AND """ + UNFINISHED


def store_submitter(job_id: int, metadata: Any, share_by: str = DEFAULT_SHARE_BY) -> None:
    """Write a new job's submitter (in the transaction that stores it)."""
    db = current_db()
    db.execute_sql(f"UPDATE jobs SET share_by = {db.param}, submitter = {db.param} WHERE id = {db.param}",
                   [share_by, submitter_name(metadata, share_by), job_id])


def refresh(share_by: str) -> int:
    """Read the submitter again for the unfinished jobs read under another key; how many there were.
    Nothing to do (the usual case) costs one seek that finds no row."""
    db = current_db()
    rows = db.execute_sql(_STALE_SQL.format(p=db.param), [share_by, share_by]).fetchall()
    if rows:
        db.cursor().executemany(
            f"UPDATE jobs SET share_by = {db.param}, submitter = {db.param} WHERE id = {db.param}",
            [(share_by, submitter_name(_parsed(metadata), share_by), job_id) for job_id, metadata in rows])
    return len(rows)


def submitter_name(metadata: Any, share_by: str) -> str:
    return submitter_of(metadata, share_by)[:MAX_NAME]


def _parsed(text: Any) -> Any:
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}

"""The fair-share part of a waiting job's explanation, from the Manager's `GET /api/v3/tablao/fair-share`.

Under `scheduler_policy: fair-share` a job whose able workers are all busy waits for its submitter's
turn: the next free worker goes to the submitter furthest below its share. Pure, like `why_waiting`.
"""

from __future__ import annotations

from typing import Any

from app.manager.scheduling.fair_share import FAIR_SHARE, describe, submitter_of


def share_text(job: dict[str, Any], share: dict[str, Any] | None) -> str:
    """"fair share: alice has 3 of 4 workers, bob 1 (this job is bob's)"; "" under strict priority."""
    if not share or share.get("policy") != FAIR_SHARE:
        return ""
    running = {str(s.get("name", "")): int(s.get("running") or 0) for s in share.get("submitters") or []}
    text = describe(running, int(share.get("tasks_running") or 0))
    mine = submitter_of(job.get("metadata") or {}, str(share.get("share_by") or "user.name"))
    whose = f"{mine}'s" if mine else "without a submitter"
    return f"{text} (this job is {whose}; the next free worker goes to whoever is furthest below their share)"

"""Why a job is not running, in words, from what its Manager says about it and about the workers.

A pure function of the job, its tasks, the workers (with tags and task types), the job's
blocklist and the Manager's words for requirements no worker meets, so it is the same in the
dashboard and in tests, and cheap to recompute.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.ui.fair_share_text import share_text

RUNNING = {"active"}
WAITING_TASK = {"queued", "soft-failed"}


def explain(job: dict[str, Any], tasks: list[dict[str, Any]], workers: list[dict[str, Any]],
            blocklist: list[dict[str, Any]], tag_name: str = "", unmet: Sequence[str] = (),
            share: dict[str, Any] | None = None) -> str:
    """One or two sentences; "" when the job is not waiting (running, finished). `unmet`: the Manager's
    words for what the job's scene needs and no connected worker has (`.../tablao/jobs/{id}/requirements`);
    `share`: the Manager's fair-share report, when it has one."""
    early = _by_status(job, tasks)
    if early is not None:
        return early
    waiting = [t for t in tasks if t.get("status") in WAITING_TASK]
    task_types: set[str] = {kind for t in waiting if (kind := t.get("task_type") or t.get("type"))}
    live = [w for w in workers if w.get("status") not in ("offline",) and not w.get("deleted_at")]
    if not live:
        return "No worker is connected to this Manager. Start one with `tablao worker --manager URL`."
    tag = job.get("worker_tag")
    if tag:
        tagged = [w for w in live if any(t.get("id") == tag for t in w.get("tags") or [])]
        if not tagged:
            return f"No connected worker has the tag '{tag_name or tag}'. Give a worker that tag, or remove the tag from the job."
        live = tagged
    able = [w for w in live if not task_types or task_types & set(w.get("supported_task_types") or task_types)]
    if not able:
        return f"No connected worker can run {', '.join(sorted(task_types))} tasks."
    if unmet:
        return "The job " + "; it ".join(unmet) + "."
    blocked = {(b.get("worker_id"), b.get("task_type")) for b in blocklist}
    unblocked = [w for w in able if not all((w.get("id"), tt) in blocked for tt in task_types or {""})]
    if not unblocked:
        return (f"Every able worker ({len(able)}) is blocklisted for this job after failing it; "
                "remove them from the blocklist to let them try again.")
    awake = [w for w in unblocked if w.get("status") == "awake"]
    if not awake:
        states = sorted({str(w.get("status")) for w in unblocked})
        return f"All {len(unblocked)} able worker(s) are {' or '.join(states)}."
    idle = [w for w in awake if not w.get("task")]
    if not idle:
        if shared := share_text(job, share):
            return f"All {len(awake)} able worker(s) are busy; {shared}."
        return f"All {len(awake)} able worker(s) are busy with other tasks (higher priority or older jobs first)."
    if any(t.get("status") in RUNNING | {"completed"} for t in tasks):
        return "The next tasks wait for the tasks they depend on."
    return "A worker is about to pick it up."


def _by_status(job: dict[str, Any], tasks: list[dict[str, Any]]) -> str | None:
    """The answer that the job's own status gives ("" for a job not waiting), or None to look further."""
    status = job.get("status")
    if status in ("paused", "pause-requested"):
        return "The job is paused: resume it (Jobs ▸ Requeue whole job) to render."
    if status == "under-construction":
        return "The job is still being compiled by the Manager."
    if status not in ("queued", "active"):
        return ""
    if job.get("waiting_on"):  # the Manager's words: "Waiting for 'render A'"
        return f"{job.get('activity') or 'It waits for other jobs'}: it starts when they complete."
    if status == "active" and any(t.get("status") in RUNNING for t in tasks):
        return ""
    if not any(t.get("status") in WAITING_TASK for t in tasks):
        return ""
    return None


async def unmet_requirements(client: Any, job_id: str) -> list[str]:
    """The Manager's words for what the job needs and no connected worker has; [] from a Manager
    without the route (Flamenco's answers 404)."""
    from app.api.errors import HttpError

    try:
        return list((await client.job_requirements(job_id)).unmet)
    except HttpError as exc:
        if exc.status == 404:
            return []
        raise

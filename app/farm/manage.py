"""Acting on jobs already on the farm: `kill`, `requeue`, `status`, `slash-and-burn`."""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from app.api.enums import JobStatus, TaskStatus
from app.api.jobs import Job, JobEtas, TaskSummary
from app.farm.context import FINISHED, QUICK_KEY, Farm, current_jobs, job_name, job_row, release_of
from app.farm.errors import Refused, UsageError
from app.farm.query import Query, parse_query

_log = logging.getLogger(__name__)

CANCELLABLE = frozenset({JobStatus.ACTIVE, JobStatus.QUEUED, JobStatus.PAUSED, JobStatus.PAUSE_REQUESTED,
                         JobStatus.FAILED})
CONFIRM_WORD = "slash-and-burn"


async def _select(farm: Farm, text: str, release_scope: bool) -> tuple[Query, list[Job]]:
    query = parse_query(text)
    jobs = await farm.jobs()
    if release_scope:
        wanted = query.releases()
        if not wanted:
            raise UsageError("`release.jobs` needs the release in the query, e.g. 'release:2026-11-27 status:active'")
        known = {release_of(j) for j in jobs} | set(farm.layout.release_names())
        from fnmatch import fnmatchcase
        for pattern in wanted:
            if not any(r and fnmatchcase(r, pattern) for r in known):
                raise Refused(f"unknown release {pattern!r}")
        jobs = [j for j in jobs if release_of(j)]
    return query, [j for j in jobs if query.matches(j)]


async def kill(farm: Farm, text: str, release_scope: bool = False) -> dict[str, Any]:
    """Cancel the matching jobs that can still be cancelled, after listing them and asking."""
    con = farm.console
    _, matched = await _select(farm, text, release_scope)
    targets = [j for j in matched if j.status in CANCELLABLE]
    result: dict[str, Any] = {"query": text, "dry_run": farm.dry_run, "matched": len(matched),
                              "canceled": [], "to_cancel": [job_row(j) for j in targets]}
    if not targets:
        con.say(f"no job to cancel matches {text!r} ({len(matched)} matching jobs have finished)")
        return result
    con.say(f"{'would cancel' if farm.dry_run else 'to cancel'} {len(targets)} jobs:")
    for job in targets:
        con.say(f"  {job.id}  {job.name}  ({job.status})")
    if farm.dry_run:
        return result
    if not await con.confirm(f"cancel these {len(targets)} jobs?", farm.yes):
        raise Refused("nothing cancelled")
    for job in targets:
        await farm.client.set_job_status(job.id, JobStatus.CANCEL_REQUESTED, f"farm kill: {text}")
        result["canceled"].append(job_row(job))
    con.say(f"cancelled {len(targets)} jobs")
    return result


async def requeue(farm: Farm, text: str) -> dict[str, Any]:
    """Requeue the failed tasks (only those) of the matching jobs."""
    con = farm.console
    _, matched = await _select(farm, text, False)
    result: dict[str, Any] = {"query": text, "dry_run": farm.dry_run, "requeued": []}
    for job in matched:
        failed = [t for t in await farm.client.job_tasks(job.id) if t.status == TaskStatus.FAILED]
        for task in failed:
            if not farm.dry_run:
                await farm.client.set_task_status(task.id, TaskStatus.QUEUED, f"farm requeue: {text}")
            result["requeued"].append({"job": job.id, "job_name": job.name, "task": task.id, "name": task.name})
            con.say(f"  {'would requeue' if farm.dry_run else 'requeued'} {job.name} task {task.name}")
    con.say(f"{len(result['requeued'])} failed tasks {'to requeue' if farm.dry_run else 'requeued'} "
            f"in {len(matched)} matching jobs")
    return result


# --- status ------------------------------------------------------------------------------------


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


def manager_eta(job: Job, tasks: list[TaskSummary], etas: JobEtas | None, now: datetime) -> float | None:
    """Seconds left by the Manager's ETA (the figure the dashboard and status page show); from an older
    Manager without one, at the job's pace so far (`eta_seconds`)."""
    if not any(t.status not in (TaskStatus.COMPLETED, TaskStatus.CANCELED) for t in tasks):
        return 0.0
    if etas is None:
        return eta_seconds(job, tasks, now)
    eta = etas.jobs.get(job.id)
    end = _time(eta.at) if eta is not None else None
    return max(0.0, (end - now).total_seconds()) if end is not None else None


def eta_seconds(job: Job, tasks: list[TaskSummary], now: datetime) -> float | None:
    """Remaining time at the pace so far: (time since the job started / tasks done) x tasks left."""
    done = [t for t in tasks if t.status == TaskStatus.COMPLETED]
    left = sum(t.status not in (TaskStatus.COMPLETED, TaskStatus.CANCELED) for t in tasks)
    start = _time(job.created)
    if not left:
        return 0.0
    if not done or start is None or job.status in FINISHED:
        return None
    ends = [e for e in (_time(t.updated) for t in done) if e is not None]
    if not ends:
        return None
    per_task = max((max(ends) - start).total_seconds(), 0.0) / len(done)
    return per_task * left


def _eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA unknown"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return "ETA " + (f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s")


async def status(farm: Farm, release: str | None = None) -> dict[str, Any]:
    """Jobs per release with their progress and an ETA."""
    con = farm.console
    jobs = await farm.jobs()
    if release is not None and not any(release_of(j) == release for j in jobs):
        farm.layout.existing_release(release)  # an unknown release is refused; a known one has no jobs yet
    groups: dict[str, list[Job]] = {}
    for rel in sorted({known for j in jobs if (known := release_of(j))} if release is None else {release}):
        groups[rel] = list(current_jobs(jobs, rel).values())
    if release is None:
        quick = [j for j in jobs if not release_of(j)]
        if quick:
            groups["(quick and other jobs)"] = quick
    now = datetime.now().astimezone()
    etas = await farm.client.job_etas() if groups else None
    result: dict[str, Any] = {"releases": {}}
    for name, members in groups.items():
        rows, left_total, unknown = [], 0.0, False
        for job in members:
            tasks = await farm.client.job_tasks(job.id)
            done = sum(t.status == TaskStatus.COMPLETED for t in tasks)
            eta = manager_eta(job, tasks, etas, now)
            unknown |= eta is None
            left_total += eta or 0.0
            rows.append({**job_row(job), "tasks_done": done, "tasks_total": len(tasks), "eta_s": eta,
                         "quick": job.metadata.get(QUICK_KEY) == "true"})
        done_all = sum(r["tasks_done"] for r in rows)
        total_all = sum(r["tasks_total"] for r in rows)
        eta_all = None if unknown else left_total
        result["releases"][name] = {"jobs": rows, "tasks_done": done_all, "tasks_total": total_all,
                                    "eta_s": eta_all}
        con.say(f"{name}: {done_all}/{total_all} tasks, {_eta_text(eta_all)}")
        for r in rows:
            pct = 100 * r["tasks_done"] // r["tasks_total"] if r["tasks_total"] else 0
            con.say(f"  {r['job']:<24} {r['status']:<16} {r['tasks_done']}/{r['tasks_total']} ({pct}%)"
                    f"  {_eta_text(r['eta_s'])}")
    if not groups:
        con.say("no jobs on the farm")
    return result


# --- slash-and-burn ----------------------------------------------------------------------------


async def slash_and_burn(farm: Farm, confirm: str | None) -> dict[str, Any]:
    """Delete every job on the Manager and the frames farm jobs rendered; never dist/ or archives/."""
    con = farm.console
    jobs = await farm.jobs()
    outputs = _outputs(farm)
    result: dict[str, Any] = {"dry_run": farm.dry_run, "jobs": len(jobs), "outputs": [str(p) for p in outputs]}
    con.say(f"{'would delete' if farm.dry_run else 'this deletes'} {len(jobs)} jobs and "
            f"{len(outputs)} output folders (dist/ and archives/ stay)")
    for path in outputs:
        con.say(f"  {path}")
    if farm.dry_run:
        return result
    if not await con.typed_confirm(CONFIRM_WORD, confirm):
        raise Refused("confirmation did not match; nothing deleted")
    for job in con.progress(jobs, len(jobs), "deleting"):
        if job.status not in FINISHED and job.status != JobStatus.CANCEL_REQUESTED:
            await farm.client.set_job_status(job.id, JobStatus.CANCEL_REQUESTED, "farm slash-and-burn")
        await farm.client.delete_job(job.id)
    for path in outputs:
        await asyncio.to_thread(shutil.rmtree, path, True)
    con.say(f"deleted {len(jobs)} jobs and {len(outputs)} output folders")
    return result


def _outputs(farm: Farm) -> list[Path]:
    layout = farm.layout
    found = [layout.release(r) / "out" for r in layout.release_names() if (layout.release(r) / "out").is_dir()]
    quick = layout.root / "quick"
    if quick.is_dir():
        found += sorted(p / "out" for p in quick.iterdir() if (p / "out").is_dir())
    return found


__all__ = ["eta_seconds", "job_name", "kill", "requeue", "slash_and_burn", "status"]

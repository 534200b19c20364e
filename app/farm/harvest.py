"""`harvest release`: check every expected frame, then rename them into `dist/<release>/`.

Nothing moves unless every frame of every job is there, readable and not empty: one missing frame
and the harvest reports it (per job, as frame ranges) and exits 1. `--requeue-missing` requeues only
the render tasks that own the missing or broken frames (broken files are removed first: the job type
never overwrites a frame that exists).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.api.enums import JobStatus, TaskStatus
from app.api.jobs import Job
from app.farm.context import Farm
from app.farm.errors import Refused
from app.farm.frames import FrameProblem, NamingRule, check_frame, format_ranges, frame_file, parse_frames

_log = logging.getLogger(__name__)

RENDER_TASK_PREFIX = "render-"
_WILL_RUN = frozenset({TaskStatus.QUEUED, TaskStatus.ACTIVE, TaskStatus.SOFT_FAILED})


@dataclass(slots=True)
class JobHarvest:
    name: str
    job: Job
    frames: list[int]
    extension: str
    out_dir: Path
    moves: list[tuple[Path, Path]] = field(default_factory=list)  # (rendered frame, dist file)
    problems: list[FrameProblem] = field(default_factory=list)
    already: int = 0  # frames harvested before

    def report(self) -> dict[str, Any]:
        by_kind: dict[str, list[int]] = {}
        for p in self.problems:
            by_kind.setdefault(p.problem, []).append(p.frame)
        return {"id": self.job.id, "status": str(self.job.status), "expected": len(self.frames),
                "ready": len(self.moves), "already_harvested": self.already,
                "problems": {kind: format_ranges(frames) for kind, frames in by_kind.items()}}


async def harvest_release(farm: Farm, release: str, check_black: bool = False, requeue_missing: bool = False,
                          copy: bool = False, naming: str | None = None) -> dict[str, Any]:
    layout, con = farm.layout, farm.console
    layout.existing_release(release)
    rule = NamingRule(naming or layout.release_settings(release)["naming"])
    jobs = await farm.release_jobs(release)
    if not jobs:
        raise Refused(f"release {release} has no jobs on the farm; run `farm plan release {release}` first")
    dist = layout.dist(release)
    harvests = [_expected(name, job, layout.out(release, name)) for name, job in sorted(jobs.items())]
    total = sum(len(h.frames) for h in harvests)
    checks = _check_all(harvests, release, rule, dist, layout, check_black)
    for _ in con.progress(checks, total, "checking"):
        await asyncio.sleep(0)
    unfinished = [h for h in harvests if h.job.status != JobStatus.COMPLETED]
    broken = [h for h in harvests if h.problems]
    result: dict[str, Any] = {"release": release, "dist": str(dist), "dry_run": farm.dry_run,
                              "jobs": {h.name: h.report() for h in harvests}, "harvested": 0,
                              "requeued_tasks": [], "complete": not broken and not unfinished}
    _check_collisions(harvests)
    if broken or unfinished:
        for h in harvests:
            if h.job.status != JobStatus.COMPLETED:
                con.say(f"  {h.name}: job {h.job.id} is {h.job.status}")
            for kind, ranges in h.report()["problems"].items():
                con.say(f"  {h.name}: {kind} frames {ranges}")
        if requeue_missing:
            result["requeued_tasks"] = await _requeue(farm, broken)
        con.say(f"release {release} is not complete: nothing moved to {dist}")
        return result
    verb = "copy" if copy else "move"
    moves = [m for h in harvests for m in h.moves]
    if farm.dry_run:
        for src, dst in moves:
            con.say(f"  would {verb} {src} -> {dst}")
    else:
        dist.mkdir(parents=True, exist_ok=True)
        for src, dst in con.progress(moves, len(moves), "harvesting"):
            (shutil.copy2 if copy else shutil.move)(src, dst)
    result["harvested"] = len(moves)
    con.say(f"release {release}: {len(moves)} frames {'to ' + verb if farm.dry_run else verb + 'd'} "
            f"to {dist}" + (f" ({sum(h.already for h in harvests)} harvested before)"
                            if any(h.already for h in harvests) else ""))
    return result


def _expected(name: str, job: Job, out_dir: Path) -> JobHarvest:
    try:
        frames = parse_frames(str(job.settings.get("frames", "")))
    except ValueError as exc:
        raise Refused(f"job {job.id} ({name}) has frames {job.settings.get('frames')!r}: {exc}") from None
    extension = str(job.settings.get("image_file_extension") or ".png")
    harvest = JobHarvest(name, job, frames, extension, out_dir)
    harvest.moves = [(frame_file(out_dir, f, extension), Path()) for f in frames]
    return harvest


def _check_all(harvests: list[JobHarvest], release: str, rule: NamingRule, dist: Path, layout: Any,
               check_black: bool):
    """Check each frame (a generator, one step per frame, so the caller can draw progress)."""
    for h in harvests:
        pending, h.moves = h.moves, []
        for (src, _), frame in zip(pending, h.frames, strict=True):
            dst = dist / rule.name(release, h.name, frame, h.extension)
            problem = check_frame(src, frame, check_black)
            if problem is None:
                h.moves.append((src, dst))
            elif problem.problem == "missing" and dst.is_file() and check_frame(dst, frame, check_black) is None:
                h.already += 1
            else:
                h.problems.append(problem)
            yield frame


def _check_collisions(harvests: list[JobHarvest]) -> None:
    seen: dict[Path, str] = {}
    for h in harvests:
        for _, dst in h.moves:
            if dst in seen:
                raise Refused(f"the naming rule gives {dst.name} to frames of {seen[dst]} and {h.name}; "
                              "use <job> and <frame> in --naming")
            seen[dst] = h.name


async def _requeue(farm: Farm, broken: list[JobHarvest]) -> list[dict[str, Any]]:
    """Requeue the render tasks owning the problem frames; remove broken files first."""
    requeued: list[dict[str, Any]] = []
    for h in broken:
        bad = {p.frame for p in h.problems}
        for task in await farm.client.job_tasks(h.job.id):
            if not task.name.startswith(RENDER_TASK_PREFIX) or task.status in _WILL_RUN:
                continue  # a task still to run (or running) renders its frames anyway
            try:
                owned = set(parse_frames(task.name[len(RENDER_TASK_PREFIX):]))
            except ValueError:
                continue
            if not owned & bad:
                continue
            requeued.append({"job": h.name, "task": task.id, "name": task.name,
                             "frames": format_ranges(sorted(owned & bad))})
            if farm.dry_run:
                farm.console.say(f"  would requeue {h.name} task {task.name}")
                continue
            for p in h.problems:
                if p.frame in owned and p.problem != "missing":
                    frame_file(h.out_dir, p.frame, h.extension).unlink(missing_ok=True)
            await farm.client.set_task_status(task.id, TaskStatus.QUEUED,
                                              f"farm harvest: frames {format_ranges(sorted(owned & bad))} missing")
            farm.console.say(f"  requeued {h.name} task {task.name}")
    return requeued

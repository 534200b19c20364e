"""Putting work on the farm: `plan release`, `replace job`, `seed job`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from app.api.enums import JobStatus
from app.api.jobs import Job
from app.farm import blendfiles, chains
from app.farm.context import FINISHED, QUICK_KEY, Farm, find_release_job, job_row, release_of
from app.farm.errors import Refused, UsageError
from app.farm.frames import NamingRule
from app.farm.layout import check_name
from app.farm.query import JOB_KEY, RELEASE_KEY

_log = logging.getLogger(__name__)

CANCEL_WAIT_S = 60.0


def manager_job_name(release: str, job: str) -> str:
    return f"{release}.{job}"


async def plan_release(farm: Farm, release: str | None, chunk_size: int = 1, priority: int = 50,
                       naming: str | None = None) -> dict[str, Any]:
    """Submit one job per `store/*.blend` that is not on the farm yet."""
    layout, con = farm.layout, farm.console
    if naming is not None:
        NamingRule(naming)
    created = release is None or not layout.release(release).is_dir()
    release = release or layout.propose_release_name()
    if not farm.dry_run:
        layout.ensure()
        layout.create_release(release)
        settings = layout.release_settings(release)
        if naming is not None or created:
            settings.update({"name": release, "naming": naming or settings["naming"]})
            layout.save_release_settings(release, settings)
    if created:
        con.say(f"{'would create' if farm.dry_run else 'created'} release {release} at {layout.release(release)}")
    existing = await farm.release_jobs(release)
    blends = layout.blendfiles(release) if layout.store(release).is_dir() else []
    result: dict[str, Any] = {"release": release, "created": created, "dry_run": farm.dry_run,
                              "submitted": [], "already": []}
    if not blends:
        con.say(f"nothing to plan: put .blend files in {layout.store(release)} and plan again")
        return result
    for blend in con.progress(blends, len(blends), "planning"):
        name = check_name(blend.stem, "job")
        if name in existing:
            job = existing[name]
            result["already"].append(job_row(job))
            con.say(f"  {name}: already on the farm ({job.status}, job {job.id})")
            continue
        row = await _submit_release_job(farm, release, name, blend, chunk_size, priority)
        result["submitted"].append(row)
    con.say(f"release {release}: {len(result['submitted'])} "
            f"{'to submit' if farm.dry_run else 'submitted'}, {len(result['already'])} already on the farm")
    return result


async def _submit_release_job(farm: Farm, release: str, name: str, blend: Path, chunk_size: int,
                              priority: int) -> dict[str, Any]:
    info = await blendfiles.read_blend(blend)
    out_dir = farm.layout.out(release, name)
    job = blendfiles.render_job(info, manager_job_name(release, name), out_dir,
                                {RELEASE_KEY: release, JOB_KEY: name}, chunk_size, priority)
    row = {"job": name, "release": release, "frames": info.frames, "blendfile": str(blend),
           "output": str(out_dir)}
    if farm.dry_run:
        farm.console.say(f"  {name}: would submit frames {info.frames} -> {out_dir}")
        return row
    out_dir.mkdir(parents=True, exist_ok=True)
    submitted = await blendfiles.submit(farm.client, job)
    farm.console.say(f"  {name}: submitted frames {info.frames} as job {submitted.id}")
    return {**row, "id": submitted.id, "status": str(submitted.status)}


async def replace_job(farm: Farm, name: str, release: str | None, keep_frames: bool = False,
                      chunk_size: int | None = None) -> dict[str, Any]:
    """Cancel the job, clear (or move aside) its frames, and submit it again from its current file."""
    old = find_release_job(await farm.jobs(), name, release)
    release = release_of(old) or ""
    blend = farm.layout.store(release) / f"{name}.blend"
    if not blend.is_file():
        raise Refused(f"{blend} is gone; cannot resubmit {name}")
    out_dir = farm.layout.out(release, name)
    aside = out_dir.with_name(f"{name}.old-{datetime.now():%Y%m%d-%H%M%S}") if keep_frames else None
    result: dict[str, Any] = {"release": release, "job": name, "old_id": old.id, "dry_run": farm.dry_run,
                              "frames_moved_to": str(aside) if aside else None}
    chunk = chunk_size or int(old.settings.get("chunk_size") or 1)
    if farm.dry_run:
        farm.console.say(f"would cancel job {old.id} ({old.status}), "
                         f"{'move its frames to ' + str(aside) if aside else 'delete its frames'}, "
                         f"and resubmit {name} from {blend}")
        return result
    held = await chains.hold(farm.client, old.id)  # jobs waiting for it wait for the new one instead
    try:
        new, info = await _resubmit(farm, old, release, name, blend, out_dir, aside, chunk)
    except BaseException:
        await chains.restore(farm.client, held)  # their own failure choice back, still on the old job
        raise
    farm.console.say(f"replaced {name}: job {old.id} canceled, job {new.id} renders frames {info.frames}")
    moved = await chains.move(farm.client, held, old.id, new.id)
    if moved:
        farm.console.say(f"  {', '.join(moved)} now wait{'s' if len(moved) == 1 else ''} for job {new.id}")
    return {**result, "id": new.id, "frames": info.frames, "dependants": moved}


async def _resubmit(farm: Farm, old: Job, release: str, name: str, blend: Path, out_dir: Path,
                    aside: Path | None, chunk: int) -> tuple[Job, blendfiles.BlendInfo]:
    """Cancel the old job, clear (or move aside) its frames and submit the file again."""
    if old.status not in FINISHED:
        await farm.client.set_job_status(old.id, JobStatus.CANCEL_REQUESTED, f"replaced by farm: {name} changed")
        await _wait_finished(farm, old.id)
    if out_dir.is_dir():
        if aside:
            out_dir.rename(aside)
        else:
            shutil.rmtree(out_dir)
    info = await blendfiles.read_blend(blend)
    job = blendfiles.render_job(info, manager_job_name(release, name), out_dir,
                                {RELEASE_KEY: release, JOB_KEY: name}, chunk, old.priority)
    out_dir.mkdir(parents=True, exist_ok=True)
    return await blendfiles.submit(farm.client, job), info


async def _wait_finished(farm: Farm, job_id: str) -> None:
    """Wait for a canceled job to stop, so that no old frame lands after the folder is cleared."""
    deadline = time.monotonic() + CANCEL_WAIT_S
    while (job := await farm.client.job(job_id)).status not in FINISHED:
        if time.monotonic() > deadline:
            raise Refused(f"job {job_id} is still {job.status} after {CANCEL_WAIT_S:.0f} s; try again later")
        await asyncio.sleep(0.3)


async def seed_job(farm: Farm, file: Path | None, name: str, chunk_size: int = 1,
                   priority: int = 50) -> dict[str, Any]:
    """Submit one independent job rendering to `quick/<name>/out/`."""
    check_name(name, "job")
    folder = farm.layout.quick(name)
    if file is None:
        candidates = [folder / f"{name}.blend", farm.layout.root / "quick" / f"{name}.blend"]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise Refused(f"no file given and none at {candidates[0]} or {candidates[1]}")
    elif not file.is_file():
        raise UsageError(f"{file} is not a file")
    target = folder / f"{name}.blend"
    out_dir = folder / "out"
    result: dict[str, Any] = {"job": name, "blendfile": str(target), "output": str(out_dir),
                              "dry_run": farm.dry_run}
    info = await blendfiles.read_blend(file)
    if farm.dry_run:
        farm.console.say(f"would copy {file} to {target} and submit frames {info.frames} -> {out_dir}")
        return {**result, "frames": info.frames}
    farm.layout.ensure()
    out_dir.mkdir(parents=True, exist_ok=True)
    if file.resolve() != target.resolve():
        shutil.copy2(file, target)
    info = dataclasses.replace(info, path=target)
    job = blendfiles.render_job(info, name, out_dir, {JOB_KEY: name, QUICK_KEY: "true"}, chunk_size, priority)
    new = await blendfiles.submit(farm.client, job)
    farm.console.say(f"seeded {name}: job {new.id} renders frames {info.frames} -> {out_dir}")
    return {**result, "id": new.id, "frames": info.frames}

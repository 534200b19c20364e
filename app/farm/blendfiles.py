"""The seam between `farm` and the submission core: read a .blend, build a render job, submit it.

This is the only module of `farm` that starts Blender or builds a job's settings. Reading a .blend
is the submission core's (`app.submit.blendinfo.read_blend`, the same Blender run as `tablao
submit`, the add-on's checks and the desktop dialog); its failures become `Refused` in words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.api.jobs import Job, SubmittedJob
from app.farm.errors import Refused
from app.submit import blendinfo
from app.submit.errors import SubmitError

_log = logging.getLogger(__name__)

JOB_TYPE = "simple-blender-render"


@dataclass(frozen=True, slots=True)
class BlendInfo:
    """What `farm` needs of a .blend: its scene's frames and output format."""

    path: Path
    scene: str
    frame_start: int
    frame_end: int
    fps: float
    resolution: tuple[int, int, int]
    file_format: str
    file_extension: str
    frame_step: int = 1

    @property
    def frames(self) -> str:
        return f"{self.frame_start}-{self.frame_end}"


async def read_blend(path: Path, timeout_s: float = 120.0) -> BlendInfo:
    """Run Blender in the background on `path` and read its scene settings; `Refused` on failure."""
    try:
        info = await blendinfo.read_blend(path, timeout_s=timeout_s)
    except SubmitError as exc:
        raise Refused(str(exc)) from None
    scene = info.scene
    return BlendInfo(path, scene.name, scene.frame_start, scene.frame_end, scene.fps, scene.resolution,
                     scene.file_format, scene.file_extension, scene.frame_step)


def render_job(info: BlendInfo, name: str, out_dir: Path, metadata: dict[str, str],
               chunk_size: int = 1, priority: int = 50, frames: str | None = None) -> SubmittedJob:
    """A `simple-blender-render` job writing `out_dir/######<ext>`."""
    settings: dict[str, Any] = {
        "frames": frames or info.frames, "chunk_size": chunk_size, "render_output_root": str(out_dir),
        "add_path_components": 0, "render_output_path": str(out_dir / "######"),
        "blendfile": str(info.path), "fps": info.fps, "format": info.file_format,
        "image_file_extension": info.file_extension, "has_previews": False, "scene": info.scene,
    }
    return SubmittedJob(name=name, type=JOB_TYPE, submitter_platform=_platform(), priority=priority,
                        settings=settings, metadata=dict(metadata))


async def submit(client: Any, job: SubmittedJob) -> Job:
    """Submit through the Manager's API (the job type's etag is the Manager's current one)."""
    job_type = await client.job_type(job.type)
    job.type_etag = job_type.etag
    return await client.submit_job(job)


def _platform() -> str:
    import sys

    return {"win32": "windows", "darwin": "darwin"}.get(sys.platform, "linux")

"""The seam between `farm` and the submission core: read a .blend, build a render job, submit it.

This is the only module of `farm` that starts Blender or builds a job's settings; when the shared
submission core (`app.submit`) is merged, it replaces the bodies of `read_blend` and `render_job`
(`app.submit.blendinfo.read_blend(path).scene` has the same frame range, fps and output format).
`read_blend` runs `blender -b FILE --python-expr ...` and reads one JSON line of the scene's frame
range, frame rate, resolution and output format.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.api.jobs import Job, SubmittedJob
from app.farm.errors import Refused

_log = logging.getLogger(__name__)

JOB_TYPE = "simple-blender-render"
MARKER = "FARM_BLEND_INFO "
_PROBE = (
    "import bpy, json\n"
    "s = bpy.context.scene\n"
    "r = s.render\n"
    "print('" + MARKER + "' + json.dumps({'scene': s.name, 'frame_start': s.frame_start,"
    " 'frame_end': s.frame_end, 'frame_step': s.frame_step, 'fps': r.fps / r.fps_base,"
    " 'resolution': [r.resolution_x, r.resolution_y, r.resolution_percentage],"
    " 'file_format': r.image_settings.file_format, 'file_extension': r.file_extension}), flush=True)\n"
)


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


def blender_executable() -> str:
    exe = os.environ.get("TABLAO_BLENDER") or shutil.which("blender")
    if not exe:
        raise Refused("Blender is needed to read .blend files: install it or set TABLAO_BLENDER")
    return exe


async def read_blend(path: Path, timeout_s: float = 120.0) -> BlendInfo:
    """Run Blender in the background on `path` and read its scene settings; `Refused` on failure."""
    args = [blender_executable(), "-b", "--factory-startup", "-noaudio", str(path), "--python-expr", _PROBE]
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await proc.communicate()
    except BaseException as exc:  # a timeout or a cancellation: never leave Blender running
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        if isinstance(exc, TimeoutError):
            raise Refused(f"Blender took over {timeout_s:.0f} s to read {path}") from None
        raise
    text = out.decode("utf-8", errors="replace")
    for line in text.splitlines():
        if line.startswith(MARKER):
            doc = json.loads(line[len(MARKER):])
            return BlendInfo(path, doc["scene"], int(doc["frame_start"]), int(doc["frame_end"]),
                             float(doc["fps"]), tuple(doc["resolution"]), doc["file_format"],
                             doc["file_extension"], int(doc["frame_step"]))
    tail = " | ".join(text.strip().splitlines()[-3:])
    raise Refused(f"Blender could not read {path}: {tail or 'no output'}")


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

"""What a job needs of a worker (read from its scene) and what a worker has, as they travel.

`JobRequirements` is the optional top-level `requirements` object of a submitted job (a Tablao
extension: Flamenco's add-on sends none, and its jobs run anywhere, as before): the render engine,
the Cycles device and compute backend, samples and resolution, the Blender version that saved the
file, and the peak memory of the last local render where one was recorded. `WorkerFacts` is the
optional `facts` object of a worker's sign-on: its GPU backends, its memory and its Blender.

The Manager matches on three of them: a GPU (with the job's backend, when it names one), a Blender
at least as new as the file's (major.minor: patch releases share the file format, and a file
records no patch number), and enough memory for the recorded peak. Engine, samples and resolution
travel for the dashboards' words only.

Standard library only: the Blender add-on ships a copy (`_api/`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .codec import RequestBody, Wire
from .limits import SHORT_MAX, limits

#: Cycles' GPU compute backends, as Blender names them (`compute_device_type`).
BACKENDS = ("CUDA", "OPTIX", "HIP", "METAL", "ONEAPI")
#: How the words name them.
BACKEND_NAMES = {"CUDA": "CUDA", "OPTIX": "OptiX", "HIP": "HIP", "METAL": "Metal", "ONEAPI": "oneAPI"}
DEVICES = ("CPU", "GPU")
#: The most memory a job may say it needs, or a worker say it has: 1 PiB.
MEMORY_MAX = 2**50
#: Blender's own bounds of a render's size and scale.
RESOLUTION_MAX = 65536
PERCENTAGE_MAX = 32767
SAMPLES_MAX = 2**31 - 1

_VERSION = re.compile(r"(\d{1,3})\.(\d{1,3})(?:\.(\d{1,4}))?")


@dataclass(slots=True)
class JobRequirements(RequestBody):
    """What a job's scene needs (`requirements` in `POST /api/v3/jobs`); every field optional."""

    engine: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))
    device: str | None = field(default=None, metadata=limits(choices=DEVICES))
    #: Only with device GPU; absent: any GPU backend will do.
    gpu_backend: str | None = field(default=None, metadata=limits(choices=BACKENDS))
    #: The Blender that saved the file, "major.minor" or "major.minor.patch".
    blender_version: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))
    #: Bytes: the peak memory of the last local render, where one was recorded.
    memory_peak: int | None = field(default=None, metadata=limits(least=0, most=MEMORY_MAX))
    samples: int | None = field(default=None, metadata=limits(least=0, most=SAMPLES_MAX))
    resolution_x: int | None = field(default=None, metadata=limits(least=1, most=RESOLUTION_MAX))
    resolution_y: int | None = field(default=None, metadata=limits(least=1, most=RESOLUTION_MAX))
    resolution_percentage: int | None = field(default=None, metadata=limits(least=1, most=PERCENTAGE_MAX))


@dataclass(slots=True)
class WorkerFacts(RequestBody):
    """What a worker has (`facts` in `POST /api/v3/worker/sign-on`); a field left out is unknown.

    `gpu_backends` empty: the worker looked and has no GPU Cycles can use."""

    gpu_backends: list[str] | None = field(default=None, metadata=limits(max_len=SHORT_MAX, max_items=16))
    memory_total: int | None = field(default=None, metadata=limits(least=0, most=MEMORY_MAX))
    blender_version: str | None = field(default=None, metadata=limits(max_len=SHORT_MAX))


@dataclass(slots=True)
class JobRequirementsAnswer(Wire):
    """`GET /api/v3/tablao/jobs/{job_id}/requirements`: the job's requirements and, in words, each one
    that no connected worker meets ("needs a GPU (OptiX); no connected worker has one")."""

    requirements: JobRequirements = field(default_factory=JobRequirements)
    unmet: list[str] = field(default_factory=list)


def version_number(text: str | None) -> int | None:
    """"3.4.1" or "3.4" as one comparable number of its major and minor parts (3004); None if not one."""
    match = _VERSION.fullmatch((text or "").strip())
    if match is None:
        return None
    return int(match.group(1)) * 1000 + int(match.group(2))


def version_text(number: int) -> str:
    """`version_number`'s number as "3.4"."""
    return f"{number // 1000}.{number % 1000}"


def backend_mask(backends: list[str] | tuple[str, ...]) -> int:
    """The backends as bits (unknown names count for nothing): what a claim compares."""
    mask = 0
    for name in backends:
        if name in BACKENDS:
            mask |= 1 << BACKENDS.index(name)
    return mask


#: Every backend: what "a GPU, any backend" needs.
ANY_GPU = backend_mask(BACKENDS)


def backends_of(mask: int) -> list[str]:
    """The names of the bits in `mask`, in `BACKENDS` order."""
    return [name for i, name in enumerate(BACKENDS) if mask & (1 << i)]

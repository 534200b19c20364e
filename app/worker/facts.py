"""What the worker says of itself at sign-on so the Manager matches jobs to it: the GPU backends
Cycles could use here, the memory in all, and the version of the Blender it renders with.

The backends follow from the GPUs `gpu_info` finds: NVIDIA's give CUDA and OptiX, AMD's HIP, Intel's
Arc oneAPI; on macOS Cycles renders with Metal. Where the GPUs cannot be read (Windows without
`nvidia-smi`), the backends are left unknown rather than reported as none, so the Manager does not
keep GPU jobs from a worker that may have one. `gpu_backends` in the worker's settings overrides
what is found (a list of backend names, or `none`). The Blender is asked with a short time limit:
a worker whose Blender does not answer signs on without saying its version.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import psutil

from app.api.requirements import BACKENDS, WorkerFacts
from app.worker.blender_version import BlenderVersion
from app.worker.gpu_info import GpuReader

_log = logging.getLogger(__name__)

#: Seconds the sign-on waits for `blender --version`.
ASK_TIMEOUT_S = 10.0


def backends_for(gpus: list[dict[str, Any]], platform: str = sys.platform) -> list[str]:
    """The Cycles backends the named GPUs offer (in `BACKENDS` order)."""
    found: set[str] = set()
    if platform == "darwin":
        found.add("METAL")
    for gpu in gpus:
        name = str(gpu.get("name", "")).upper()
        if "NVIDIA" in name or "GEFORCE" in name or "QUADRO" in name or "TESLA" in name:
            found.update(("CUDA", "OPTIX"))
        elif "AMD" in name or "RADEON" in name or "ATI " in name:
            found.add("HIP")
        elif "INTEL" in name and ("ARC" in name or "DG2" in name or "DATA CENTER GPU" in name):
            found.add("ONEAPI")
    return [b for b in BACKENDS if b in found]


def read_backends(reader: GpuReader | None = None, platform: str = sys.platform,
                  nvidia_smi: str | None = "") -> list[str] | None:
    """This machine's backends; None where the GPUs cannot be read (unknown). Blocking."""
    reader = reader or GpuReader(nvidia_smi=nvidia_smi)
    try:
        gpus = reader.read()
    except Exception as exc:  # noqa: BLE001 - an unreadable GPU leaves the fact unknown, never stops sign-on
        _log.info("cannot read the GPUs (%s); not saying which backends this worker has", exc)
        return None
    if platform.startswith("win") and not gpus:
        return None  # only nvidia-smi reads GPUs on Windows: its absence says nothing
    return backends_for(gpus, platform)


def configured_backends(value: list[str] | None) -> list[str] | None:
    """The worker setting `gpu_backends` as backend names: None (unset), [] for `none`."""
    if value is None:
        return None
    names = [v.strip().upper() for v in value if v.strip()]
    return [] if names in ([], ["NONE"]) else names


async def gather(configured_gpus: list[str] | None = None, blender_exe: str = "",
                 blender: BlenderVersion | None = None) -> WorkerFacts:
    """The facts for a sign-on."""
    backends = configured_backends(configured_gpus)
    if backends is None:
        backends = await asyncio.to_thread(read_backends)
    blender = blender or BlenderVersion(blender_exe, timeout_s=ASK_TIMEOUT_S)
    try:
        version = await blender.get()
    except OSError:
        version = None
    return WorkerFacts(gpu_backends=backends, memory_total=int(psutil.virtual_memory().total),
                       blender_version=version)

"""The job's `requirements` from what the probe read of the scene (`scene_needs.py`), and their words.

Sent only to a Tablao Manager (one that has a submit policy): a stock Flamenco Manager has no use for
them. A read-out the wire model refuses (a Blender that names its engine oddly, say) is left out
with a log line rather than failing the submission: the job then runs anywhere, as before.
"""

from __future__ import annotations

import logging
from typing import Any

from app.api.errors import ContractError
from app.api.meta import SubmitPolicy
from app.api.requirements import BACKEND_NAMES, JobRequirements

_log = logging.getLogger(__name__)


def requirements_of(needs: dict[str, Any], policy: SubmitPolicy | None = None,
                    tablao: bool = True) -> JobRequirements | None:
    """The `requirements` to send for a scene's `needs`; None for a Flamenco Manager or none read."""
    if not needs or (policy is None and not tablao):
        return None
    try:
        return JobRequirements.from_json(needs)
    except ContractError as exc:
        _log.warning("not sending the scene's requirements (%s); any worker may render the job", exc)
        return None


def needs_words(req: JobRequirements | None) -> str:
    """"Cycles on a GPU (OptiX), Blender 4.2 or newer, 6.0 GiB", for the submit report; "" for none."""
    if req is None:
        return ""
    parts = []
    engine = (req.engine or "").replace("BLENDER_", "").replace("_", " ").title()
    if req.device == "GPU":
        backend = f" ({BACKEND_NAMES.get(req.gpu_backend, req.gpu_backend)})" if req.gpu_backend else ""
        parts.append(f"{engine or 'Cycles'} on a GPU{backend}")
    elif engine:
        parts.append(f"{engine} on the CPU" if req.device == "CPU" else engine)
    if req.blender_version:
        parts.append(f"Blender {req.blender_version} or newer")
    if req.memory_peak:
        parts.append(f"{req.memory_peak / 1024**3:.1f} GiB of memory")
    return ", ".join(parts)

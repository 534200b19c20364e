"""A job's scene requirements on the Manager: checked on submission, turned into what a claim
compares, and said in words when no connected worker meets them ("why is my job waiting?").

The decoder (`app.api.requirements.JobRequirements`) bounds each field; this module adds what a
field's type cannot say (a version's form, a backend without a GPU) as a 400 naming the field.
A worker's sign-on facts become its stored row here too: unknown backend names are dropped (a newer
worker may know more than this Manager) and a version that is not one counts as unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.api.errors import BadRequest
from app.api.limits import shown
from app.api.requirements import (
    ANY_GPU,
    BACKEND_NAMES,
    JobRequirements,
    WorkerFacts,
    backend_mask,
    backends_of,
    version_number,
    version_text,
)
from app.manager.persistence.requirements import JobNeeds, WorkerFactsRow

_GIB = 1024**3


def job_needs(req: JobRequirements | None) -> JobNeeds:
    """What a claim compares for a submitted `requirements` object; BadRequest for one that cannot be."""
    if req is None:
        return JobNeeds()
    blender = 0
    if req.blender_version is not None:
        number = version_number(req.blender_version)
        if number is None:
            raise BadRequest(f"`requirements.blender_version` must be a Blender version such as 3.6 or "
                             f"4.2.1, not {shown(req.blender_version)}")
        blender = number
    gpu = 0
    if req.device == "GPU":
        gpu = backend_mask([req.gpu_backend]) if req.gpu_backend else ANY_GPU
    elif req.gpu_backend is not None:
        raise BadRequest(f"`requirements.gpu_backend` is {req.gpu_backend}, but `requirements.device` is "
                         f"{req.device or 'not given'}: a backend only counts with device GPU")
    shown_req = {k: v for k, v in req.to_json().items() if v is not None}
    return JobNeeds(gpu, blender, req.memory_peak or 0, shown_req)


def facts_row(facts: WorkerFacts | None) -> WorkerFactsRow | None:
    """A worker's sign-on facts as stored; None when it sent none (keep what is known)."""
    if facts is None:
        return None
    mask = None if facts.gpu_backends is None else backend_mask([b.strip().upper() for b in facts.gpu_backends])
    number = version_number(facts.blender_version)
    return WorkerFactsRow(mask, facts.memory_total, facts.blender_version if number else None, number)


def facts_json(facts: WorkerFactsRow) -> dict[str, Any]:
    """A worker's stored facts as its JSON's optional `facts` ({} when it never said any)."""
    out: dict[str, Any] = {}
    if facts.gpu_mask is not None:
        out["gpu_backends"] = backends_of(facts.gpu_mask)
    if facts.memory_total is not None:
        out["memory_total"] = facts.memory_total
    if facts.blender_version is not None:
        out["blender_version"] = facts.blender_version
    return {"facts": out} if out else {}


def _gpu_words(mask: int) -> str:
    if mask == ANY_GPU:
        return "a GPU"
    return f"a GPU ({' or '.join(BACKEND_NAMES[b] for b in backends_of(mask))})"


def _gib(size: int) -> str:
    return f"{size / _GIB:.1f} GiB"


def _has_gpu(facts: WorkerFactsRow, mask: int) -> bool:
    return facts.gpu_mask is None or bool(facts.gpu_mask & mask)


def _has_blender(facts: WorkerFactsRow, number: int) -> bool:
    return facts.blender_number is None or facts.blender_number >= number


def _has_memory(facts: WorkerFactsRow, size: int) -> bool:
    return facts.memory_total is None or facts.memory_total >= size


def unmet(needs: JobNeeds, workers: Sequence[tuple[str, WorkerFactsRow]]) -> list[str]:
    """Sentences for each need no connected worker meets ([] when one meets them all, or none connects:
    the dashboard says that itself)."""
    if not workers or not (needs.gpu or needs.blender or needs.memory):
        return []
    facts = [f for _, f in workers]
    out = []
    if needs.gpu and not any(_has_gpu(f, needs.gpu) for f in facts):
        out.append(f"needs {_gpu_words(needs.gpu)}; no connected worker has one")
    if needs.blender and not any(_has_blender(f, needs.blender) for f in facts):
        versions = sorted({f.blender_version for f in facts if f.blender_version})
        out.append(f"needs Blender {version_text(needs.blender)} or newer (the file was saved with it); "
                   f"the connected workers have Blender {', '.join(versions)}")
    if needs.memory and not any(_has_memory(f, needs.memory) for f in facts):
        most = max(f.memory_total or 0 for f in facts)
        out.append(f"needs {_gib(needs.memory)} of memory (its last local render's peak); the connected "
                   f"worker with the most has {_gib(most)}")
    if out:
        return out
    both = [f for f in facts if (not needs.gpu or _has_gpu(f, needs.gpu))
            and (not needs.blender or _has_blender(f, needs.blender))
            and (not needs.memory or _has_memory(f, needs.memory))]
    if both:
        return []
    wants = [w for w, on in ((_gpu_words(needs.gpu), needs.gpu),
                             (f"Blender {version_text(needs.blender)} or newer", needs.blender),
                             (f"{_gib(needs.memory)} of memory", needs.memory)) if on]
    return [f"needs {' and '.join(wants)}; no connected worker has all of these at once"]


def answer(needs: JobNeeds, workers: Sequence[tuple[str, WorkerFactsRow]]) -> dict[str, Any]:
    """The body of `GET /api/v3/tablao/jobs/{job_id}/requirements`."""
    return {"requirements": dict(needs.shown or {}), "unmet": unmet(needs, workers)}

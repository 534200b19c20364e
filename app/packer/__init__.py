"""Client-side packing of a blend file and its dependencies for a render job (no Qt, no bpy).

Picks one of the three shared-storage approaches (render in place, Shaman upload and checkout,
or a copy per job), hashes with a cache, uploads only what the Manager lacks, and reports progress
through a callback. Entry points: `pack_job` (async), `pack_job_sync`, `PackRequest`, `PackResult`.
"""

from app.packer.layout import Approach, PackError, SharedStorage, decide_approach
from app.packer.pack import PackRequest, PackResult, fetch_shared_storage, pack_job, pack_job_sync
from app.packer.progress import Phase, Progress, ProgressCallback

__all__ = [
    "Approach",
    "PackError",
    "PackRequest",
    "PackResult",
    "Phase",
    "Progress",
    "ProgressCallback",
    "SharedStorage",
    "decide_approach",
    "fetch_shared_storage",
    "pack_job",
    "pack_job_sync",
]

"""The pre-flight report of a prepared submission: what would be sent, and what is wrong, before sending.

`preflight(prepared, client)` lists missing files, files referred to by absolute paths, linked
libraries and image sequences, the storage approach the Manager's storage implies, the total size
and, with Shaman, how much of it the Manager already has (hashing with the cache, asking the
Manager's requirements; nothing is uploaded). From the farm's submit policy (`prepared.policy`): the
scripts that will not run, and where the output goes and whether the Manager allows it there
(`Prepared.warnings`, see `app.submit.policy`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.api.client import ManagerClient
from app.api.errors import ContractError, HttpError, ManagerUnreachable
from app.packer import Approach, PackError, decide_approach, fetch_shared_storage
from app.packer.hashing import HashCache, hash_files
from app.packer.layout import collect_files
from app.packer.shaman_client import ShamanClient, ShamanClientError
from app.packer.uploader import file_specs
from app.submit.blendinfo import ExternalFile
from app.submit.errors import BadInput, Refused, Unreachable
from app.submit.policy import output_of
from app.submit.submission import Prepared

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class Preflight:
    approach: Approach
    files_total: int  # the blend file and its existing dependencies
    bytes_total: int
    missing: list[ExternalFile] = field(default_factory=list)
    absolute: list[ExternalFile] = field(default_factory=list)  # referred to by absolute paths
    libraries: list[ExternalFile] = field(default_factory=list)
    sequences: list[ExternalFile] = field(default_factory=list)  # image sequence / UDIM files
    files_on_manager: int | None = None  # Shaman only: what the Manager already stores
    bytes_on_manager: int | None = None
    warnings: list[str] = field(default_factory=list)  # from the farm's submit policy, in words
    output: str = ""  # where the job writes ("" for a job type without output settings)

    @property
    def bytes_to_send(self) -> int:
        if self.approach is Approach.IN_PLACE:
            return 0
        return self.bytes_total - (self.bytes_on_manager or 0)

    @property
    def blocking(self) -> bool:
        """Missing files: a front end should ask before submitting."""
        return bool(self.missing)


async def preflight(prepared: Prepared, *, client: ManagerClient, cache_dir: Path | None = None) -> Preflight:
    request, blend = prepared.request, prepared.blend
    try:
        storage = await fetch_shared_storage(client, request.platform)
        approach = decide_approach(blend.blendfile, storage)
        _root, files = await asyncio.to_thread(collect_files, blend.blendfile, blend.dependencies,
                                               request.project_root)
    except PackError as exc:
        raise BadInput(str(exc)) from exc
    sizes = {f.path: f.path.stat().st_size for f in files}
    report = Preflight(
        approach, len(files), sum(sizes.values()), missing=blend.missing,
        absolute=[f for f in blend.files if f.absolute and f.exists],
        libraries=[f for f in blend.files if f.library], sequences=[f for f in blend.files if f.sequence],
        warnings=prepared.warnings, output=output_of(prepared.settings))
    if approach is not Approach.SHAMAN:
        return report

    def hash_all():
        cache = HashCache(cache_dir or request.cache_dir)
        try:
            return hash_files([f.path for f in files], cache)
        finally:
            cache.close()

    hashes = await asyncio.to_thread(hash_all)
    specs = file_specs(files, hashes)
    try:
        lacking = await ShamanClient(client).requirements(specs)
    except ManagerUnreachable as exc:
        raise Unreachable(str(exc)) from exc
    except (ShamanClientError, HttpError, ContractError) as exc:
        raise Refused(f"the Manager did not say which files it has: {exc}") from exc
    lacking_keys = {(m["sha"], m["size"]) for m in lacking}
    have = [s for s in specs if (s["sha"], s["size"]) not in lacking_keys]
    report.files_on_manager = len(have)
    report.bytes_on_manager = sum(s["size"] for s in have)
    return report

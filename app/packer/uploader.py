"""Shaman submission strategy: ask what is missing, upload only that, retry deferrals, check out.

Each round asks the Manager for the files it still lacks, then uploads them one by one. Like the
Flamenco add-on, every upload but the round's last may be deferred (at most `MAX_DEFERRED` per
round) when another client is already sending the same file; a file that another client is
uploading is left alone for a few rounds before we send it ourselves. Failed uploads (network
trouble, a connection cut by the server because another upload won) are simply retried: the next
round's requirements tell whether they still need sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.api.errors import ManagerUnreachable
from app.packer.hashing import FileHash
from app.packer.layout import PackError, PackFile
from app.packer.progress import Phase, Progress, ProgressCallback, ignore_progress
from app.packer.shaman_client import ShamanClient, ShamanClientError, UploadResult

_log = logging.getLogger(__name__)

MAX_ROUNDS = 50
MAX_DEFERRED = 8
WAIT_FOR_OTHERS_ROUNDS = 10  # rounds we leave a file to another uploader before sending it anyway


@dataclass(slots=True)
class UploadStats:
    files_uploaded: int = 0
    bytes_uploaded: int = 0  # payload bytes handed to the connection, including aborted tries
    rounds: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # relpath -> last error


def file_specs(files: list[PackFile], hashes: Mapping[Path, FileHash]) -> list[dict[str, Any]]:
    return [{"sha": hashes[f.path].sha, "size": hashes[f.path].size, "path": str(f.relpath)} for f in files]


class ShamanUploader:
    """Uploads one pack's missing files and requests its checkout."""

    def __init__(self, client: ShamanClient, on_progress: ProgressCallback = ignore_progress):
        self._client = client
        self._on_progress = on_progress
        self.stats = UploadStats()
        self._progress = Progress(Phase.UPLOADING)

    async def upload_missing(self, specs: list[dict[str, Any]], files: list[PackFile]) -> UploadStats:
        """Run rounds until the Manager lacks nothing; raises PackError when it cannot get there."""
        by_key = {(s["sha"], s["size"]): pack_file for s, pack_file in zip(specs, files, strict=True)}
        for round_no in range(1, MAX_ROUNDS + 1):
            self.stats.rounds = round_no
            self._on_progress(Progress(Phase.CHECKING, round=round_no))
            missing = await self._client.requirements(specs)
            if not missing:
                return self.stats
            if round_no == 1:
                total = sum(int(m["size"]) for m in missing)
                self._progress = Progress(Phase.UPLOADING, bytes_total=total, files_total=len(missing))
            waiting_only = await self._upload_round(missing, by_key, round_no)
            if waiting_only:
                # Everything left is being sent by another client: give it time before asking again.
                await asyncio.sleep(min(0.25 * 2 ** min(round_no, 5), 5.0))
        failed = ", ".join(f"{path} ({err})" for path, err in list(self.stats.failures.items())[:5])
        raise PackError(f"files could not be uploaded after {MAX_ROUNDS} rounds: {failed or 'still missing'}")

    async def _upload_round(
        self, missing: list[dict[str, Any]], by_key: dict[tuple[str, int], PackFile], round_no: int
    ) -> bool:
        """One pass over the missing files. True when every one of them was left to another uploader."""
        let_others = round_no <= WAIT_FOR_OTHERS_ROUNDS
        todo = [m for m in missing if not (let_others and m.get("status") == "uploading")]
        deferred = 0
        for index, item in enumerate(todo):
            pack_file = by_key[(item["sha"], int(item["size"]))]
            can_defer = index < len(todo) - 1 and deferred < MAX_DEFERRED
            result = await self._upload_one(pack_file, item["sha"], int(item["size"]), can_defer, round_no)
            deferred += result is UploadResult.DEFERRED
        return not todo

    async def _upload_one(
        self, pack_file: PackFile, sha: str, size: int, can_defer: bool, round_no: int
    ) -> UploadResult | None:
        name = str(pack_file.relpath)
        sent = 0

        def on_bytes(count: int) -> None:
            nonlocal sent
            sent += count
            self._report(bytes_done=self._progress.bytes_done + count, current_file=name, round=round_no)

        try:
            result = await self._client.upload(
                pack_file.path, sha, size, can_defer=can_defer, name=name, on_bytes=on_bytes
            )
        except ShamanClientError as exc:
            if exc.status == 417:  # the file no longer matches its hash: it changed while packing
                raise PackError(f"{name} changed while it was being submitted; submit again") from exc
            self._failed(name, str(exc), sent)
            return None
        except ManagerUnreachable as exc:
            self._failed(name, f"{type(exc).__name__}: {exc}", sent)
            return None
        self.stats.bytes_uploaded += sent
        if result is UploadResult.DEFERRED:
            self._report(bytes_done=self._progress.bytes_done - sent)
        else:
            self.stats.failures.pop(name, None)
            self.stats.files_uploaded += result is UploadResult.STORED
            done = self._progress.bytes_done - sent + size  # a file skipped as already stored counts as done
            self._report(bytes_done=done, files_done=self._progress.files_done + 1)
        return result

    def _failed(self, name: str, error: str, sent: int) -> None:
        _log.info("upload of %s failed, will retry: %s", name, error)
        self.stats.failures[name] = error
        self.stats.bytes_uploaded += sent
        self._report(bytes_done=self._progress.bytes_done - sent)

    def _report(self, **changes: Any) -> None:
        self._progress = self._progress.but(**changes)
        self._on_progress(self._progress)

    async def checkout(
        self, specs: list[dict[str, Any]], files: list[PackFile], checkout_path: str
    ) -> tuple[str, str]:
        """Request the checkout; on 424 (a blob vanished meanwhile) upload again and retry once."""
        self._on_progress(Progress(Phase.CHECKOUT, current_file=checkout_path))
        try:
            return await self._client.checkout(specs, checkout_path)
        except ShamanClientError as exc:
            if exc.status != 424:
                raise
            _log.info("checkout reported missing files, uploading again: %s", exc)
        await self.upload_missing(specs, files)
        return await self._client.checkout(specs, checkout_path)

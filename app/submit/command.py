"""`tablao submit FILE.blend ...`: the command-line front end of `app.submit`.

Exit codes: 0 submitted; 1 refused by the Manager or a setting/job type that does not validate;
2 usage or a bad input file (missing, not a .blend, Blender cannot open it); 3 Manager unreachable.
Errors are one line on stderr (`tablao submit: ...`); a progress bar goes to stderr only when it
is a terminal; `--json` prints the submitted job as JSON on stdout. Before anything is uploaded,
the pre-flight warnings (scripts in the file that will not run on this farm, an output folder moved
to the farm's or one the Manager will refuse) go to stderr as `tablao submit: warning: ...` lines;
after the job is accepted, stdout says where its output goes. `--token` (or $TABLAO_SUBMIT_TOKEN,
else $TABLAO_ACCESS_TOKEN) goes as `Authorization: Bearer`: the Manager's access or submit token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from app.packer.layout import is_under
from app.submit.blendinfo import ExternalFile
from app.submit.errors import BadInput, SubmitError
from app.submit.policy import output_of
from app.submit.preview_switches import preview_metadata
from app.submit.requirements import needs_words
from app.submit.submission import (
    Prepared,
    SubmitProgress,
    SubmitRequest,
    SubmitResult,
    client_for,
    prepare,
    submit_prepared,
)

_log = logging.getLogger(__name__)

FALLBACK_URL = "http://127.0.0.1:8080"


def default_manager() -> tuple[str, str]:
    """(URL, access token) of the Manager configured on this computer, or the fallback URL."""
    try:
        from app.manager.settings.config import default_config_path, load_config

        path = default_config_path()
        if not path.exists():
            return FALLBACK_URL, ""
        cfg = load_config(path, write_if_missing=False)
        host, port = cfg.listen_host_port()
    except Exception as exc:  # noqa: BLE001 - a broken local config only loses the default
        _log.debug("no local Manager config: %s", exc)
        return FALLBACK_URL, ""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}", getattr(cfg, "access_token", "") or ""


def _preview_metadata(args: argparse.Namespace) -> dict[str, str]:
    return preview_metadata(getattr(args, "preview_first", True), getattr(args, "pause_on_preview_failure", False))


def run(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    url, token = args.manager, args.token
    if not url:
        url, local_token = default_manager()
        token = token or local_token
    if not url.startswith(("http://", "https://")):
        return _fail(stderr, f"{url!r} is not a Manager URL; give one like http://render-server:8080/", 2)
    if not 0 <= args.priority <= 100:
        return _fail(stderr, f"--priority must be 0-100, not {args.priority}", 2)
    request = SubmitRequest(blendfile=args.blendfile, manager_url=url, job_type=args.type, name=args.name or "",
                            assignments=list(args.assignments), priority=args.priority, paused=args.paused,
                            worker_tag=args.worker_tag, scene=args.scene, access_token=token,
                            blender=args.blender, after=list(getattr(args, "after", None) or []),
                            on_dependency_failure=getattr(args, "on_dependency_failure", None),
                            metadata={**_site_metadata(args), **_preview_metadata(args)})
    bar = ProgressBar(stderr) if stderr.isatty() else None

    def announce(prepared: Prepared) -> None:
        if bar:
            bar.clear()
        for warning in prepared.warnings:
            print(f"tablao submit: warning: {warning}", file=stderr)

    try:
        result = asyncio.run(_submit(request, bar.update if bar else _log_progress, announce))
    except KeyboardInterrupt:
        if bar:
            bar.clear()
        return _fail(stderr, "cancelled; nothing was submitted", 130)
    except SubmitError as exc:
        if bar:
            bar.clear()
        return _fail(stderr, str(exc), exc.exit_code)
    except OSError as exc:  # a file that vanished or cannot be read while packing
        if bar:
            bar.clear()
        return _fail(stderr, str(BadInput(str(exc))), 2)
    if bar:
        bar.clear()
    _report(result, args.json, stdout, stderr)
    return 0


async def _submit(request: SubmitRequest, on_progress: SubmitProgress,
                  announce: Callable[[Prepared], None]) -> SubmitResult:
    """`submit_blend`, with the pre-flight warnings announced between reading the file and packing it."""
    async with client_for(request) as client:
        prepared = await prepare(request, client=client, on_progress=on_progress)
        announce(prepared)
        return await submit_prepared(prepared, client=client, on_progress=on_progress)


def _report(result: SubmitResult, as_json: bool, stdout: TextIO, stderr: TextIO) -> None:
    for missing in result.blend.missing:
        print(f"tablao submit: warning: missing file {missing.path} (referred to as {missing.raw})", file=stderr)
    for warning in path_warnings(result):
        print(f"tablao submit: warning: {warning}", file=stderr)
    if as_json:
        print(json.dumps(result.job.to_json(), indent=2), file=stdout)
        return
    pack = result.pack
    how = {"in-place": "rendered in place on the shared storage",
           "copy": f"copied {pack.files_total} files ({_mb(pack.bytes_copied)}) to {pack.job_dir}",
           "shaman": f"uploaded {pack.files_uploaded} of {pack.files_total} files "
                     f"({_mb(pack.bytes_uploaded)} of {_mb(pack.bytes_total)})"}[str(pack.approach)]
    print(f"submitted job {result.job.id} {result.job.name!r} ({result.job.status}): {how}", file=stdout)
    output = output_of(result.job.settings or result.settings)
    if output:
        print(f"output: {output}", file=stdout)
    if result.job.waiting_on:  # "Waiting for 'render A'"
        print(result.job.activity, file=stdout)
    needs = needs_words(result.requirements)
    if needs:
        print(f"needs: {needs}", file=stdout)


def _site_metadata(args: argparse.Namespace) -> dict[str, str]:
    """`--site NAME`: a hub sends the job to that site (job metadata `site`, app/hub/routing.py)."""
    site = getattr(args, "site", None)
    return {"site": site} if site else {}


def path_warnings(result: SubmitResult) -> list[str]:
    """Files the workers will not read where the job expects: in place, those off the shared storage;
    packed, absolute paths the packer could not make relative (`PackResult.rewritten` has the others)."""
    pack, existing = result.pack, [f for f in result.blend.files if f.exists]
    if str(pack.approach) == "in-place":
        location = Path(pack.storage_location) if pack.storage_location else None
        return [f"{f.raw} is not on the shared storage {location}; workers may not be able to read it there"
                for f in existing if location is not None and not is_under(f.path, location)]
    targets = [r.target for r in pack.rewritten]
    return [f"{f.raw} is referred to by an absolute path; workers read it there, not from the packed copy"
            for f in existing if f.absolute and not any(_names(f, t) for t in targets)]


def _names(file: ExternalFile, target: Path) -> bool:
    path = file.path.resolve()
    return path == target or (file.sequence and path.parent == target)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _fail(stderr: TextIO, message: str, code: int) -> int:
    print(f"tablao submit: {message}", file=stderr)
    return code


def _log_progress(phase: str, done: int, total: int) -> None:
    _log.debug("%s %d/%d", phase, done, total)


class ProgressBar:
    """One line on a terminal, redrawn at most 10 times a second: phase, bar, percentage."""

    WIDTH = 30

    def __init__(self, stream: TextIO):
        self.stream = stream
        self._last = 0.0
        self._phase = ""

    def update(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self._phase and now - self._last < 0.1 and done < total:
            return
        self._phase, self._last = phase, now
        if total > 0:
            fraction = min(1.0, done / total)
            filled = int(fraction * self.WIDTH)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            amount = f" {_mb(done)}/{_mb(total)}" if total > 1000 else ""
            text = f"{phase:<11} [{bar}] {fraction:4.0%}{amount}"
        else:
            text = f"{phase:<11} ..."
        self.stream.write("\r" + text.ljust(72)[:79])
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r" + " " * 79 + "\r")
        self.stream.flush()

"""Submitting a .blend to a Manager: job type, Blender read-out, storage approach, submission.

The steps of `submit_blend`, each reported through `on_progress(phase, done, total)`:

1. `connecting`: check the file is a .blend, fetch the job type (and its etag) and the farm's
   submit policy (`app.submit.policy`) from the Manager; parse the user's values by the settings' types.
2. `reading`: one Blender run reads the scenes and external files, the scripts the file carries,
   and evaluates the job type's `eval` settings (see `app.submit.blender_probe`); an output folder
   the scene implies outside the farm's output roots becomes the farm's folder.
3. `validating`: `POST /jobs/check` with the settings, before anything is copied or uploaded.
4. packing with `app.packer` along the Manager's storage approach: in place when the file is on
   the shared storage, else Shaman (`hashing`, `uploading`, `checkout`) or a copy per job (`copying`);
   done/total are bytes.
5. `submitting`: `POST /jobs` with `type_etag`; a 412 becomes `JobTypeChanged` with the fresh type.

Failures are `app.submit.errors.SubmitError`s with one-line messages; a copy-per-job folder made
for a job the Manager then refuses is removed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import logging
import platform as _platform
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.api.client import ManagerClient
from app.api.enums import JobStatus
from app.api.errors import ContractError, HttpError, ManagerUnreachable
from app.api.jobs import AvailableJobType, Job, JobStorageInfo, SubmittedJob
from app.api.meta import SubmitPolicy
from app.api.requirements import JobRequirements
from app.api.transport import Transport
from app.packer import PackError, PackRequest, PackResult, Progress, pack_job
from app.packer.layout import Approach
from app.submit.after import resolve_after
from app.submit.blendinfo import BlendInfo, check_blendfile, read_blend
from app.submit.errors import (
    BadInput,
    InvalidSetting,
    JobTypeChanged,
    Refused,
    SubmitError,
    UnknownJobType,
    Unreachable,
)
from app.submit.policy import CONFINED, fetch_policy, warnings
from app.submit.requirements import requirements_of
from app.submit.settings import (
    SCENE_DEFAULTS,
    check_required,
    coerce_values,
    initial_values,
    merge_settings,
    parse_assignments,
)

_log = logging.getLogger(__name__)

DEFAULT_JOB_TYPE = "simple-blender-render"

SubmitProgress = Callable[[str, int, int], None]
"""`on_progress(phase, done, total)`; total 0 means unknown. Called on the event loop's thread."""


def ignore(_phase: str, _done: int, _total: int) -> None:
    """The default progress callback."""


@dataclass(slots=True)
class SubmitRequest:
    """What to submit. `assignments` are `key=value` texts (the CLI's `--set`); `values` typed values."""

    blendfile: Path
    manager_url: str
    job_type: str = DEFAULT_JOB_TYPE
    name: str = ""  # default: the blend file's name without .blend
    assignments: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    priority: int = 50
    paused: bool = False  # Flamenco's `initial_status: paused`
    worker_tag: str | None = None
    scene: str | None = None  # default: the scene the file was saved with
    access_token: str = ""  # sent as `Authorization: Bearer`: the Manager's access token or its submit token
    admin_token: str = ""  # the Manager's admin token (the desktop app on its own Manager)
    blender: str | None = None  # Blender executable; default TABLAO_BLENDER or `blender` on PATH
    cache_dir: Path | None = None  # Shaman hash cache
    project_root: Path | None = None  # packing root; default: the files' common parent
    platform: str = field(default_factory=lambda: _platform.system().lower())
    metadata: dict[str, str] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)  # jobs to wait for: ids or names (ids once prepared)
    on_dependency_failure: str | None = None  # when one of them fails: "wait" (None) or "fail"

    @property
    def job_name(self) -> str:
        return self.name or Path(self.blendfile).stem


@dataclass(slots=True)
class SubmitResult:
    job: Job
    job_type: AvailableJobType
    blend: BlendInfo
    pack: PackResult
    settings: dict[str, Any]  # what was submitted
    requirements: JobRequirements | None = None  # what the scene needs of a worker, as sent

    @property
    def approach(self) -> Approach:
        return self.pack.approach


@dataclass(slots=True)
class Prepared:
    """Everything known before packing: for front ends that show a pre-flight report first."""

    request: SubmitRequest
    job_type: AvailableJobType
    blend: BlendInfo
    settings: dict[str, Any]
    policy: SubmitPolicy | None = None  # None: a Manager without one (Flamenco)

    @property
    def requirements(self) -> JobRequirements | None:
        """What the scene needs of a worker, as sent to a Tablao Manager (`app.submit.requirements`)."""
        return requirements_of(self.blend.needs, self.policy, False)

    @property
    def warnings(self) -> list[str]:
        """Scripts that will not run, output moved to the farm's folder or refused (`app.submit.policy`)."""
        return warnings(self.blend, self.settings, self.policy, self.request.platform)


async def submit_blend(request: SubmitRequest, *, client: ManagerClient | None = None,
                       on_progress: SubmitProgress = ignore) -> SubmitResult:
    """Submit `request.blendfile` as a job; see the module docstring. Raises `SubmitError`s."""
    if client is None:
        async with client_for(request) as own:
            return await submit_blend(request, client=own, on_progress=on_progress)
    prepared = await prepare(request, client=client, on_progress=on_progress)
    return await submit_prepared(prepared, client=client, on_progress=on_progress)


def submit_blend_sync(request: SubmitRequest, on_progress: SubmitProgress = ignore) -> SubmitResult:
    """`submit_blend` for plain threads without an event loop."""
    return asyncio.run(submit_blend(request, on_progress=on_progress))


def user_values(request: SubmitRequest, job_type: AvailableJobType) -> dict[str, Any]:
    """The request's `values` and `assignments`, typed by the job type's settings."""
    user = coerce_values(job_type, request.values)
    user.update(parse_assignments(job_type, request.assignments))
    return user


async def read_scene(request: SubmitRequest, job_type: AvailableJobType, user: dict[str, Any],
                     policy: SubmitPolicy | None = None) -> BlendInfo:
    """One Blender run: the file's scenes, files and scripts, and the `eval`s of the settings `user`
    leaves open; with a `policy`, an output folder the scene implies outside its roots is the farm's.

    What `prepare` reads; front ends that show the scene before submitting (the desktop dialog) call it."""
    return await read_blend(
        check_blendfile(request.blendfile), scene=request.scene, jobname=request.job_name,
        settings=[{"key": s.key, "type": s.type, "eval": s.eval} for s in job_type.settings],
        values=initial_values(job_type, user), skip=list(user),
        scene_defaults={k: v for k, v in SCENE_DEFAULTS.items() if k not in user},
        output_roots=policy.output_roots if policy else None,
        output_denied=policy.output_denied if policy else None,
        confined=[k for k in CONFINED if k not in user],
        blender=request.blender)


async def prepare(request: SubmitRequest, *, client: ManagerClient,
                  on_progress: SubmitProgress = ignore) -> Prepared:
    """Steps 1-3: the job type, the Blender read-out, the settings, the Manager's check."""
    blendfile = check_blendfile(request.blendfile)
    on_progress("connecting", 0, 0)
    if request.after:
        request = dataclasses.replace(request, after=await resolve_after(client, request.after))
    job_type = await fetch_job_type(client, request.job_type)
    policy = await fetch_policy(client, request.platform)
    user = user_values(request, job_type)
    on_progress("reading", 0, 1)
    blend = await read_scene(request, job_type, user, policy)
    on_progress("reading", 1, 1)
    settings = merge_settings(job_type, user, blend.evaluated, blend.implied)
    if _has_setting(job_type, "blendfile"):
        settings["blendfile"] = str(blendfile)  # replaced by the packed path before submitting
    check_required(job_type, settings)
    on_progress("validating", 0, 1)
    await _call(client.check_job(_job(request, job_type, settings, requirements_of(blend.needs, policy, False))),
                request.job_type, client)
    on_progress("validating", 1, 1)
    return Prepared(request, job_type, blend, settings, policy)


async def submit_prepared(prepared: Prepared, *, client: ManagerClient,
                          on_progress: SubmitProgress = ignore) -> SubmitResult:
    """Steps 4-5: pack along the Manager's storage approach, then submit."""
    request, job_type = prepared.request, prepared.job_type
    settings = dict(prepared.settings)

    def packing(progress: Progress) -> None:
        if progress.phase != "done":
            on_progress(str(progress.phase), progress.bytes_done or progress.files_done,
                        progress.bytes_total or progress.files_total)

    pack_request = PackRequest(manager_url=request.manager_url, blendfile=prepared.blend.blendfile,
                               dependencies=prepared.blend.dependencies, job_name=request.job_name,
                               project_root=request.project_root, cache_dir=request.cache_dir,
                               platform=request.platform)
    try:
        packed = await pack_job(pack_request, client=client, on_progress=packing)
    except PackError as exc:
        raise BadInput(str(exc)) from exc
    except ManagerUnreachable as exc:
        raise Unreachable(str(exc)) from exc
    except (HttpError, ContractError) as exc:
        raise Refused(f"packing failed: {exc}") from exc
    if _has_setting(job_type, "blendfile"):
        settings["blendfile"] = packed.blendfile
    job = _job(request, job_type, settings, prepared.requirements)
    if packed.checkout_id:
        job.storage = JobStorageInfo(shaman_checkout_id=packed.checkout_id)
    on_progress("submitting", 0, 1)
    try:
        stored = await _call(client.submit_job(job), request.job_type, client)
    except BaseException:
        if packed.approach is Approach.COPY and packed.job_dir is not None:
            shutil.rmtree(packed.job_dir, ignore_errors=True)  # no copy left for a job that is not there
        raise
    on_progress("submitting", 1, 1)
    on_progress("done", 1, 1)
    _log.info("submitted job %s (%s) from %s, %s", stored.id, stored.name, request.blendfile, packed.approach)
    return SubmitResult(stored, job_type, prepared.blend, packed, settings, job.requirements)


async def fetch_job_type(client: ManagerClient, name: str) -> AvailableJobType:
    """The Manager's job type `name`, or `UnknownJobType` listing the ones it has."""
    try:
        return await client.job_type(name)
    except ManagerUnreachable as exc:
        raise Unreachable(str(exc)) from exc
    except HttpError as exc:
        if exc.status != 404:
            raise Refused(f"the Manager refused to give job type {name!r}: {exc.message}") from exc
    except ContractError as exc:
        raise Refused(f"the Manager's job type {name!r} is not understood: {exc}") from exc
    try:
        known = [t.name for t in await client.job_types()]
    except (HttpError, ContractError, ManagerUnreachable):
        known = []
    raise UnknownJobType(name, known)


def submitter_metadata() -> dict[str, str]:
    """Who submits, as Flamenco's add-on says it (`user.name`) and from which computer (`user.host`):
    the dashboards' Submitter column. Empty values are left out rather than guessed."""
    found: dict[str, str] = {}
    with contextlib.suppress(KeyError, OSError):  # no login name (a container's uid without a passwd entry)
        found["user.name"] = getpass.getuser()
    host = socket.gethostname()
    if host:
        found["user.host"] = host
    return found


def _job(request: SubmitRequest, job_type: AvailableJobType, settings: dict[str, Any],
         requirements: JobRequirements | None = None) -> SubmittedJob:
    return SubmittedJob(
        name=request.job_name, type=job_type.name, submitter_platform=request.platform,
        priority=request.priority, settings=dict(settings),
        metadata={**submitter_metadata(), **request.metadata},
        type_etag=job_type.etag, worker_tag=request.worker_tag,
        initial_status=JobStatus.PAUSED if request.paused else None, requirements=requirements,
        depends_on=list(request.after) or None, on_dependency_failure=request.on_dependency_failure)


async def _call(awaitable, type_name: str, client: ManagerClient):
    """Run a Manager call, turning its failures into `SubmitError`s (412: refresh the job type)."""
    try:
        return await awaitable
    except ManagerUnreachable as exc:
        raise Unreachable(str(exc)) from exc
    except HttpError as exc:
        if exc.status == 412:
            try:
                fresh = await client.job_type(type_name)
            except (HttpError, ContractError, ManagerUnreachable):
                fresh = None
            raise JobTypeChanged(type_name, fresh) from exc
        key = _setting_in(exc.message)
        if key:
            raise InvalidSetting(key, f"the Manager refused the job: {exc.message}") from exc
        raise Refused(f"the Manager refused the job: {exc.message}") from exc
    except ContractError as exc:
        raise Refused(f"the Manager's answer is not understood: {exc}") from exc


def _setting_in(message: str) -> str:
    """The setting a Manager's validation message names (`setting "key" ...`), if any."""
    import re

    match = re.search(r"setting [\"'`]?([A-Za-z0-9_]+)", message or "")
    return match.group(1) if match else ""


def _has_setting(job_type: AvailableJobType, key: str) -> bool:
    return any(s.key == key for s in job_type.settings)


def client_for(request: SubmitRequest) -> ManagerClient:
    """A client carrying the request's credentials (what the pre-flight and the submission both use)."""
    # No overall time limit (uploads take what they take); connecting has one.
    transport = Transport(request.manager_url, access_token=request.access_token,
                          admin_token=request.admin_token, timeout_s=None, connect_timeout_s=10)
    return ManagerClient(request.manager_url, transport=transport)


__all__ = ["DEFAULT_JOB_TYPE", "Prepared", "SubmitError", "SubmitProgress", "SubmitRequest", "SubmitResult",
           "client_for", "fetch_job_type", "prepare", "read_scene", "submit_blend", "submit_blend_sync",
           "submit_prepared", "user_values"]

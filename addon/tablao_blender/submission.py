"""One submission, from evaluated settings to a job on the Manager; the part that runs on a thread.

`prepare` (main thread, uses bpy) saves the file when needed and evaluates the job type's
settings; `Submission.run` (worker thread, no bpy) checks the job with the Manager before moving
any file (a stale job type or a setting the Manager refuses stops it there), packs through the
storage approach and submits. Cancelling before the submit leaves nothing on the Manager: a per-job
copy is removed, and Shaman uploads without a job are only unreferenced store content.
"""

from __future__ import annotations

import getpass
import logging
import platform
import queue
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from . import after_job
from ._api.enums import JobStatus
from ._api.errors import ContractError, HttpError
from ._api.jobs import AvailableJobType, Job, JobStorageInfo, SubmittedJob
from ._api.requirements import JobRequirements
from .comms import Manager, is_compatible
from .packing import Cancelled, Packer, PackOutcome, Progress

_log = logging.getLogger(__name__)


class StaleJobType(Exception):
    """The Manager's job type changed since the add-on fetched it (HTTP 412)."""


class Incompatible(Exception):
    """The Manager speaks another API version than Flamenco v3."""


class Refused(Exception):
    """The Manager refused the job (a setting failed its validation); the message is the Manager's."""


@dataclass
class Request:
    job_type: AvailableJobType
    job_name: str
    settings: dict[str, Any]
    blendfile: str
    project: str = ""
    priority: int = 50
    worker_tag: str = ""
    paused: bool = False
    allow_missing: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    after_job: str = ""  # a job to wait for: its id or name ("" for none)
    #: What the scene needs of a worker (`_scene_needs.read_needs`); empty: nothing sent.
    requirements: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    job: Job
    pack: PackOutcome


def submitter_platform() -> str:
    return platform.system().lower()  # Flamenco's GOOS names: linux, windows, darwin


def job_body(req: Request, blendfile: str, checkout_id: str | None = None,
             depends_on: list[str] | None = None) -> SubmittedJob:
    return SubmittedJob(
        name=req.job_name, type=req.job_type.name, priority=req.priority,
        submitter_platform=submitter_platform(), type_etag=req.job_type.etag,
        settings={**req.settings, "blendfile": blendfile},
        # Who and from which computer: the dashboards' and the status page's Submitter.
        metadata={"user.name": getpass.getuser(), "user.host": socket.gethostname(), **req.metadata},
        worker_tag=req.worker_tag or None, initial_status=JobStatus.PAUSED if req.paused else None,
        storage=JobStorageInfo(shaman_checkout_id=checkout_id) if checkout_id else None,
        depends_on=depends_on or None,
        requirements=_requirements(req.requirements),
    )


def _requirements(needs: dict[str, Any]) -> JobRequirements | None:
    """The job's `requirements`, or None (none read, or a read-out the wire model refuses: the job then
    runs on any worker, as before, rather than failing)."""
    if not needs:
        return None
    try:
        return JobRequirements.from_json(needs)
    except ContractError as exc:
        _log.warning("not sending the scene's requirements: %s", exc)
        return None


def scene_requirements(scene: Any, policy: Any) -> dict[str, Any]:
    """What `scene` needs of a worker, for a Tablao Manager (`policy` known); {} for a Flamenco one."""
    if policy is None:
        return {}
    from ._scene_needs import read_needs

    return read_needs(scene)


class Submission:
    """The thread half of a submission; its messages go to `messages` (a queue the operator drains)."""

    def __init__(self, manager: Manager, req: Request) -> None:
        self.manager = manager
        self.req = req
        self.cancel = threading.Event()
        self.messages: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.thread: threading.Thread | None = None

    def progress(self, progress: Progress) -> None:
        self.messages.put(("progress", progress))

    def start(self) -> None:
        self.thread = threading.Thread(target=self._thread, name="tablao-submit", daemon=True)
        self.thread.start()

    def _thread(self) -> None:
        try:
            self.messages.put(("done", self.run()))
        except BaseException as exc:  # every outcome reaches the main thread, as a message
            self.messages.put(("error", exc))

    def run(self) -> Result:
        req = self.req
        self.progress(Progress("checking", 0.0, "Checking the job with the Manager"))
        version = self.manager.version()
        if not is_compatible(version):
            raise Incompatible(
                f"the Manager at {self.manager.url} runs version {version.version}; "
                f"this add-on needs a Flamenco v3 (3.x) compatible Manager"
            )
        try:
            depends_on = after_job.resolve(self.manager, req.after_job)
        except after_job.UnknownJob as exc:
            raise Refused(str(exc)) from None
        self._send(lambda: self.manager.check_job(job_body(req, req.blendfile, depends_on=depends_on)))
        storage = self.manager.shared_storage(submitter_platform())
        packer = Packer(
            self.manager,
            req.blendfile,
            req.project,
            req.job_name,
            on_progress=self.progress,
            cancel=self.cancel,
            allow_missing=req.allow_missing,
        )
        outcome = packer.pack(storage.location, storage.shaman_enabled)
        try:
            packer.check_cancel()
            self.progress(Progress("submitting", 1.0, "Submitting the job"))
            job = self._send(
                lambda: self.manager.submit_job(job_body(req, outcome.blendfile, outcome.checkout_id, depends_on))
            )
        except BaseException:
            if outcome.job_dir:  # nothing half-submitted: the per-job copy goes with the job
                import shutil

                shutil.rmtree(outcome.job_dir, ignore_errors=True)
            raise
        self.progress(Progress("done", 1.0, f"Job {job.name} submitted"))
        return Result(job, outcome)

    @staticmethod
    def _send(call: Any) -> Any:
        try:
            return call()
        except HttpError as exc:
            if exc.status == 412:
                raise StaleJobType(exc.message) from None
            if 400 <= exc.status < 500:
                raise Refused(exc.message) from None
            raise


__all__ = [
    "Cancelled",
    "Incompatible",
    "Refused",
    "Request",
    "Result",
    "StaleJobType",
    "Submission",
    "job_body",
]

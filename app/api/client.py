"""`ManagerClient`: the async client of a Tablao (or Flamenco) Manager, returning `app.api` models.

The dashboard, the tray, the `farm` release tool and scripts talk to a Manager only through this
client, also when the Manager runs in the same process. It sits on `app.api.transport.Transport`;
failures are `ManagerUnreachable`, `HttpError` (with the Manager's own `{code, message}`) and
`ContractError` (an answer that does not fit its model). The live stream is `events()`, see
`app.api.stream`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, Sequence
from typing import Any, TypeVar

import aiohttp

from app.api.codec import decode
from app.api.enums import FarmStatus, JobStatus, TaskStatus, WorkerStatus
from app.api.errors import ContractError, HttpError, ManagerUnreachable
from app.api.fair_share import FairShare
from app.api.headers import (
    API_PREFIX,
    LINK_MODE_HEADER,
    SHAMAN_CAN_DEFER_HEADER,
    SHAMAN_FILENAME_HEADER,
    TABLAO_PREFIX,
)
from app.api.jobs import (
    AvailableJobType,
    BlocklistEntry,
    Job,
    JobChain,
    JobDeletionInfo,
    JobDependsOnChange,
    JobEtas,
    JobMassDeletionSelection,
    JobPriorityChange,
    JobsPage,
    JobsQuery,
    JobStatusChange,
    JobTagChange,
    LastRenderedInfo,
    SubmittedJob,
    Task,
    TaskLogInfo,
    TaskStatusChange,
    TaskSummary,
)
from app.api.meta import (
    BlenderPathCheckResult,
    FarmStatusReport,
    FlamencoVersion,
    ManagerConfiguration,
    ManagerVariable,
    ManagerVariables,
    PathCheckResult,
    ShamanCheckout,
    ShamanCheckoutResult,
    ShamanFileSpec,
    ShamanFileSpecWithStatus,
    ShamanFileStatusReport,
    ShamanRequirement,
    ShamanRequirementsRequest,
    SharedStorageLocation,
    StorageCheckResult,
    SubmitPolicy,
    TablaoVariable,
    TablaoVariables,
)
from app.api.requirements import JobRequirementsAnswer
from app.api.stream import EventStream
from app.api.task_stats import JobTaskStats
from app.api.transport import Reply, Transport
from app.api.workers import (
    Worker,
    WorkerDay,
    WorkerSleepSchedule,
    WorkerStatusChangeRequest,
    WorkerSummary,
    WorkerTag,
    WorkerTagChangeRequest,
)

_log = logging.getLogger(__name__)
M = TypeVar("M")

V3, T = API_PREFIX, TABLAO_PREFIX
#: The most a downloaded Blender add-on may weigh (a Manager serves about 150 KB).
MAX_ADDON_BYTES = 32 * 1024 * 1024

__all__ = ["ContractError", "ManagerClient", "ManagerUnreachable"]


def _items(body: dict[str, Any], key: str, model: type[M], what: str) -> list[M]:
    items = body.get(key)
    if not isinstance(items, list):
        raise ContractError(f"{what}: expected a list under {key!r}")
    return [decode(model, item, f"{what}.{key}[{i}]") for i, item in enumerate(items)]


def _body(model: Any) -> Any:
    return model.to_json() if hasattr(model, "to_json") else model


class ManagerClient:
    """One Manager's API. Use `async with` or call `close()`.

    `access_token`: the optional token that guards the whole API. `admin_token`: the token that
    administering operations need (configuration, variables, worker actions, deletion, tags).
    """

    def __init__(self, base_url: str, access_token: str = "", timeout_s: float = 30.0,
                 admin_token: str = "", *, transport: Transport | None = None):
        self.transport = transport or Transport(
            base_url, access_token=access_token, admin_token=admin_token, timeout_s=timeout_s)
        self.base_url = self.transport.base_url

    async def __aenter__(self) -> ManagerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.transport.close()

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Any operation: the decoded JSON answer (None for 204), or the client errors."""
        return await self.transport.call(method, path, json_body=_body(body))

    async def _get(self, path: str, model: type[M], **kwargs: Any) -> M:
        return decode(model, await self.transport.call_object("GET", path, **kwargs), path)

    async def _maybe(self, path: str, model: type[M]) -> M | None:
        """GET an object that may not exist yet (204)."""
        body = await self.transport.call("GET", path, ok=(200, 204))
        return None if body is None else decode(model, body, path)

    async def _post(self, path: str, body: Any = None) -> None:
        await self.transport.call("POST", path, json_body=_body(body), ok=(200, 204))

    # --- meta ------------------------------------------------------------------------------------
    async def version(self) -> FlamencoVersion:
        return await self._get(f"{V3}/version", FlamencoVersion)

    async def configuration(self) -> ManagerConfiguration:
        return await self._get(f"{V3}/configuration", ManagerConfiguration)

    async def configuration_file(self) -> dict[str, Any]:
        """The whole `flamenco-manager.yaml` as JSON (admin)."""
        return await self.transport.call_object("GET", f"{V3}/configuration/file")

    async def set_configuration_file(self, config: dict[str, Any]) -> None:
        """Replace the configuration (admin); the Manager restarts itself with it."""
        await self.transport.call("PUT", f"{V3}/configuration/file", json_body=config, ok=(204,))

    async def save_setup_assistant(self, setup: dict[str, Any]) -> None:
        await self._post(f"{V3}/configuration/setup-assistant", setup)

    async def job_types(self) -> list[AvailableJobType]:
        return _items(await self.transport.call_object("GET", f"{V3}/jobs/types"), "job_types",
                      AvailableJobType, "job types")

    async def job_type(self, name: str) -> AvailableJobType:
        return await self._get(f"{V3}/jobs/type/{name}", AvailableJobType)

    async def variables(self) -> dict[str, TablaoVariable]:
        """The configured variables, a value per platform and audience (Tablao)."""
        body = await self.transport.call_object("GET", f"{T}/variables")
        return decode(TablaoVariables, body, "variables").variables

    async def set_variables(self, variables: dict[str, TablaoVariable]) -> dict[str, TablaoVariable]:
        """Replace all variables (Tablao); the answer is what the Manager now has."""
        answer = await self.transport.call_object("PUT", f"{T}/variables",
                                                  json_body=TablaoVariables(variables).to_json())
        return decode(TablaoVariables, answer, "variables").variables

    async def resolved_variables(self, audience: str, platform: str,
                                 site: str | None = None) -> dict[str, ManagerVariable]:
        """Variables as the Manager resolves them for `audience` (users, workers) on `platform`; from a
        hub, those of `site` (a hub keeps no variables of its own)."""
        params = {"site": site} if site else None
        body = await self.transport.call_object("GET", f"{V3}/configuration/variables/{audience}/{platform}",
                                                params=params)
        # Flamenco's shape: the mapping itself, {name: {value, is_twoway}}.
        return decode(ManagerVariables, {"variables": body}, "variables").variables

    async def shared_storage(self, audience: str, platform: str) -> SharedStorageLocation:
        return await self._get(f"{V3}/configuration/shared-storage/{audience}/{platform}", SharedStorageLocation)

    async def submit_policy(self, platform: str) -> SubmitPolicy:
        """Tablao: whether this client's jobs run their .blend scripts, and where jobs may write
        (spelled for `platform`). A Flamenco Manager answers 404."""
        return await self._get(f"{V3}/tablao/submit-policy", SubmitPolicy, params={"platform": platform})

    async def fair_share(self) -> FairShare:
        """Tablao: the scheduler policy and each submitter's running tasks. A Flamenco Manager answers 404."""
        return await self._get(f"{V3}/tablao/fair-share", FairShare)

    async def check_shared_storage(self, path: str) -> PathCheckResult:
        body = await self.transport.call_object(
            "POST", f"{V3}/configuration/check/shared-storage", json_body={"path": path})
        return decode(PathCheckResult, body)

    async def storage_check(self, path: str, shaman_enabled: bool | None = None) -> StorageCheckResult:
        """Tablao's storage check for the setup wizard: free space, links, the approach."""
        body: dict[str, Any] = {"path": path}
        if shaman_enabled is not None:
            body["shaman_enabled"] = shaman_enabled
        return decode(StorageCheckResult, await self.transport.call_object("POST", f"{T}/storage-check", json_body=body))

    async def find_blender(self) -> list[BlenderPathCheckResult]:
        body = await self.transport.call("GET", f"{V3}/configuration/check/blender", ok=(200,))
        if not isinstance(body, list):
            raise ContractError("find blender: expected a list")
        return [decode(BlenderPathCheckResult, b, f"blender[{i}]") for i, b in enumerate(body)]

    async def check_blender(self, path: str) -> BlenderPathCheckResult:
        body = await self.transport.call_object("POST", f"{V3}/configuration/check/blender", json_body={"path": path})
        return decode(BlenderPathCheckResult, body)

    async def farm_status(self) -> FarmStatus:
        body = await self.transport.call_object("GET", f"{V3}/status")
        return decode(FarmStatusReport, body, "status").status

    # --- jobs ----------------------------------------------------------------------------------
    async def submit_job(self, job: SubmittedJob | dict[str, Any]) -> Job:
        return decode(Job, await self.transport.call_object("POST", f"{V3}/jobs", json_body=_body(job)))

    async def check_job(self, job: SubmittedJob | dict[str, Any]) -> None:
        """Validate a job without submitting it (HttpError 400/412 when it would be refused)."""
        await self._post(f"{V3}/jobs/check", job)

    async def jobs(self) -> list[Job]:
        """All jobs (Flamenco's unpaged listing); prefer `jobs_page`."""
        return _items(await self.transport.call_object("GET", f"{V3}/jobs"), "jobs", Job, "jobs")

    async def jobs_page(self, limit: int = 100, offset: int = 0, statuses: list[str] | None = None,
                        query: JobsQuery | None = None) -> JobsPage:
        """One page of jobs, newest first, optionally only those in `statuses` (Tablao)."""
        query = query or JobsQuery(limit, offset, list(statuses or ()))
        return await self._get(f"{T}/jobs", JobsPage, params=query.to_params())

    async def job(self, job_id: str) -> Job:
        return await self._get(f"{V3}/jobs/{job_id}", Job)

    async def job_chain(self, job_id: str) -> JobChain:
        """The jobs this job waits for and the jobs that wait for it, with its waiting words (Tablao)."""
        return await self._get(f"{T}/jobs/{job_id}/chain", JobChain)

    async def set_job_depends_on(self, job_id: str, depends_on: list[str], on_failure: str | None = None) -> None:
        """Make the job wait for these jobs instead (none: for no job); a cycle is a 400 (Tablao)."""
        await self.transport.call("PUT", f"{T}/jobs/{job_id}/depends-on",
                                  json_body=_body(JobDependsOnChange(depends_on, on_failure)), ok=(204,))

    async def job_requirements(self, job_id: str) -> JobRequirementsAnswer:
        """What the job's scene needs of a worker, and in words what no connected worker has (Tablao)."""
        return await self._get(f"{T}/jobs/{job_id}/requirements", JobRequirementsAnswer)

    async def job_etas(self) -> JobEtas | None:
        """The Manager's ETA of each unfinished job; None from a Manager without them (an older one,
        or Flamenco's)."""
        path = f"{T}/jobs/eta"
        try:
            return decode(JobEtas, await self.transport.call_object("GET", path), path)
        except HttpError as exc:
            if exc.status in (404, 405):
                return None
            raise

    async def job_tasks(self, job_id: str) -> list[TaskSummary]:
        return _items(await self.transport.call_object("GET", f"{V3}/jobs/{job_id}/tasks"), "tasks",
                      TaskSummary, "job tasks")

    async def job_task_stats(self, job_id: str) -> JobTaskStats:
        """Tablao: each finished task's latest run (render time, peak memory, worker). Flamenco: 404."""
        return await self._get(f"{T}/jobs/{job_id}/task-stats", JobTaskStats)

    async def set_job_status(self, job_id: str, status: str, reason: str = "") -> None:
        await self._post(f"{V3}/jobs/{job_id}/setstatus", JobStatusChange(JobStatus(status), reason))

    async def set_job_priority(self, job_id: str, priority: int) -> None:
        await self._post(f"{V3}/jobs/{job_id}/setpriority", JobPriorityChange(priority))

    async def set_job_tag(self, job_id: str, tag_id: str | None = None, tag_name: str | None = None) -> None:
        """Limit the job to a worker tag (by id or name); neither: any worker may run it."""
        await self._post(f"{V3}/jobs/{job_id}/settag", JobTagChange(id=tag_id or None, name=tag_name or None))

    async def delete_job(self, job_id: str) -> None:
        await self.transport.call("DELETE", f"{V3}/jobs/{job_id}", ok=(204,))

    async def what_would_delete_do(self, job_id: str) -> JobDeletionInfo:
        return await self._get(f"{V3}/jobs/{job_id}/what-would-delete-do", JobDeletionInfo)

    async def mass_delete_jobs(self, last_updated_max: str) -> bool:
        """Delete every job last updated at or before that RFC 3339 time; False when none matched (416)."""
        body = await self.transport.call("DELETE", f"{V3}/jobs/mass-delete", ok=(204, 416),
                                         json_body=JobMassDeletionSelection(last_updated_max).to_json())
        return body is None

    async def job_blocklist(self, job_id: str) -> list[BlocklistEntry]:
        body = await self.transport.call("GET", f"{V3}/jobs/{job_id}/blocklist", ok=(200,))
        if not isinstance(body, list):
            raise ContractError("job blocklist: expected a list")
        return [decode(BlocklistEntry, b, f"blocklist[{i}]") for i, b in enumerate(body)]

    async def remove_from_blocklist(self, job_id: str, entries: list[BlocklistEntry]) -> None:
        await self.transport.call("DELETE", f"{V3}/jobs/{job_id}/blocklist", ok=(204,),
                                  json_body=[e.to_json() for e in entries])

    async def last_rendered(self, job_id: str | None = None) -> LastRenderedInfo | None:
        """Where a job's (or, without a job, the farm's) last-rendered images are; None before any."""
        path = f"{V3}/jobs/{job_id}/last-rendered" if job_id else f"{V3}/jobs/last-rendered"
        return await self._maybe(path, LastRenderedInfo)

    async def last_rendered_image(self, job_id: str, prefer: str = "last-rendered-small.jpg") -> bytes | None:
        """The bytes of a job's last-rendered image (the `prefer` size when there is one), or None."""
        info = await self.last_rendered(job_id)
        if info is None or not info.suffixes:
            return None
        suffix = prefer if prefer in info.suffixes else info.suffixes[0]
        return await self.file_bytes(f"{info.base}/{suffix}")

    async def file_bytes(self, path: str) -> bytes | None:
        """A file the Manager serves (`/job-files/...`) as bytes; None when it is not there."""
        try:
            async with self.transport.session.get(self.base_url + path, headers=self.transport.headers(),
                                                  timeout=self.transport.timeout(60.0)) as resp:
                return await resp.read() if resp.status == 200 else None
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            raise ManagerUnreachable(f"cannot reach the Manager at {self.base_url}: {exc}") from exc

    async def blender_addon(self, kind: str = "addon") -> bytes:
        """The Manager's Blender add-on zip with its address filled in: `addon` (Blender 3.x and 4.x,
        installed as a legacy add-on) or `extension` (Blender 4.2+)."""
        if kind not in ("addon", "extension"):
            raise ValueError(kind)
        path = f"/tablao-{kind}.zip"
        try:
            async with self.transport.session.get(self.base_url + path, headers=self.transport.headers(),
                                                  timeout=self.transport.timeout(120.0)) as resp:
                if resp.status != 200:
                    raw = await resp.content.read(64 * 1024)
                    try:
                        body: Any = json.loads(raw)
                    except ValueError:
                        body = raw.decode("utf-8", "replace")
                    raise Reply(resp.status, body, resp.headers).error()
                data = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > MAX_ADDON_BYTES:
                        raise ContractError(f"GET {path}: the add-on is larger than {MAX_ADDON_BYTES} bytes")
                return bytes(data)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            raise ManagerUnreachable(f"cannot reach the Manager at {self.base_url}: {exc}") from exc

    # --- tasks ---------------------------------------------------------------------------------
    async def task(self, task_id: str) -> Task:
        return await self._get(f"{V3}/tasks/{task_id}", Task)

    async def set_task_status(self, task_id: str, status: str, reason: str = "") -> None:
        await self._post(f"{V3}/tasks/{task_id}/setstatus", TaskStatusChange(TaskStatus(status), reason))

    async def task_log_tail(self, task_id: str) -> str:
        """The last lines of a task's log ("" while it has none)."""
        body = await self.transport.call("GET", f"{V3}/tasks/{task_id}/logtail", ok=(200, 204), raw=True)
        return body or ""

    async def task_log_info(self, task_id: str) -> TaskLogInfo | None:
        return await self._maybe(f"{V3}/tasks/{task_id}/log", TaskLogInfo)

    async def task_log(self, task_id: str) -> str:
        """The whole log of a task, rotated parts included, oldest first (Tablao)."""
        body = await self.transport.call("GET", f"{T}/tasks/{task_id}/log", ok=(200, 204), raw=True)
        return body or ""

    # --- workers -------------------------------------------------------------------------------
    async def workers(self) -> list[WorkerSummary]:
        return _items(await self.transport.call_object("GET", f"{V3}/worker-mgt/workers"), "workers",
                      WorkerSummary, "workers")

    async def worker(self, worker_id: str) -> Worker:
        return await self._get(f"{V3}/worker-mgt/workers/{worker_id}", Worker)

    async def request_worker_status(self, worker_id: str, status: str, lazy: bool = True,
                                    as_worker: bool = False) -> None:
        """Ask a worker to go to `status`; `lazy`: after its current task, else at once.

        `as_worker`: send the worker's own HTTP Basic credentials (the transport's `worker_auth`)
        instead of needing the admin token; the Manager then allows only that worker's own id.
        """
        await self.transport.call("POST", f"{V3}/worker-mgt/workers/{worker_id}/setstatus",
                                  json_body=WorkerStatusChangeRequest(WorkerStatus(status), lazy).to_json(),
                                  ok=(200, 204),
                                  worker=as_worker)

    async def delete_worker(self, worker_id: str) -> None:
        await self.transport.call("DELETE", f"{V3}/worker-mgt/workers/{worker_id}", ok=(204,))

    async def set_worker_tags(self, worker_id: str, tag_ids: list[str]) -> None:
        await self._post(f"{V3}/worker-mgt/workers/{worker_id}/settags", WorkerTagChangeRequest(list(tag_ids)))

    async def sleep_schedule(self, worker_id: str) -> WorkerSleepSchedule | None:
        return await self._maybe(f"{V3}/worker-mgt/workers/{worker_id}/sleep-schedule", WorkerSleepSchedule)

    async def set_sleep_schedule(self, worker_id: str, schedule: WorkerSleepSchedule,
                                 as_worker: bool = False) -> None:
        """Replace a worker's sleep schedule; `as_worker` as for `request_worker_status`."""
        await self.transport.call("POST", f"{V3}/worker-mgt/workers/{worker_id}/sleep-schedule",
                                  json_body=schedule.to_json(), ok=(200, 204), worker=as_worker)

    async def worker_day(self, worker_id: str, since: str, as_worker: bool = False) -> WorkerDay:
        """The worker's tasks, frames and time since `since` (RFC 3339, e.g. local midnight), and its
        last frame; `as_worker` as for `request_worker_status` (a worker may read its own day)."""
        path = f"{T}/workers/{worker_id}/day"
        body = await self.transport.call_object("GET", path, params={"since": since}, worker=as_worker)
        return decode(WorkerDay, body, path)

    async def worker_tags(self) -> list[WorkerTag]:
        body = await self.transport.call_object("GET", f"{V3}/worker-mgt/tags")
        return _items({"tags": body.get("tags") or []}, "tags", WorkerTag, "tags")

    async def worker_tag(self, tag_id: str) -> WorkerTag:
        return await self._get(f"{V3}/worker-mgt/tag/{tag_id}", WorkerTag)

    async def create_worker_tag(self, tag: WorkerTag) -> WorkerTag:
        return decode(WorkerTag, await self.transport.call_object("POST", f"{V3}/worker-mgt/tags", json_body=tag.to_json()))

    async def update_worker_tag(self, tag: WorkerTag) -> None:
        if not tag.id:
            raise ValueError("updating a tag needs its id")
        await self.transport.call("PUT", f"{V3}/worker-mgt/tag/{tag.id}", json_body=tag.to_json(), ok=(204,))

    async def delete_worker_tag(self, tag_id: str) -> None:
        await self.transport.call("DELETE", f"{V3}/worker-mgt/tag/{tag_id}", ok=(204,))

    # --- Shaman --------------------------------------------------------------------------------
    async def shaman_requirements(self, files: Sequence[ShamanRequirement | ShamanFileSpec],
                                  ) -> list[ShamanFileSpecWithStatus]:
        """The files the Manager lacks, each with `status` unknown or uploading."""
        asked = ShamanRequirementsRequest([ShamanRequirement(f.sha, f.size, f.path) for f in files])
        body = await self.transport.call_object("POST", f"{V3}/shaman/checkout/requirements",
                                                json_body=asked.to_json())
        return _items(body, "files", ShamanFileSpecWithStatus, "shaman requirements")

    async def shaman_file_status(self, sha: str, size: int) -> str:
        """`unknown`, `uploading` or `stored`."""
        return (await self._get(f"{V3}/shaman/files/{sha}/{size}", ShamanFileStatusReport)).status

    async def shaman_upload(self, sha: str, size: int, data: bytes | AsyncIterable[bytes], *,
                            can_defer: bool = False, filename: str = "") -> int:
        """Upload one file; returns the status: 204 stored (200 from a Flamenco Manager), 208 already
        stored, 425 deferred (someone else uploads it). Other statuses raise `HttpError`."""
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size),
                   SHAMAN_CAN_DEFER_HEADER: "true" if can_defer else "false"}
        if filename:
            headers[SHAMAN_FILENAME_HEADER] = filename
        reply = await self.transport.send("POST", f"{V3}/shaman/files/{sha}/{size}", data=data, headers=headers)
        if reply.status not in (200, 204, 208, 425):
            raise reply.error()
        return reply.status

    async def shaman_checkout(self, files: list[ShamanFileSpec], checkout_path: str) -> ShamanCheckoutResult:
        """Build a checkout; the answer has the path actually used and (Tablao) how it was linked."""
        body = ShamanCheckout(list(files), checkout_path).to_json()
        reply = await self.transport.send("POST", f"{V3}/shaman/checkout/create", json_body=body)
        if reply.status != 200:
            raise reply.error()
        result = decode(ShamanCheckoutResult, reply.body, "shaman checkout")
        result.link_mode = reply.headers.get(LINK_MODE_HEADER, "")
        return result

    # --- live events ---------------------------------------------------------------------------
    def events(self, types: list[str] | None = None, task_logs: list[str] | None = None, *,
               max_backoff_s: float = 10.0) -> EventStream:
        """The live event stream: `async for item in client.events(...)` yields `EventMessage`s and,
        after a reconnect or lost events, a `StreamGap` telling the owner to re-fetch."""
        return EventStream(self.transport, types=types, task_logs=task_logs, max_backoff_s=max_backoff_s)

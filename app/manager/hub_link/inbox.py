"""What a site does with its hub's messages: store a forwarded job, act on a job, answer a question.

Each `submit` and `action` is applied at most once, by its id: the answer is kept beside the id
(`hub_link_applied`) and given again when the hub repeats the message, for instance after a
reconnect that lost the first answer. A forwarded job is stored under the id the hub gave it, so
the hub and the site name it alike; a job with that id already here (stored just before a crash,
before its id was kept) counts as applied.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.api.errors import ApiError, BadRequest
from app.api.jobs import JobPriorityChange, JobStatusChange, SubmittedJob, TaskStatusChange
from app.common.clock import Clock
from app.manager.hub_link.protocol import ACTIONS
from app.manager.hub_link.questions import QUESTIONS, SiteQuestions
from app.manager.jobs.job_service import JobService
from app.manager.jobs.task_logs import TaskLogs
from app.manager.persistence import hub_link_records as records
from app.manager.persistence.db import Store
from app.manager.web.request_body import body_as
from app.shaman.service import Shaman
from app.shaman.specs import FileKey, checkout_files

_log = logging.getLogger(__name__)

Result = dict[str, Any]


#: Fetches one file of the hub's Shaman into this site's Shaman.
FetchBlob = Callable[[FileKey], Awaitable[None]]


class HubInbox:
    """Applies the hub's messages to this Manager's jobs; every method returns the answer to send."""

    def __init__(self, store: Store, jobs: JobService, clock: Clock, shaman: Shaman | None = None,
                 fetch_blob: FetchBlob | None = None, task_logs: TaskLogs | None = None,
                 questions: SiteQuestions | None = None):
        self.store, self.jobs, self.clock = store, jobs, clock
        self.shaman, self.fetch_blob, self.task_logs = shaman, fetch_blob, task_logs
        self.questions = questions  # what the hub's pages read of this site (ETAs, frames, ...)

    async def submit(self, msg: dict[str, Any]) -> Result:
        return await self._once(msg, self._submit)

    async def action(self, msg: dict[str, Any]) -> Result:
        return await self._once(msg, self._action)

    async def ask(self, msg: dict[str, Any]) -> Result:
        """A question: never stored, answered from the jobs as they are now (a job's tasks; would
        this job compile here, as POST /api/v3/jobs/check; a task; the tail of its log)."""
        try:
            what = msg.get("what")
            if what == "tasks":
                return _ok(data={"tasks": await self.jobs.job_tasks(_job_id(msg))})
            if what == "check":
                await self.jobs.check(body_as(SubmittedJob, msg.get("job")))
                return _ok()
            if what == "task":
                return _ok(data=await self.jobs.task(_id(msg, "task_id")))
            if what == "logtail" and self.task_logs is not None:
                job_uuid, task_uuid = await self.jobs.task_ids(_id(msg, "task_id"))
                return _ok(data={"text": await self.task_logs.tail(job_uuid, task_uuid) or ""})
            if isinstance(what, str) and what in QUESTIONS and self.questions is not None:
                return _ok(data=await self.questions.answer(what, msg))
            raise BadRequest(f"unknown question {what!r}")
        except ApiError as exc:
            return _refused(exc)

    async def _once(self, msg: dict[str, Any], apply) -> Result:
        msg_id = msg.get("id")
        if not isinstance(msg_id, str) or not 1 <= len(msg_id) <= 36:
            return _refused(BadRequest("a hub message needs an `id` of 1 to 36 characters"))
        earlier = await self.store.call(records.applied_result, msg_id)
        if earlier is not None:
            _log.info("hub message %s was applied before; answering as then", msg_id)
            return earlier
        try:
            result = await apply(msg)
        except ApiError as exc:
            result = _refused(exc)
        if result["status"] < 500:  # a 5xx is this site's trouble: the hub tries again later
            await self.store.call(records.record_applied, msg_id, result, self.clock.now().replace(tzinfo=None))
        return result

    async def _submit(self, msg: dict[str, Any]) -> Result:
        job_id = _job_id(msg)
        if not await self.store.call(records.job_exists, job_id):
            wire = msg.get("job")
            if isinstance(wire, dict) and isinstance(msg.get("checkout"), dict):
                wire = await self._with_checkout(wire, msg["checkout"])
            body = body_as(SubmittedJob, wire)
            await self.jobs.submit(body, credentialed=msg.get("credentialed") is True, job_uuid=job_id)
            _log.info("stored job %s forwarded by the hub", job_id)
        return _ok(job=await self.jobs.fetch(job_id))

    async def _with_checkout(self, job: dict[str, Any], checkout: dict[str, Any]) -> dict[str, Any]:
        """The job with its files in this site's Shaman: those it lacks fetched from the hub, then the
        hub's checkout made here (under another name when this site has one of that name)."""
        if self.shaman is None or self.fetch_blob is None:
            raise BadRequest("the job's files are in the hub's Shaman, and this site has no Shaman to take them "
                             "(shaman.enabled and shared_storage_path in its flamenco-manager.yaml)")
        files = checkout_files(checkout.get("files"))
        wanted = str(checkout.get("path") or "")
        missing = await self.shaman.requirements(files)
        for spec, _status in missing:
            await self.fetch_blob(spec.key)
        actual = (await self.shaman.checkout(files, wanted)).checkout_path
        _log.info("checkout %s made from the hub's files (%d of %d fetched)", actual, len(missing), len(files))
        raw = job.get("settings")
        settings: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if actual != wanted:  # the job's paths name the checkout through the `{jobs}` variable
            old, new = f"{{jobs}}/{wanted}/", f"{{jobs}}/{actual}/"
            settings = {k: v.replace(old, new) if isinstance(v, str) else v for k, v in settings.items()}
        return {**job, "settings": settings, "storage": {"shaman_checkout_id": actual}}

    async def _action(self, msg: dict[str, Any]) -> Result:
        job_id, action, body = _job_id(msg), msg.get("action"), msg.get("body")
        if action == "setstatus":
            await self.jobs.set_job_status(job_id, body_as(JobStatusChange, body))
        elif action == "setpriority":
            await self.jobs.set_priority(job_id, body_as(JobPriorityChange, body))
        elif action == "delete":
            await self.jobs.request_deletion(job_id)
        elif action == "settaskstatus" and isinstance(body, dict):
            task_id = _id(body, "task_id")
            task = await self.jobs.task(task_id)
            if task.get("job_id") != job_id:
                raise BadRequest(f"task {task_id} is not a task of job {job_id}")
            await self.jobs.set_task_status(task_id, body_as(TaskStatusChange, {k: v for k, v in body.items()
                                                                                if k != "task_id"}))
        else:
            raise BadRequest(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
        return _ok()


def _job_id(msg: dict[str, Any]) -> str:
    return _id(msg, "job_id")


def _id(msg: dict[str, Any], key: str) -> str:
    value = msg.get(key)
    if not isinstance(value, str) or not 1 <= len(value) <= 36:
        raise BadRequest(f"a hub message needs a `{key}` of 1 to 36 characters")
    return value


def _ok(**extra: Any) -> Result:
    return {"ok": True, "status": 200, **extra}


def _refused(exc: ApiError) -> Result:
    return {"ok": False, "status": exc.status, "message": exc.message}

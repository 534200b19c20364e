"""`JobBook`: the jobs of every site as the hub shows them, and what artists do with them at the hub.

A job submitted at the hub gets its id here and keeps it at its site, so one id names it
everywhere. It is routed (`routing.py`), written with its routing reason and its outbox message
in one transaction, and then sent; while the site is connected the artist gets the site's answer
(the stored job, or its 4xx), otherwise the job is shown as waiting at the hub, in words, and goes
out when the site connects. Jobs the sites report (`jobs` messages) are kept newest-wins, so a
late or repeated report never turns a job back. Actions (status, priority, deletion) travel the
same outbox to the owning site; a job's tasks are asked of the site live.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from app.api.errors import ApiError, BadRequest, NotFound, ServiceUnavailable
from app.api.headers import API_PREFIX
from app.api.jobs import SubmittedJob
from app.common.clock import Clock, parse_rfc3339, to_rfc3339
from app.common.events import JOB_DID_CHANGE, LAST_RENDERED_DID_CHANGE, EventBus
from app.hub.outbox import Outbox
from app.hub.routing import InPlace, Route, Unreachable, choose_site, in_place_paths
from app.hub.shaman_relay import checkout_for_site
from app.hub.sites import SiteBook
from app.manager.hub_link import protocol as p
from app.manager.persistence import hub_records as records
from app.manager.persistence.db import Store
from app.manager.pictures.last_rendered import SUFFIXES
from app.shaman.service import Shaman

_log = logging.getLogger(__name__)

SUBMIT_WAIT = 30.0  # seconds an artist's submission waits for a connected site's answer (it compiles)
ACTION_WAIT = 10.0
ASK_WAIT = 10.0
TASKS_REMEMBERED = 100_000  # task ids whose site the hub remembers (oldest forgotten first)
WAITING, DELIVERED, REFUSED = "waiting", "delivered", "refused"
NO_SITE = ""  # the site of a job that waits until some site says it reaches its files


def frame_base(job_id: str) -> str:
    """Where the hub serves the pictures of a job's last rendered frame (`SiteReads.frame`)."""
    return f"{API_PREFIX}/tablao/hub/frames/{job_id}"


class JobBook:
    def __init__(self, store: Store, clock: Clock, sites: SiteBook, outbox: Outbox, shaman: Shaman | None = None,
                 bus: EventBus | None = None):
        self.store, self.clock, self.sites, self.outbox = store, clock, sites, outbox
        self.bus = bus or EventBus()  # the hub's event stream: every site's jobs, as they change
        self.shaman = shaman  # the hub's Shaman, whose checkouts forwarded jobs may name
        outbox.on_done = self._done
        self._asks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._task_sites: dict[str, str] = {}  # task id -> site, learnt from the job task lists read

    # --- submitting ------------------------------------------------------------------------------
    async def _route(self, body: SubmittedJob, in_place: bool = True) -> Route:
        waiting = await self.store.call(records.pending_counts)
        files = InPlace()
        if in_place and not _checkout_of(body):
            files = in_place_paths(body.settings, body.submitter_platform)
        return choose_site(self.sites.views(waiting), body.type, body.type_etag or "", body.worker_tag or "",
                           named=(body.metadata or {}).get("site", ""), files=files)

    async def check(self, body: SubmittedJob) -> str:
        """POST /jobs/check: the site the job would go to compiles it without storing it; returns the site.

        Its paths are not judged for reach: clients check before they know whether the files will go
        through Shaman (Flamenco's add-on even names a placeholder blendfile)."""
        route = await self._route(body, in_place=False)
        wire = body.to_json()
        if route.worker_tag is not None:
            wire["worker_tag"] = route.worker_tag
        checkout = _checkout_of(body)
        if checkout:  # the hub's to check: the site makes its copy of the checkout only on submission
            await checkout_for_site(self.shaman, self.store, checkout)
            wire.pop("storage", None)
        await self._ask(route.site, {"what": "check", "job": wire})
        return route.site

    async def submit(self, body: SubmittedJob, credentialed: bool) -> dict[str, Any]:
        try:
            route = await self._route(body)
        except Unreachable as exc:  # kept: a site may yet connect saying it reaches the files
            route = Route(NO_SITE, str(exc))
        job_id, msg_id, now = self.outbox.new_id(), self.outbox.new_id(), self._now()
        wire = body.to_json()
        if route.worker_tag is not None:
            wire["worker_tag"] = route.worker_tag
        payload: dict[str, Any] = {"job": wire, "credentialed": credentialed}
        checkout = _checkout_of(body)
        if checkout:
            payload["checkout"] = await checkout_for_site(self.shaman, self.store, checkout)
        snapshot = _waiting_snapshot(job_id, body, now)

        def store_both() -> None:
            records.add_job(job_id, route.site, WAITING, snapshot, now, route.reason, "")
            records.add_message(msg_id, route.site, p.SUBMIT, job_id, payload, now)

        await self.store.call(store_both)
        self._announce(route.site, snapshot, None)
        _log.info("job %s routed to site %s: %s", job_id, route.site, route.reason)
        answer = await self._send_and_wait(route.site, p.SUBMIT, msg_id, job_id, payload, SUBMIT_WAIT)
        if answer is not None and not answer.get("ok") and not answer.get("retry"):
            raise ApiError(f"site {route.site} refused the job: {answer.get('message')}",
                           status=int(answer.get("status") or 400))
        return await self.fetch(job_id)

    async def _send_and_wait(self, site: str, kind: str, msg_id: str, job_id: str, payload: dict[str, Any],
                             timeout: float) -> dict[str, Any] | None:
        fut = self.outbox.expect(msg_id)
        if not await self.outbox.send_now(site, self.outbox.message(kind, msg_id, job_id, payload)):
            await self.outbox.wait(msg_id, fut, 0)
            return None
        return await self.outbox.wait(msg_id, fut, timeout)

    async def _done(self, rec: records.OutboxMessage, result: dict[str, Any], waited: bool) -> None:
        """The first answer to a message: a submission is now the site's job, or refused."""
        if rec.kind != p.SUBMIT:
            return
        if result.get("ok") and isinstance(result.get("job"), dict):
            await self._apply_jobs(rec.site, [result["job"]])
        elif not result.get("ok"):
            if waited:  # the artist is told by the answer itself; nothing of it stays at the hub
                await self.store.call(records.forget_refused, rec.job_id)
                self._announce(rec.site, {"id": rec.job_id, "status": "failed"}, None, deleted=True)
                return
            job = await self.store.call(records.job, rec.job_id)
            if job is not None:
                snapshot = {**job.snapshot, "status": "failed", "activity": f"refused by site {rec.site}: "
                            f"{result.get('message')}", "updated": to_rfc3339(self._now())}
                await self.store.call(records.set_job_state, rec.job_id, REFUSED, str(result.get("message")),
                                      snapshot)
                self._announce(rec.site, snapshot, job.snapshot.get("status"))

    async def route_waiting(self) -> list[str]:
        """Send each job that waits for a site reaching its files to one that now does (called when a
        site connects, having said what it reaches); the ids of the jobs routed."""
        counts = await self.store.call(records.pending_counts)
        views, moved = self.sites.views(counts), list[tuple[str, str]]()
        for msg in await self.store.call(records.pending_messages, NO_SITE):
            wire = msg.payload.get("job") if msg.kind == p.SUBMIT else None
            if not isinstance(wire, dict):
                continue
            files = in_place_paths(wire.get("settings"), wire.get("submitter_platform"))
            try:
                route = choose_site(views, str(wire.get("type") or ""), str(wire.get("type_etag") or ""),
                                    str(wire.get("worker_tag") or ""), files=files)
            except BadRequest:
                continue
            if route.worker_tag is not None:
                wire = {**wire, "worker_tag": route.worker_tag}
            await self.store.call(records.move_job, msg.job_id, route.site, route.reason, msg.msg_id,
                                  {**msg.payload, "job": wire})
            job = await self.store.call(records.job, msg.job_id)
            if job is not None:
                self._announce(route.site, job.snapshot, None)
            _log.info("job %s, waiting for a site reaching its files, routed to site %s", msg.job_id, route.site)
            moved.append((msg.job_id, route.site))
        for site in sorted({site for _, site in moved}):
            if self.sites.connection(site) is not None:
                await self.outbox.deliver_pending(site)
        return [job_id for job_id, _ in moved]

    # --- what sites report -----------------------------------------------------------------------
    async def site_jobs(self, site: str, data: dict[str, Any]) -> None:
        jobs = [j for j in data.get("jobs") or [] if _is_job(j)]
        gone = [g for g in data.get("gone") or [] if isinstance(g, str) and len(g) <= 36]
        await self._apply_jobs(site, jobs)
        if gone:
            self._announce_gone(await self.store.call(records.forget_jobs, site, gone))

    async def site_inventory(self, site: str, data: dict[str, Any]) -> None:
        have = {u for u in data.get("uuids") or [] if isinstance(u, str)}
        known = await self.store.call(records.job_uuids, site)
        gone = [u for u in known if u not in have]
        if gone:
            forgotten = await self.store.call(records.forget_jobs, site, gone)
            self._announce_gone(forgotten)
            _log.info("site %s no longer has %d jobs", site, len(forgotten))

    async def _apply_jobs(self, site: str, jobs: list[dict[str, Any]]) -> None:
        if not jobs:
            return
        stamped = [(job, _naive(job["updated"])) for job in jobs]

        def apply() -> list[tuple[dict[str, Any], str | None]]:
            newest, changed = "", []
            for job, updated in stamped:
                what, before = records.apply_snapshot(site, job, updated)
                if what != records.UNCHANGED:
                    changed.append((job, before))
                newest = max(newest, updated.strftime("%Y-%m-%dT%H:%M:%S.%f"))
            state = records.site(site)
            if state is not None and newest > (state.cursor or ""):
                records.set_cursor(site, newest)
            return changed

        for job, before in await self.store.call(apply):
            self._announce(site, job, before)

    def _announce(self, site: str, job: dict[str, Any], before: str | None, deleted: bool = False) -> None:
        """`job_did_change` on the hub's stream, in the Manager's shape, with the job's site."""
        keys = ("id", "name", "updated", "status", "type", "priority", "steps_completed", "steps_total", "activity",
                "created", "delete_requested_at", "worker_tag")
        data = {key: job[key] for key in keys if job.get(key) is not None}
        data.update(refresh_tasks=True, site=site)
        data.setdefault("steps_completed", 0)
        data.setdefault("steps_total", 0)
        if before is not None and before != job.get("status"):
            data["previous_status"] = before
        if deleted:
            data["was_deleted"] = True
        self.bus.publish(JOB_DID_CHANGE, data)

    def _announce_gone(self, dropped: list[records.JobRecord]) -> None:
        for job in dropped:
            self._announce(job.site, job.snapshot, None, deleted=True)

    async def cursor(self, site: str) -> str:
        """The newest change the hub has from `site`, as RFC 3339 ("" for none)."""
        state = await self.store.call(records.site, site)
        if state is None or not state.cursor:
            return ""
        return to_rfc3339(dt.datetime.fromisoformat(state.cursor))

    # --- reading -----------------------------------------------------------------------------------
    async def list(self, statuses: list[str] | None = None) -> list[dict[str, Any]]:
        """Every site's jobs, newest first (only those in `statuses` when given)."""
        jobs = [self._shown(job) for job in await self.store.call(records.jobs)]
        if statuses:
            jobs = [job for job in jobs if job.get("status") in statuses]
        jobs.sort(key=lambda j: (j.get("created") or "", j["id"]), reverse=True)
        return jobs

    async def fetch(self, job_id: str) -> dict[str, Any]:
        return self._shown(await self._record(job_id))

    async def _record(self, job_id: str) -> records.JobRecord:
        job = await self.store.call(records.job, job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist at this hub or any of its sites")
        return job

    def _shown(self, job: records.JobRecord) -> dict[str, Any]:
        out = {**job.snapshot, "site": job.site}
        hub: dict[str, Any] = {"state": job.state, "route_reason": job.route_reason}
        if job.state == WAITING and job.site == NO_SITE:
            hub["why"] = (f"waiting at the hub: {job.route_reason}; it goes to the first site that connects "
                          "reaching them")
            out["activity"] = hub["why"]
        elif job.state == WAITING:
            online = self.sites.connection(job.site) is not None
            hub["why"] = (f"being sent to site {job.site}" if online else
                          f"waiting at the hub: {self.sites.describe(job.site)}; it is sent when {job.site} "
                          "connects again")
            out["activity"] = hub["why"]
        elif job.state == REFUSED:
            hub["why"] = f"site {job.site} refused it: {job.note}"
        out["hub"] = hub
        return out

    async def tasks(self, job_id: str) -> dict[str, Any]:
        job = await self._record(job_id)
        if job.state != DELIVERED:
            return {"tasks": []}
        answer = await self._ask(job.site, {"what": "tasks", "job_id": job_id})
        data = answer.get("data") or {"tasks": []}
        for task in data.get("tasks") or []:
            if isinstance(task, dict) and isinstance(task.get("id"), str):
                self.remember_task(task["id"], job.site)
        return data

    def remember_task(self, task_id: str, site: str) -> None:
        """Note which site has a task (from its job's task list or the site's own task changes)."""
        self._task_sites[task_id] = site
        if len(self._task_sites) > TASKS_REMEMBERED:
            del self._task_sites[next(iter(self._task_sites))]

    async def task_question(self, task_id: str, what: str) -> dict[str, Any]:
        """A task's facts (`task`) or its log's tail (`logtail`), asked of the site that has it: the
        one whose job listed it, else each connected site in turn."""
        known = self._task_sites.get(task_id)
        candidates = [known] if known else sorted(self.sites.connections)
        for site in candidates:
            try:
                answer = await self._ask(site, {"what": what, "task_id": task_id})
            except ApiError as exc:
                if exc.status != 404:
                    raise
                continue
            self.remember_task(task_id, site)
            return answer.get("data") or {}
        raise NotFound(f"no connected site has task {task_id[:36]}")

    async def site_of_task(self, task_id: str) -> str:
        """The site that has a task: the one known to, else the first connected site that says so."""
        known = self._task_sites.get(task_id)
        if known is not None:
            return known
        await self.task_question(task_id, "task")
        return self._task_sites[task_id]

    async def ask_site(self, site: str, question: dict[str, Any]) -> dict[str, Any]:
        """The site's answer to `question` (`protocol.py`'s `ask`); its refusal as its `ApiError`, a
        503 in words while it is offline or slow."""
        return await self._ask(site, question)

    async def job_record(self, job_id: str) -> records.JobRecord:
        """The job as the hub keeps it (404 when no site has it)."""
        return await self._record(job_id)

    async def tasks_changed(self, job_id: str) -> None:
        """Tell the hub's stream that a job's tasks changed though the job may not have (a task's action
        applied at its site): pages showing its tasks read them again."""
        self.tasks_stale([await self._record(job_id)])

    def tasks_stale(self, jobs: Iterable[records.JobRecord]) -> None:
        """Put these jobs on the hub's stream with `refresh_tasks`, as they are."""
        for job in jobs:
            self._announce(job.site, job.snapshot, None)

    def frame_changed(self, site: str, data: dict[str, Any]) -> None:
        """A site says a job of its got a new last rendered frame: pages showing it fetch it again."""
        job_id = data.get("job_id")
        if isinstance(job_id, str) and 1 <= len(job_id) <= 36:
            self.bus.publish(LAST_RENDERED_DID_CHANGE, {"job_id": job_id, "site": site, "thumbnail": {
                "base": frame_base(job_id), "suffixes": list(SUFFIXES)}})

    async def _ask(self, site: str, question: dict[str, Any]) -> dict[str, Any]:
        conn = self.sites.connection(site)
        if conn is None:
            raise ServiceUnavailable(f"{self.sites.describe(site)}; this is read from the site itself, "
                                     "so try again when it is back", headers={"Retry-After": "30"})
        rid = self.outbox.new_id()
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._asks[rid] = fut
        try:
            if not await conn.send({"type": p.ASK, "rid": rid, **question}):
                raise ServiceUnavailable(f"the connection to site {site} just closed; try again")
            answer = await asyncio.wait_for(fut, ASK_WAIT)
        except TimeoutError:
            raise ServiceUnavailable(f"site {site} did not answer within {ASK_WAIT:.0f} s; try again") from None
        finally:
            self._asks.pop(rid, None)
        if not answer.get("ok"):
            raise ApiError(str(answer.get("message")), status=int(answer.get("status") or 502))
        return answer

    def site_reply(self, data: dict[str, Any]) -> None:
        fut = self._asks.get(str(data.get("rid")))
        if fut is not None and not fut.done():
            fut.set_result(data)

    # --- acting ------------------------------------------------------------------------------------
    async def act(self, job_id: str, action: str, body: dict[str, Any] | None) -> str | None:
        """Send an action to the job's site; None when applied there, else words saying it waits."""
        job = await self._record(job_id)
        if job.state == REFUSED and action == "delete":  # its site never had it
            self._announce_gone(await self.store.call(records.forget_jobs, job.site, [job_id]))
            return None
        if job.site == NO_SITE and action == "delete":
            await self.store.call(records.drop_unsent, job_id)
            self._announce_gone([job])
            return None
        msg_id, payload = self.outbox.new_id(), {"action": action, "body": body}
        await self.store.call(records.add_message, msg_id, job.site, p.ACTION, job_id, payload, self._now())
        answer = await self._send_and_wait(job.site, p.ACTION, msg_id, job_id, payload, ACTION_WAIT)
        if answer is None or answer.get("retry"):
            return (f"{self.sites.describe(job.site)}; the {action} is kept at the hub and applied when "
                    f"{job.site} connects again")
        if not answer.get("ok"):
            raise ApiError(str(answer.get("message")), status=int(answer.get("status") or 400))
        return None

    def _now(self) -> dt.datetime:
        return self.clock.now().astimezone(dt.UTC).replace(tzinfo=None)


def _checkout_of(body: SubmittedJob) -> str:
    return (body.storage.shaman_checkout_id if body.storage else None) or ""


def _waiting_snapshot(job_id: str, body: SubmittedJob, now: dt.datetime) -> dict[str, Any]:
    stamp = to_rfc3339(now)
    out = {"id": job_id, "name": body.name, "type": body.type, "priority": body.priority,
           "status": str(body.initial_status or "queued"), "activity": "", "created": stamp, "updated": stamp,
           "steps_completed": 0, "steps_total": 0, "submitter_platform": body.submitter_platform,
           "settings": body.settings, "metadata": body.metadata}
    if body.type_etag:
        out["type_etag"] = body.type_etag
    return out


def _is_job(job: Any) -> bool:
    if not isinstance(job, dict) or not isinstance(job.get("id"), str) or not 1 <= len(job["id"]) <= 36:
        return False
    try:
        _naive(job.get("updated"))
    except (TypeError, ValueError):
        return False
    return True


def _naive(stamp: Any) -> dt.datetime:
    if not isinstance(stamp, str):
        raise TypeError("`updated` must be an RFC 3339 time")
    return parse_rfc3339(stamp).astimezone(dt.UTC).replace(tzinfo=None)

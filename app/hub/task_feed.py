"""`TaskFeed`: the sites' task changes and followed task logs on the hub's event stream.

A site sends its task changes (`tasks`) as the Manager's own `task_did_change` events; the hub
checks each against the app/api model and against the job's owner (a site's events about a job
it does not have at the hub are dropped) and puts it on its stream unchanged, so a dashboard's
task table at the hub changes as one at the site does. These events are best-effort: whatever a
dropped connection lost, the hub makes up for when the site connects again by putting each of
that site's unfinished jobs on its stream with `refresh_tasks`, so pages read their tasks anew.

Task logs flow only while someone watches: the hub's event stream tells `follow`/`unfollow` as
its clients subscribe to a task's log and leave, and the hub asks the task's site to send that
task's new lines (`follow` on the link) while at least one client here follows it, at most
`FOLLOWS_MAX` tasks per site and `HUB_FOLLOWS_MAX` in all. Which site has a task is learnt from
the task lists read through the hub, else asked of each connected site; an id no site has is
forgotten. Lines arrive only for tasks the hub asked of that very site.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from app.api.errors import ApiError, ContractError
from app.api.events import TaskLogUpdate, TaskUpdate
from app.common.events import TASK_DID_CHANGE
from app.hub.job_book import DELIVERED, NO_SITE, JobBook
from app.hub.sites import SiteBook
from app.manager.hub_link import protocol as p
from app.manager.persistence import hub_records as records

_log = logging.getLogger(__name__)

#: Distinct tasks the hub's clients may follow at once (each a subscription at a site).
HUB_FOLLOWS_MAX = 256
#: Job statuses whose tasks may still change: their task lists are read again after a reconnect.
UNFINISHED = frozenset({"queued", "active", "paused", "pause-requested", "cancel-requested", "requeueing",
                        "under-construction"})


class TaskFeed:
    def __init__(self, jobs: JobBook, sites: SiteBook):
        self.jobs, self.sites = jobs, sites
        self._watchers: dict[str, int] = {}  # task id -> how many of the hub's clients follow its log
        self._following: dict[str, str] = {}  # task id -> the site asked to send its lines
        self._pending: set[asyncio.Task[None]] = set()

    # --- task changes ---------------------------------------------------------------------------
    async def site_tasks(self, site: str, data: dict[str, Any]) -> None:
        """A site's `tasks`: each valid change of a job that site owns goes on the hub's stream."""
        raw = data.get("tasks")
        updates: list[TaskUpdate] = []
        for item in raw[:p.TASKS_PER_MESSAGE] if isinstance(raw, list) else []:
            with contextlib.suppress(ContractError, TypeError, ValueError):
                update = TaskUpdate.from_json(item)
                if _short(update.id) and _short(update.job_id):
                    updates.append(update)
        stale_raw = data.get("stale")
        stale = [j for j in stale_raw[:p.TASKS_PENDING_MAX] if _short(j)] if isinstance(stale_raw, list) else []
        owned = await self._owned(site, {u.job_id for u in updates} | set(stale))
        dropped = 0
        for update in updates:
            if update.job_id not in owned:
                dropped += 1
                continue
            self.jobs.remember_task(update.id, site)
            self.jobs.bus.publish(TASK_DID_CHANGE, update.to_json())
        for job_id in stale:
            if job_id in owned:
                await self.jobs.tasks_changed(job_id)  # too many of its tasks changed to send one by one
        if dropped:
            _log.warning("site %s sent %d task changes of jobs it does not have at the hub; ignored", site, dropped)

    async def _owned(self, site: str, job_ids: set[str]) -> set[str]:
        def owned() -> set[str]:
            out = set()
            for job_id in job_ids:
                rec = records.job(job_id)
                if rec is not None and rec.site == site and site != NO_SITE:
                    out.add(job_id)
            return out

        return await self.jobs.store.call(owned) if job_ids else set()

    async def site_connected(self, site: str) -> None:
        """A site (re)connected: task changes sent while it was away are lost, so pages read its
        unfinished jobs' tasks again. (The logs followed here went in its `welcome`: `follows_of`.)"""
        jobs = await self.jobs.store.call(records.jobs, site)
        self.jobs.tasks_stale([job for job in jobs if job.state == DELIVERED and job.snapshot.get("status") in UNFINISHED])

    def follows_of(self, site: str) -> list[str]:
        """The tasks of `site` whose log lines someone here follows: a new connection's `welcome`
        lists them, so the site sends their lines from its first moment on the link."""
        return [task_id for task_id, owner in self._following.items() if owner == site]

    # --- task logs ------------------------------------------------------------------------------
    def follow(self, task_id: str) -> None:
        """One more client of the hub's stream follows this task's log."""
        if not _short(task_id):
            return
        if task_id not in self._watchers and len(self._watchers) >= HUB_FOLLOWS_MAX:
            _log.warning("more than %d task logs followed at the hub; not task %s", HUB_FOLLOWS_MAX, task_id)
            return
        self._watchers[task_id] = self._watchers.get(task_id, 0) + 1
        if self._watchers[task_id] == 1:
            self._spawn(self._start(task_id))

    def unfollow(self, task_id: str) -> None:
        count = self._watchers.get(task_id)
        if count is None:
            return
        if count > 1:
            self._watchers[task_id] = count - 1
            return
        del self._watchers[task_id]
        site = self._following.pop(task_id, None)
        if site is not None:
            self._spawn(self._send(site, {"type": p.UNFOLLOW, "task_id": task_id}))

    async def _start(self, task_id: str) -> None:
        try:
            site = await self.jobs.site_of_task(task_id)
        except ApiError as exc:  # no connected site has it: nothing to follow, the client gets nothing
            _log.info("task log %s followed at the hub, but %s", task_id[:36], exc)
            site = None
        if site is None or task_id not in self._watchers or task_id in self._following:
            return
        if sum(1 for s in self._following.values() if s == site) >= p.FOLLOWS_MAX:
            _log.warning("more than %d task logs of site %s followed at the hub; not task %s", p.FOLLOWS_MAX,
                         site, task_id)
            return
        self._following[task_id] = site
        await self._send(site, {"type": p.FOLLOW, "task_id": task_id})

    async def _send(self, site: str, message: dict[str, Any]) -> None:
        conn = self.sites.connection(site)
        if conn is not None:  # else it is sent when the site connects (`site_connected`)
            await conn.send(message)

    def site_log(self, site: str, data: dict[str, Any]) -> None:
        """A site's `log`: new lines of a task followed here, asked of that site; else dropped."""
        try:
            update = TaskLogUpdate.from_json({k: data.get(k) for k in ("task_id", "job_id", "log")
                                              if data.get(k) is not None})
        except (ContractError, TypeError, ValueError):
            return
        if self._following.get(update.task_id) != site or len(update.log) > p.LOG_CHUNK + 200:
            return
        self.jobs.bus.emit(update)

    def _spawn(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @property
    def followed(self) -> dict[str, str]:
        """Task id -> the site sending its lines (for tests and the sites list)."""
        return dict(self._following)


def _short(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= p.ID_MAX

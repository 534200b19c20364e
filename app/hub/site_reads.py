"""`SiteReads`: what the status page and the dashboard read of a job's site through the hub, beyond
the job itself: every unfinished job's ETA, a job's task figures, its last rendered frame (facts and
picture), one worker's details, the variables users see, and a task's status change.

Each is asked of the owning site over its link (`JobBook.ask_site`, as a job's tasks and a task's
log are), bounded by the link's message size and the ask's wait, and the site's answer is passed on.
A job not yet at its site, or one whose site is offline, gets words instead: the ETA's reason, or a
503 that names the site and when it was last heard from.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import Any

from app.api.errors import ApiError, BadRequest, NotFound
from app.api.headers import API_PREFIX
from app.api.jobs import TaskStatusChange
from app.hub.job_book import DELIVERED, NO_SITE, JobBook, frame_base
from app.hub.sites import SiteBook
from app.manager.hub_link.questions import FRAME_MAX
from app.manager.pictures.last_rendered import SUFFIXES

_log = logging.getLogger(__name__)

FRAMES_PATH = f"{API_PREFIX}/tablao/hub/frames/{{job_id}}/{{name}}"
ETA_KEPT = 2.0  # seconds one reading of every site's ETAs is shared by all who ask (as a Manager's)
FINISHED = frozenset({"completed", "canceled", "failed"})


class SiteReads:
    def __init__(self, jobs: JobBook, sites: SiteBook):
        self.jobs, self.sites = jobs, sites
        self._etas: tuple[float, dict[str, Any]] | None = None
        self._reading: asyncio.Future[dict[str, Any]] | None = None

    # --- ETAs --------------------------------------------------------------------------------------
    async def etas(self) -> dict[str, Any]:
        """`{jobs: {id: eta}, reasons: {id: words}}` over every site, as a Manager's `/tablao/jobs/eta`."""
        now = asyncio.get_running_loop().time()
        if self._etas is not None and now - self._etas[0] < ETA_KEPT:
            return self._etas[1]
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read_etas())
            self._reading.add_done_callback(self._read_done)
        return await asyncio.shield(self._reading)

    def _read_done(self, reading: asyncio.Future[dict[str, Any]]) -> None:
        self._reading = None
        if not reading.cancelled() and reading.exception() is None:
            self._etas = (asyncio.get_running_loop().time(), reading.result())

    async def _read_etas(self) -> dict[str, Any]:
        online = sorted(name for name in self.sites.states if self.sites.connection(name) is not None)
        answers = await asyncio.gather(*(self.jobs.ask_site(name, {"what": "eta"}) for name in online),
                                       return_exceptions=True)
        etas: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        failed: dict[str, str] = {}
        for name, answer in zip(online, answers, strict=True):
            if isinstance(answer, ApiError):
                failed[name] = f"site {name} did not give its ETAs: {answer.message}"
                continue
            if isinstance(answer, BaseException):
                raise answer
            found = answer.get("data")
            data: dict[str, Any] = found if isinstance(found, dict) else {}
            etas.update(_by_job(data.get("jobs"), dict))
            reasons.update(_by_job(data.get("reasons"), str))
        for job in await self.jobs.list():
            job_id, site = job["id"], job.get("site", "")
            if job_id in etas or job_id in reasons or job.get("status") in FINISHED:
                continue
            why = (job.get("hub") or {}).get("why")
            if why:
                reasons[job_id] = why
            elif site in failed:
                reasons[job_id] = failed[site]
            elif site not in online:
                reasons[job_id] = f"{self.sites.describe(site)}; its ETA comes from the site, when it is back"
        return {"jobs": etas, "reasons": reasons}

    # --- one job -------------------------------------------------------------------------------------
    async def _delivered_site(self, job_id: str) -> str | None:
        job = await self.jobs.job_record(job_id)
        return job.site if job.state == DELIVERED and job.site != NO_SITE else None

    async def task_stats(self, job_id: str) -> dict[str, Any]:
        site = await self._delivered_site(job_id)
        if site is None:  # still at the hub: no task has run
            return {"job_id": job_id, "tasks": [], "truncated": False}
        return (await self.jobs.ask_site(site, {"what": "taskstats", "job_id": job_id})).get("data") or {}

    async def last_rendered(self, job_id: str) -> dict[str, Any] | None:
        """Where the job's last frame is at the hub (`{base, suffixes}`), or None without one."""
        site = await self._delivered_site(job_id)
        if site is None:
            return None
        data = (await self.jobs.ask_site(site, {"what": "lastrendered", "job_id": job_id})).get("data") or {}
        info = data.get("info")
        if not isinstance(info, dict):
            return None
        suffixes = [s for s in info.get("suffixes") or [] if s in SUFFIXES]
        return {"base": frame_base(job_id), "suffixes": suffixes} if suffixes else None

    async def frame(self, job_id: str, name: str) -> bytes:
        if name not in SUFFIXES:
            raise BadRequest(f"{name[:64]!r} is not one of a frame's pictures ({', '.join(SUFFIXES)})")
        site = await self._delivered_site(job_id)
        if site is None:
            raise NotFound(f"job {job_id} has not reached its site yet, so it has no frame")
        data = (await self.jobs.ask_site(site, {"what": "frame", "job_id": job_id, "name": name})).get("data") or {}
        text = data.get("jpeg")
        if not isinstance(text, str) or len(text) > FRAME_MAX * 4 // 3 + 4:
            raise ApiError(f"site {site} sent no usable picture", status=502)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(f"site {site} sent a picture that is not base64", status=502) from None

    async def set_task_status(self, task_id: str, change: TaskStatusChange) -> str | None:
        """A task's status change, through its job's site as the job's actions go (None: applied)."""
        task = await self.jobs.task_question(task_id, "task")
        job_id = task.get("job_id")
        if not isinstance(job_id, str):
            raise NotFound(f"no connected site has task {task_id}")
        waiting = await self.jobs.act(job_id, "settaskstatus", {"task_id": task_id, **change.to_json()})
        if waiting is None:  # the site sends no job change when only a task changed
            await self.jobs.tasks_changed(job_id)
        return waiting

    # --- workers and variables ---------------------------------------------------------------------
    async def worker(self, worker_id: str) -> dict[str, Any]:
        """A worker's details from its site; while the site is offline, what it last said of it."""
        for name, state in sorted(self.sites.states.items()):
            listed = next((w for w in state.info.get("workers") or [] if w.get("id") == worker_id), None)
            if listed is None:
                continue
            if self.sites.connection(name) is None:
                return {**listed, "site": name}
            data = (await self.jobs.ask_site(name, {"what": "worker", "worker_id": worker_id})).get("data")
            return {**(data if isinstance(data, dict) else listed), "site": name}
        raise NotFound(f"no site of this hub has worker {worker_id[:64]}")

    async def variables(self, audience: str, platform: str, site: str) -> dict[str, Any]:
        """The variables `site` resolves for `audience` on `platform` (Flamenco's shape)."""
        if audience not in ("users", "workers") or not 1 <= len(platform) <= 32:
            raise BadRequest("expected /configuration/variables/{users|workers}/{platform}")
        names = sorted(self.sites.states)
        if not site and len(names) == 1:
            site = names[0]
        if not site:
            raise BadRequest("a hub has a site's variables: add ?site=NAME, one of " + (", ".join(names) or "none yet"))
        if site not in self.sites.states:
            raise NotFound(f"no site {site[:64]!r} is joined to this hub")
        question = {"what": "variables", "audience": audience, "platform": platform}
        data = (await self.jobs.ask_site(site, question)).get("data") or {}
        found = data.get("variables")
        return found if isinstance(found, dict) else {}


def _by_job(found: Any, kind: type) -> dict[str, Any]:
    """The entries of a site's `{job id: ...}` that have the right shapes."""
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and len(k) <= 36 and isinstance(v, kind)}

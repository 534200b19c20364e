"""Typed application keys of the Manager's aiohttp app.

Each handler reads only the service it calls through a narrow key. `SERVICES`, the whole
composition, is for the app factory alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from app.common.events import EventBus
    from app.manager.credentials.auth import CredentialCache
    from app.manager.jobs.job_eta import JobEtas
    from app.manager.jobs.job_service import CheckoutRecords, JobService
    from app.manager.jobs.output_roots import OutputRoots
    from app.manager.jobs.task_logs import TaskLogs
    from app.manager.pictures.last_rendered import LastRendered
    from app.manager.scheduling.background import FarmStatusService
    from app.manager.service import ManagerServices
    from app.manager.settings.settings_service import SettingsService
    from app.manager.web.handlers.meta import JobTypeCatalog
    from app.manager.workers.worker_admin import WorkerAdmin
    from app.manager.workers.worker_day import WorkerDays
    from app.manager.workers.worker_sessions import WorkerSessions
    from app.manager.workers.worker_vitals import WorkerVitalsBook

SERVICES: web.AppKey[ManagerServices] = web.AppKey("services")
#: Configuration, variables, setup assistant (meta handlers).
SETTINGS: web.AppKey[SettingsService] = web.AppKey("settings")
#: The farm status (meta handlers, event stream greeting).
FARM_STATUS: web.AppKey[FarmStatusService] = web.AppKey("farm_status")
#: The job compiler, for the job types it offers.
JOB_TYPES: web.AppKey[JobTypeCatalog] = web.AppKey("job_types")
#: Jobs and tasks: submit, query, status, priority, tag, blocklist, deletion.
JOBS: web.AppKey[JobService] = web.AppKey("jobs")
#: The farm's ETA of unfinished jobs.
ETAS: web.AppKey[JobEtas] = web.AppKey("etas")
#: The worker API: registration, sign-on, task hand-out and updates.
SESSIONS: web.AppKey[WorkerSessions] = web.AppKey("sessions")
#: Worker management: status requests, tags, sleep schedules, deletion.
WORKER_ADMIN: web.AppKey[WorkerAdmin] = web.AppKey("worker_admin")
#: Worker credentials (HTTP Basic).
CREDENTIALS: web.AppKey[CredentialCache] = web.AppKey("credentials")
#: Task log files.
TASK_LOGS: web.AppKey[TaskLogs] = web.AppKey("task_logs")
#: Last-rendered images.
LAST_RENDERED: web.AppKey[LastRendered] = web.AppKey("last_rendered")
#: The event bus (the event stream, task-log events).
BUS: web.AppKey[EventBus] = web.AppKey("bus")
#: The admin token ("" when there is none: admin only from this machine).
ADMIN_TOKEN: web.AppKey[str] = web.AppKey("admin_token")
#: The Shaman, or None when it is off.
SHAMAN: web.AppKey[CheckoutRecords | None] = web.AppKey("shaman")
#: Where jobs may write (the submit policy's folders).
OUTPUT_ROOTS: web.AppKey[OutputRoots] = web.AppKey("output_roots")
#: The workers' latest vitals (in memory).
VITALS: web.AppKey[WorkerVitalsBook] = web.AppKey("vitals")
#: A worker's day: tasks done and failed, frames, time, its last frame.
WORKER_DAYS: web.AppKey[WorkerDays] = web.AppKey("worker_days")


class TaskLogFollows(Protocol):
    """Told which task logs the event stream's clients follow (a hub asks its sites for those)."""

    def follow(self, task_id: str) -> None: ...

    def unfollow(self, task_id: str) -> None: ...


#: Optional: told as clients subscribe to task logs and leave (the hub sets it; a Manager has none).
TASK_LOG_FOLLOWS: web.AppKey[TaskLogFollows] = web.AppKey("task_log_follows")

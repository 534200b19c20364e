"""What a Manager has going on, for stopping it safely: who is signed on, what runs, and a drain.

The desktop app asks before it stops a Manager that other computers render for. Its "stop after
the current tasks" is `drain`: no new task is handed out (`WorkerSessions.hold_new_work`), and it
returns once no task is active any more (finished, failed, or given back by a worker timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.api.enums import WorkerStatus as W
from app.manager.persistence import jobs as jobs_q
from app.manager.persistence import tasks as tasks_q
from app.manager.persistence import workers as workers_q

if TYPE_CHECKING:
    from app.manager.service import ManagerServices

#: A worker in one of these is signed on: it talks to the Manager and notices when it stops.
SIGNED_ON = (W.STARTING, W.AWAKE, W.ASLEEP, W.TESTING)


@dataclass(frozen=True)
class FarmActivity:
    workers: tuple[str, ...] = ()  # names of the workers signed on now
    jobs_active: int = 0
    jobs_queued: int = 0
    tasks_active: int = 0


async def farm_activity(services: ManagerServices) -> FarmActivity:
    store = services.store
    names = await store.call(workers_q.names_with_status, [s.value for s in SIGNED_ON])
    jobs = await store.call(jobs_q.count_active_jobs)
    running = await store.call(tasks_q.count_with_status, T.ACTIVE.value)
    return FarmActivity(workers=tuple(names), jobs_active=jobs.get(J.ACTIVE.value, 0),
                        jobs_queued=jobs.get(J.QUEUED.value, 0), tasks_active=running)


async def drain(services: ManagerServices, poll_s: float = 0.5,
                progress: Callable[[int], None] | None = None) -> None:
    """Hand out no new task, then wait until none is active; `progress(n)` hears how many still run."""
    services.sessions.hold_new_work()
    while True:
        running = await services.store.call(tasks_q.count_with_status, T.ACTIVE.value)
        if progress is not None:
            progress(running)
        if running == 0:
            return
        await asyncio.sleep(poll_s)

"""`Farm`: what every verb works with (the Manager's client, the main volume, the console, the
flags), and the farm's view of the Manager's jobs: which belong to which release."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.api.client import ManagerClient
from app.api.enums import JobStatus
from app.api.jobs import Job
from app.farm.console import Console
from app.farm.errors import Refused
from app.farm.layout import Layout
from app.farm.query import JOB_KEY, RELEASE_KEY

_log = logging.getLogger(__name__)

QUICK_KEY = "farm.quick"
FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.CANCELED, JobStatus.FAILED})


@dataclass(slots=True)
class Farm:
    client: ManagerClient
    layout: Layout
    console: Console
    dry_run: bool = False
    yes: bool = False

    async def jobs(self) -> list[Job]:
        """Every job on the Manager, oldest first."""
        return sorted(await self.client.jobs(), key=lambda j: (j.created, j.id))

    async def release_jobs(self, release: str) -> dict[str, Job]:
        """The release's current job per job name (the newest one, after replacements)."""
        return current_jobs(await self.jobs(), release)


def job_name(job: Job) -> str:
    return job.metadata.get(JOB_KEY, job.name)


def release_of(job: Job) -> str | None:
    return job.metadata.get(RELEASE_KEY)


def current_jobs(jobs: list[Job], release: str) -> dict[str, Job]:
    current: dict[str, Job] = {}
    for job in sorted(jobs, key=lambda j: (j.created, j.id)):
        if release_of(job) == release:
            current[job_name(job)] = job
    return current


def job_row(job: Job) -> dict[str, Any]:
    """A job as `--json` shows it."""
    return {"id": job.id, "name": job.name, "job": job_name(job), "release": release_of(job),
            "status": str(job.status), "type": job.type}


def find_release_job(jobs: list[Job], name: str, release: str | None) -> Job:
    """The current job called `name` (in `release` when given); `Refused` when none or ambiguous."""
    releases = {rel for j in jobs if job_name(j) == name and (rel := release_of(j))}
    if release is not None:
        releases &= {release}
    if not releases:
        where = f" in release {release!r}" if release else ""
        raise Refused(f"no farm job called {name!r}{where}")
    if len(releases) > 1:
        raise Refused(f"job {name!r} is in several releases ({', '.join(sorted(releases))}); "
                      "say which with --release")
    return current_jobs(jobs, releases.pop())[name]

"""A job's chain for the API: the jobs it waits for, the jobs that wait for it, and its waiting words."""

from __future__ import annotations

from app.api.enums import JobStatus
from app.api.jobs import JobChain, JobLink
from app.manager.persistence import job_dependencies, jobs
from app.manager.persistence.models import Job
from app.manager.state_machine.job_waits import waiting_words


def load_chain(job_uuid: str) -> JobChain:
    """Run inside a Store's transaction: the chain of the job `job_uuid` (NotFound when it has none)."""
    job = jobs.fetch_job(job_uuid)
    return JobChain(
        id=job.uuid, waiting=waiting_words(job) if job.waiting_on else "", waiting_on=job.waiting_on,
        on_dependency_failure=job.on_dependency_failure,
        depends_on=[_link(j) for j in job_dependencies.dependencies_of(job.id)],
        dependants=[_link(j) for j in job_dependencies.dependants_of(job.id)],
    )


def _link(job: Job) -> JobLink:
    return JobLink(id=job.uuid, name=job.name, status=JobStatus(job.status))

"""Which jobs a submission waits for: `tablao submit --after JOB`, each a job's id or name, made ids.

An id is passed on as it is (the Manager refuses one it does not have, in words). A name means the
newest job of that name that is not being deleted: what "after the render I just submitted" means
when the same shot is submitted again and again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.api.client import ManagerClient
from app.api.errors import ContractError, HttpError, ManagerUnreachable
from app.api.jobs import Job
from app.submit.errors import BadInput, Refused, Unreachable

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def resolve_after(client: ManagerClient, refs: Sequence[str]) -> list[str]:
    """The ids of the jobs `refs` names (ids or names), in order, each once."""
    if all(_UUID.match(ref) for ref in refs):
        return list(dict.fromkeys(refs))
    jobs = await _all_jobs(client)
    known = {job.id for job in jobs}
    ids: list[str] = []
    for ref in refs:
        ids.append(ref if ref in known or _UUID.match(ref) else _newest_named(jobs, ref))
    return list(dict.fromkeys(ids))


def _newest_named(jobs: Sequence[Job], name: str) -> str:
    named = [job for job in jobs if job.name == name and job.delete_requested_at is None]
    if not named:
        raise BadInput(f"--after {name!r}: the Manager has no job of that name or id; "
                       "give the name or id of a job already submitted")
    return max(named, key=lambda job: job.created).id


async def _all_jobs(client: ManagerClient) -> list[Job]:
    try:
        return await client.jobs()
    except ManagerUnreachable as exc:
        raise Unreachable(str(exc)) from exc
    except (HttpError, ContractError) as exc:
        raise Refused(f"the Manager refused to list its jobs, needed to find --after by name: {exc}") from exc

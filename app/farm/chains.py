"""Jobs that wait for a farm job that `replace job` replaces: they wait for the new job instead.

A Manager's jobs may wait for others (`depends_on`), for example a compositing or encoding job
submitted `--after` a release's render. Replacing a render cancels its job and submits a new one;
without this module a dependant would fail (if it chose `fail`) or wait for ever for the canceled
job. So before the cancel, `hold` makes every dependant that would fail keep waiting instead, and
after the new job is submitted, `move` points each dependant at it, with its own failure choice back
(`restore` gives the choice back when the replacement failed).
A Manager without job chains (Flamenco's) has no dependants: nothing is done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.api.client import ManagerClient
from app.api.errors import ContractError, HttpError

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Dependant:
    id: str
    name: str
    depends_on: tuple[str, ...]
    on_failure: str


async def hold(client: ManagerClient, job_id: str) -> list[Dependant]:
    """The unfinished jobs waiting for `job_id`; those that would fail with it now wait instead."""
    try:
        chain = await client.job_chain(job_id)
    except (HttpError, ContractError) as exc:  # a Manager without chains
        _log.info("no chain for job %s: %s", job_id, exc)
        return []
    held: list[Dependant] = []
    for link in chain.dependants:
        if str(link.status) in ("completed", "canceled", "failed"):
            continue
        theirs = await client.job_chain(link.id)
        dependant = Dependant(link.id, link.name, tuple(j.id for j in theirs.depends_on),
                              theirs.on_dependency_failure)
        if dependant.on_failure != "wait":
            await client.set_job_depends_on(dependant.id, list(dependant.depends_on), "wait")
        held.append(dependant)
    return held


async def restore(client: ManagerClient, held: list[Dependant]) -> None:
    """Give the held dependants their own failure choice back (the replacement did not happen)."""
    for dependant in held:
        if dependant.on_failure != "wait":
            await client.set_job_depends_on(dependant.id, list(dependant.depends_on), dependant.on_failure)


async def move(client: ManagerClient, held: list[Dependant], old_id: str, new_id: str) -> list[str]:
    """Make the held dependants wait for `new_id` instead of `old_id`; returns their names."""
    for dependant in held:
        depends_on = [new_id if j == old_id else j for j in dependant.depends_on]
        await client.set_job_depends_on(dependant.id, list(dict.fromkeys(depends_on)), dependant.on_failure)
    return [d.name for d in held]

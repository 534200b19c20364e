"""The store's side of scene requirements: a job's needs and a worker's facts, and the claim's test.

`NEEDS_MET` is the condition the scheduler's claim adds (`scheduler_queries`), on the job row `j`
and the claiming worker's id: a job that needs nothing passes at once; otherwise the worker must not
be known to lack what the job needs. A fact a worker never reported (NULL: a stock Flamenco worker,
or a platform where the worker cannot read its GPUs) does not keep a job from it, as before.
The worker's facts are read once per statement, not per candidate row (see `NEEDS_MET`).

The columns are written here with plain SQL (migration 0006), beside the models rather than in them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.manager.persistence.models import current_db

# Each worker fact is an uncorrelated scalar subquery: the database reads it once per statement (SQLite
# caches it, PostgreSQL makes it an InitPlan), so a skipped row costs three column comparisons. An
# unknown fact (NULL) becomes one that meets every need: all backend bits, the newest Blender, no limit.
NEEDS_MET = """(j.needs_gpu = 0
       OR ((SELECT COALESCE(w.gpu_mask, -1) FROM workers w WHERE w.id = {p}) & j.needs_gpu) != 0)
  AND (j.needs_blender = 0
       OR (SELECT COALESCE(w.blender_number, 2147483647) FROM workers w WHERE w.id = {p}) >= j.needs_blender)
  AND (j.needs_memory = 0
       OR (SELECT COALESCE(w.memory_total, 9223372036854775807) FROM workers w WHERE w.id = {p})
          >= j.needs_memory)"""
#: How many times `NEEDS_MET` takes the worker's id.
NEEDS_PARAMS = 3

# The same test for a group of waiting workers that have the same facts (`worker_has`), given as
# three numbers: how many tasks to wake them for. Workers that lack a job's needs wait apart from
# those that have them, so a GPU job on a CPU-only farm wakes nobody (instead of each idle worker
# in turn, each finding nothing).
HAS_MET = """(j.needs_gpu = 0 OR ({p} & j.needs_gpu) != 0)
  AND (j.needs_blender = 0 OR {p} >= j.needs_blender)
  AND (j.needs_memory = 0 OR {p} >= j.needs_memory)"""
#: What a worker that reported nothing has: every backend, the newest Blender, no memory limit.
HAS_ALL = (-1, 2147483647, 9223372036854775807)


@dataclass(frozen=True, slots=True)
class JobNeeds:
    """What a claim compares: GPU backends as bits (0: none needed), Blender as major * 1000 + minor
    (0: any), memory in bytes (0: not recorded); `shown` is the submitted object, for words."""

    gpu: int = 0
    blender: int = 0
    memory: int = 0
    shown: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.gpu or self.blender or self.memory or self.shown)


@dataclass(frozen=True, slots=True)
class WorkerFactsRow:
    """A worker's facts as stored; None where it did not say."""

    gpu_mask: int | None = None
    memory_total: int | None = None
    blender_version: str | None = None
    blender_number: int | None = None


def store_job_needs(job_id: int, needs: JobNeeds) -> None:
    if not needs:
        return
    db = current_db()
    p = db.param
    db.execute_sql(f"UPDATE jobs SET requirements = {p}, needs_gpu = {p}, needs_blender = {p}, "
                   f"needs_memory = {p} WHERE id = {p}",
                   [json.dumps(needs.shown or {}), needs.gpu, needs.blender, needs.memory, job_id])


def job_needs(job_id: int) -> JobNeeds:
    db = current_db()
    row = db.execute_sql(f"SELECT requirements, needs_gpu, needs_blender, needs_memory FROM jobs "
                         f"WHERE id = {db.param}", [job_id]).fetchone()
    if row is None:
        return JobNeeds()
    shown = json.loads(row[0] or "{}")
    return JobNeeds(int(row[1]), int(row[2]), int(row[3]), shown if isinstance(shown, dict) else {})


def store_worker_facts(worker_id: int, facts: WorkerFactsRow) -> None:
    db = current_db()
    p = db.param
    db.execute_sql(f"UPDATE workers SET gpu_mask = {p}, memory_total = {p}, blender_version = {p}, "
                   f"blender_number = {p} WHERE id = {p}",
                   [facts.gpu_mask, facts.memory_total, facts.blender_version, facts.blender_number, worker_id])


def connected_worker_facts() -> list[tuple[str, WorkerFactsRow]]:
    """(name, facts) of every worker that is not deleted and not offline."""
    rows = current_db().execute_sql(
        "SELECT name, gpu_mask, memory_total, blender_version, blender_number FROM workers "
        "WHERE deleted_at IS NULL AND status != 'offline' ORDER BY name").fetchall()
    return [(r[0], WorkerFactsRow(r[1], r[2], r[3], r[4])) for r in rows]


def worker_facts(worker_id: int) -> WorkerFactsRow:
    db = current_db()
    row = db.execute_sql(f"SELECT gpu_mask, memory_total, blender_version, blender_number FROM workers "
                         f"WHERE id = {db.param}", [worker_id]).fetchone()
    return WorkerFactsRow(*row) if row else WorkerFactsRow()


def worker_has(worker_id: int) -> tuple[int, int, int]:
    """The worker's facts as `HAS_MET` compares them, unknown ones as `HAS_ALL`'s: part of the work
    queue's grouping of waiting workers."""
    facts = worker_facts(worker_id)
    return (HAS_ALL[0] if facts.gpu_mask is None else facts.gpu_mask,
            HAS_ALL[1] if facts.blender_number is None else facts.blender_number,
            HAS_ALL[2] if facts.memory_total is None else facts.memory_total)


def store_worker_blender(worker_id: int, version: str, number: int) -> bool:
    """The worker's Blender as its vitals say it; whether the stored number changed."""
    db = current_db()
    p = db.param
    cursor = db.execute_sql(f"UPDATE workers SET blender_version = {p}, blender_number = {p} "
                            f"WHERE id = {p} AND (blender_number IS NULL OR blender_number != {p})",
                            [version, number, worker_id, number])
    return bool(cursor.rowcount)

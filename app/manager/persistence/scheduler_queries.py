"""The scheduler's query: the best runnable task for one worker, in one indexed statement.

Order: job priority, task priority, job creation (job id), hand-out rank in the job (the task's
order, save a render job's preview chunks, which rank first). The partial index `tasks_runnable`
(migrations 0001, 0002, 0008) serves the ORDER BY and holds only queued tasks
whose dependencies are all completed (`deps_left = 0`), so the scan stops at the first row that
passes the per-row checks, whatever the queue length and however many tasks wait for others.
The dependency check stays in the query as well: a counter that drifted could then only cost
speed, never hand out a task before its dependencies are done. A job that waits for other jobs adds
their count to its tasks' `deps_left` (`job_dependencies.py`); `j.waiting_on = 0` is its check.
What the job's scene needs (a GPU, a Blender as new as the file's, memory) is checked in the same
statement (`requirements.NEEDS_MET`).

Among tasks that rank equal on both priorities, a worker gets one from the job it last ran, so
its warm Blender (file already loaded) is reused: a second lookup pinned to that job and those
priorities, which the same index serves by equality on its leading columns.

Under the fair-share policy the strict answer is a starting point: `fair_share_queries` may give
the claim to another submitter's job of the same priority level.

Run inside a Store's transaction, on that Store's database (`models.current_db()`); the SQL text is
cached per kind of database, shared by every Manager of the process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import peewee as pw

from app.api.enums import JobStatus, TaskStatus, WorkerStatus
from app.manager.persistence import tasks, workers
from app.manager.persistence.errors import NotFound
from app.manager.persistence.models import Task, Worker, current_db
from app.manager.persistence.prepared import Sql
from app.manager.persistence.requirements import HAS_ALL, HAS_MET, NEEDS_MET, NEEDS_PARAMS

if TYPE_CHECKING:
    from app.manager.scheduling.fair_share import ShareSettings

_SQL = """
SELECT t.id, t.job_id, t.job_priority, t.priority FROM tasks t {hint}
JOIN jobs j ON j.id = t.job_id
WHERE t.status IN ('queued', 'soft-failed') AND t.deps_left = 0
  AND j.status IN ('active', 'queued')
  AND j.delete_requested_at IS NULL AND j.waiting_on = 0
  AND t.type IN ({types})
  AND (j.worker_tag_id IS NULL
       OR j.worker_tag_id IN (SELECT m.tag_id FROM worker_tag_membership m WHERE m.worker_id = {p}))
  AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = {p})
  AND NOT EXISTS (SELECT 1 FROM job_blocks b
                  WHERE b.job_id = t.job_id AND b.worker_id = {p} AND b.task_type = t.type)
  AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dt ON dt.id = d.dependency_id
                  WHERE d.task_id = t.id AND dt.status != 'completed')
  AND {needs}
ORDER BY t.job_priority DESC, t.priority DESC, t.job_id, t.hand_out_rank
LIMIT 1
"""


# What one group of waiting workers could run (same task types, same tags, same facts for scene
# requirements), ignoring the per-worker blocklist and failures: how many of them to wake. Bounded by LIMIT, so it stops early.
_COUNT_SQL = """
SELECT count(*) FROM (
SELECT 1 FROM tasks t {hint}
JOIN jobs j ON j.id = t.job_id
WHERE t.status IN ('queued', 'soft-failed') AND t.deps_left = 0
  AND j.status IN ('active', 'queued')
  AND j.delete_requested_at IS NULL AND j.waiting_on = 0
  AND t.type IN ({types})
  AND (j.worker_tag_id IS NULL{tags})
  AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dt ON dt.id = d.dependency_id
                  WHERE d.task_id = t.id AND dt.status != 'completed')
  AND {needs}
LIMIT {p}) AS runnable
"""

# Scheduler statements run, by kind ("claim": one worker's next task; "count": a waiting group's
# runnable tasks). Tests and benches read it to check that hand-out cost does not grow with the
# number of idle workers.
QUERIES: Counter[str] = Counter()

_SQL_CACHE: dict[tuple[int, bool, bool], str] = {}
_COUNT_CACHE: dict[tuple[int, int, bool], str] = {}
_WITH_LAST_CACHE: dict[tuple[int, bool, str], str] = {}

_LAST_JOB_SQL = """
SELECT job_id FROM tasks WHERE worker_id = {p} AND last_touched_at IS NOT NULL
ORDER BY last_touched_at DESC LIMIT 1
"""


def find_runnable_task(worker_id: int, task_types: Sequence[str], share: ShareSettings | None = None) -> int | None:
    """Return the id of the task this worker should run next, or None; `share`: under fair share."""
    found = _find_runnable(worker_id, task_types, share, False)
    return found[0] if found is not None else None


def runnable_task(worker_id: int, task_types: Sequence[str], share: ShareSettings | None = None,
                  start: ClaimStart | None = None) -> Task | None:
    """The task (with its job and last worker) this worker should run next, or None; `share`: under fair share.

    On PostgreSQL the claim statement brings the best task's whole row along, so the common claim
    (no tie broken toward a warm job, no fair-share choice) needs no second round trip to fetch it;
    and when `start` (`claim_start`) already read that statement's row for these task types, it is
    not sent again."""
    if start is not None and start.best_read and tuple(task_types) == task_types_of(start.worker):
        QUERIES["claim"] += 1
        db = current_db()
        found = None if start.best is None else _choose(db, start.best, worker_id, task_types, share)
    else:
        found = _find_runnable(worker_id, task_types, share, True)
    if len(_TYPES_OF) >= TYPES_REMEMBERED:
        _TYPES_OF.clear()
    _TYPES_OF[worker_id] = tuple(task_types)
    if found is None:
        return None
    task_id, task = found
    return task if task is not None else tasks.fetch_task_by_id(task_id)


def _find_runnable(worker_id: int, task_types: Sequence[str], share: ShareSettings | None,
                   wide: bool) -> tuple[int, Task | None] | None:
    """The best task's id, and the task itself when the statement brought it along (`wide`, PostgreSQL)."""
    if not task_types:
        return None
    QUERIES["claim"] += 1
    db = current_db()
    wide = wide and not isinstance(db, pw.SqliteDatabase)  # SQLite: a second statement costs no round trip
    # The best task and the job this worker ran last, in one statement (one round trip on PostgreSQL).
    row = db.execute_sql(_with_last_job_sql(db, len(task_types), wide), _claim_params(worker_id, task_types))
    row = row.fetchone()
    return None if row is None else _choose(db, row, worker_id, task_types, share)


def _claim_params(worker_id: int, task_types: Sequence[str]) -> list:
    """The parameters of `_with_last_job_sql`: the last job's worker, then the claim statement's."""
    return [worker_id, *task_types, worker_id, worker_id, worker_id, *[worker_id] * NEEDS_PARAMS]


def _choose(db: pw.Database, row: Sequence, worker_id: int, task_types: Sequence[str],
            share: ShareSettings | None) -> tuple[int, Task | None]:
    """The task to hand out, from the claim statement's `row`: the best one, another submitter's under
    fair share, or an equal one in the job the worker ran last."""
    params = _claim_params(worker_id, task_types)[1:]
    found = _found(row)
    if share is not None and (fair := _fair_task(share, worker_id, task_types, params, tuple(row[:4]))) is not None:
        return found if fair == found[0] else (fair, None)
    return _warm_or_best(db, row, found, params, len(task_types))


def _found(row: Sequence) -> tuple[int, Task | None]:
    return row[0], (tasks.TASK_JOB_WORKER.build(row[5:]) if len(row) > 5 else None)


def _warm_or_best(db: pw.Database, row: Sequence, found: tuple[int, Task | None], params: list,
                  type_count: int) -> tuple[int, Task | None]:
    task_id, job_id, job_priority, priority, last_job = row[:5]
    if last_job is None or last_job == job_id:
        return found
    # Warmth only breaks ties: the same priorities as the best task, in the last job.
    same = db.execute_sql(_sql(db, type_count, True), [*params, last_job, job_priority, priority]).fetchone()
    return (same[0], None) if same and same[0] != task_id else found


def _fair_task(share: ShareSettings, worker_id: int, task_types: Sequence[str], params: list,
               row: tuple) -> int | None:
    from app.manager.persistence import fair_share_queries  # it builds on this module's query

    return fair_share_queries.fair_task(share, worker_id, task_types, params, row)


def _sql(db: pw.Database, type_count: int, same_rank: bool) -> str:
    key = (type_count, isinstance(db, pw.SqliteDatabase), same_rank)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        sql = _SQL_CACHE[key] = _build_sql(db, type_count, same_rank)
    return sql


def _with_last_job_sql(db: pw.Database, type_count: int, wide: bool = False) -> str:
    """The claim statement with the job this worker ran last; `wide`: with the task's, its job's and
    its last worker's columns too (as `tasks.fetch_task_by_id` reads them)."""
    key = (type_count, isinstance(db, pw.SqliteDatabase), "wide" if wide else "last")
    sql = _WITH_LAST_CACHE.get(key)
    if sql is None:
        last = _LAST_JOB_SQL.format(p=db.param).strip()
        columns = joins = ""
        if wide:
            columns = ", " + tasks.TASK_JOB_WORKER.columns(["t", "j", "w"])
            joins = (" JOIN tasks t ON t.id = r.id JOIN jobs j ON j.id = t.job_id"
                     " LEFT JOIN workers w ON w.id = t.worker_id")
        sql = _WITH_LAST_CACHE[key] = (f"SELECT r.id, r.job_id, r.job_priority, r.priority, ({last}){columns} "
                                       f"FROM ({_sql(db, type_count, False).strip()}) AS r{joins}")
    return sql


def count_runnable(task_types: Sequence[str], tag_ids: Sequence[int], limit: int,
                   has: tuple[int, int, int] = HAS_ALL) -> int:
    """How many tasks (at most `limit`) a worker of these task types and tags, which has `has` for
    scene requirements (`requirements.worker_has`), could run now."""
    if not task_types or limit <= 0:
        return 0
    QUERIES["count"] += 1
    db = current_db()
    sqlite = isinstance(db, pw.SqliteDatabase)
    key = (len(task_types), len(tag_ids), sqlite)
    sql = _COUNT_CACHE.get(key)
    if sql is None:
        p = db.param
        tags = f" OR j.worker_tag_id IN ({', '.join([p] * len(tag_ids))})" if tag_ids else ""
        sql = _COUNT_CACHE[key] = _COUNT_SQL.format(
            hint="INDEXED BY tasks_runnable" if sqlite else "", types=", ".join([p] * len(task_types)),
            tags=tags, p=p, needs=HAS_MET.format(p=p))
    return db.execute_sql(sql, [*task_types, *tag_ids, *has, limit]).fetchone()[0]


def worker_tag_ids(worker_id: int) -> tuple[int, ...]:
    """The row ids of a worker's tags, sorted: part of what it can run."""
    rows = _rows("SELECT tag_id FROM worker_tag_membership WHERE worker_id = {p} ORDER BY tag_id", worker_id)
    return tuple(r[0] for r in rows)


def _rows(sql: str, *params) -> list[tuple]:
    db = current_db()
    return db.execute_sql(sql.format(p=db.param), list(params)).fetchall()


def _build_sql(db: pw.Database, type_count: int, same_rank: bool = False) -> str:
    p = db.param
    # On SQLite, pin the plan: with few rows or stale statistics the planner may start from `jobs`
    # and sort every runnable task on each call, which is what made Flamenco's query slow.
    hint = "INDEXED BY tasks_runnable" if isinstance(db, pw.SqliteDatabase) else ""
    sql = _SQL.format(types=", ".join([p] * type_count), p=p, hint=hint, needs=NEEDS_MET.format(p=p))
    if same_rank:
        pinned = f"AND t.job_id = {p} AND t.job_priority = {p} AND t.priority = {p}"
        sql = sql.replace("\nORDER BY", f"\n  {pinned}\nORDER BY")
    return sql


# The statuses are written into the text, not bound: with `status = ?` and `IN (?, ?)` SQLite spent
# 20 us on this statement (nearly always no row) where the literal text takes 4 us, the same plan.
_ACTIVE_TASK_SQL = Sql(
    "SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id "
    f"WHERE t.worker_id = {{p}} AND t.status = '{TaskStatus.ACTIVE.value}' "
    f"AND j.status IN ('{JobStatus.ACTIVE.value}', '{JobStatus.QUEUED.value}') ORDER BY t.id LIMIT 1")


def active_task_of_worker(worker_id: int) -> int | None:
    """Step 1 of scheduling: a worker that asks again gets its still-active task back."""
    db = current_db()
    row = db.execute_sql(_ACTIVE_TASK_SQL.text(db), [worker_id]).fetchone()
    return row[0] if row else None


_WORKER_AND_ACTIVE_SQL = Sql(f"SELECT {workers.WORKER.columns(['w'])}, ("
                             + _ACTIVE_TASK_SQL.template.replace("{p}", "w.id") + ") FROM workers w WHERE w.id = {p}")


def worker_and_active_task(worker_id: int) -> tuple[Worker, int | None]:
    """The claiming worker's row and its still-active task (`active_task_of_worker`), in one statement:
    a claim reads both, and on PostgreSQL each statement is a round trip."""
    db = current_db()
    row = db.execute_sql(_WORKER_AND_ACTIVE_SQL.text(db), [worker_id]).fetchone()
    if row is None:
        raise NotFound(f"worker #{worker_id} does not exist")
    return workers.WORKER.build(row[:-1]), row[-1]


class ClaimStart(NamedTuple):
    """What a claim reads first (`claim_start`): the worker, its still-active task, and whether the claim
    statement's row for the worker's task types was read along (`best_read`; `best`: that row, or None
    when nothing is runnable)."""

    worker: Worker
    active_task: int | None
    best_read: bool = False
    best: Sequence | None = None


# A worker's task types at its last claim, per worker id: a guess of what its next claim asks for, so
# that on PostgreSQL the claim statement can go out with the worker's own read. Only a guess: the
# answer is used only when the worker's row, read in the same statement, has exactly these types.
_TYPES_OF: dict[int, tuple[str, ...]] = {}
TYPES_REMEMBERED = 100_000
_START_CACHE: dict[int, str] = {}


def task_types_of(worker: Worker) -> tuple[str, ...]:
    """The task types a worker's claims ask for, as it announced them."""
    return tuple(t for t in worker.supported_task_types.split(",") if t)


def claim_start(worker_id: int) -> ClaimStart:
    """`worker_and_active_task`, and on PostgreSQL, when the worker claimed before, the claim statement
    for the task types it had then, all in one statement (one round trip instead of two)."""
    db = current_db()
    guess = None if isinstance(db, pw.SqliteDatabase) else _TYPES_OF.get(worker_id)
    if not guess:
        return ClaimStart(*worker_and_active_task(worker_id))
    sql = _START_CACHE.get(len(guess))
    if sql is None:
        active = _ACTIVE_TASK_SQL.template.replace("{p}", "cw.id")
        sql = _START_CACHE[len(guess)] = (
            f"SELECT {workers.WORKER.columns(['cw'])}, ({active}), best.* FROM workers cw "
            f"LEFT JOIN LATERAL ({_with_last_job_sql(db, len(guess), True)}) AS best ON true "
            f"WHERE cw.id = {db.param}")
    row = db.execute_sql(sql, [*_claim_params(worker_id, guess), worker_id]).fetchone()
    if row is None:
        raise NotFound(f"worker #{worker_id} does not exist")
    width = len(workers.WORKER.fields[0])
    worker, active, best = workers.WORKER.build(row[:width]), row[width], row[width + 1:]
    if active is not None or worker.status != WorkerStatus.AWAKE.value or worker.status_requested:
        _TYPES_OF.pop(worker_id, None)  # its next claims will not want the task: read none along
    if task_types_of(worker) != guess:
        return ClaimStart(worker, active)
    return ClaimStart(worker, active, True, best if best[0] is not None else None)

"""The farm's ETA of a job: one figure, worked out here, that every client shows.

What a step costs. Every finished task run (`task_runs`) holds the seconds from hand-out to report,
its steps (a render task's frames) and the worker that ran it. A worker's speed is how fast it is
against the farm's average on the same kind of work (the same .blend file, else the same job type,
and task type): the geometric mean, over its recent runs of that kind, of the kind's mean seconds per
step over the run's own; on a kind it never ran, the same over all its runs. A run's seconds per step times its worker's speed is what a step costs an average
worker; the job's cost per step (per task type, where its runs have that type) is the mean of that
over the job's own finished tasks, or, while it has fewer than MIN_OWN, over the newest runs of
earlier jobs of its .blend file (else of its type) as well. So a job has an ETA before any of its tasks finished, and a slow worker counts as slow.

Who works on it. The workers running its tasks now, and those that finished one of them in the last
HELPER_S and are awake and free; for a job nobody works on yet, every awake worker that takes its
task types (and has its worker tag, for a tagged job). The running tasks end when their expected time has passed (at least a tenth of it from
now), and the waiting ones go, in order, each to the worker that is free first, taking its steps
times the cost per step over that worker's speed. A job that has not started waits for the jobs
ahead of it in the scheduler's order (job priority, then age): all jobs are worked out in that order,
each counted worker busy until it is done with its part of those before. The last one's end is the ETA. Its range widens
it by how few runs it rests on (1/sqrt(n)) and by how the runs varied (their coefficient of
variation over the square root of the tasks left, since over many tasks the variation averages out).

The answer for all unfinished jobs is kept for ANSWER_TTL_S, and the speeds until new runs were
written and SPEED_EVERY_S passed: every open dashboard, status page and add-on asks every few
seconds, and the store has one connection. A job's own answer (`GET /api/v3/jobs/{id}`) is taken
from that reading, and up to STALE_S old while a new one is read behind it, so the job's answer
never waits on the store thread queued behind a busy farm's claims; a change that makes a reading
wrong rather than old (`app.manager.jobs.eta_freshness`) has it read again before it is served.
A reading grows with the farm (every awake worker and every task left is read and worked out): with
10,000 workers one took about a fifth of the Manager's CPU when read every ANSWER_TTL_S, and held
the store thread, so workers' claims waited for it. An old reading is therefore read again only
once READ_AGAIN_AFTER times as long as the last one took has passed as well, so readings take at
most about a tenth of the Manager's time whatever the farm's size.
Where readings take longer than READ_WAIT_S, a job's answer that must wait for one (a change made
the last one wrong) waits READ_WAIT_S at most: with 10,000 workers a reading takes about half a
second, and a dashboard polling its job waited that long after every job that was submitted or
finished. Past that it is served with the job's figure from the last reading within STALE_S, or
without one, and the next answer has the new reading's. Where readings are quick it waits for the
right figure, as before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import logging
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.api.enums import JobStatus, TaskStatus
from app.api.jobs import EtaWorker, JobEta
from app.common.clock import to_rfc3339
from app.manager.jobs.eta_freshness import EtaFreshness
from app.manager.persistence import run_stats
from app.manager.persistence.db import Store
from app.manager.persistence.reader import Reader
from app.manager.persistence.run_stats import FarmWorker, Run, TaskLeft
from app.manager.state_machine.runner import StatusMachine
from app.manager.workers.task_runs import blend_key

MIN_OWN = 3            # own finished tasks before the job's own cost per step stands alone
HISTORY_RUNS = 200     # runs of earlier jobs of the same file or type that are read
SPEED_RUNS = 5000      # the farm's newest runs the speeds are measured on
SPEED_DAYS = 14
SPEED_EVERY_S = 2.0    # the speeds are measured again at most this often (when new runs were written)
ANSWER_TTL_S = 2.0
READ_AGAIN_AFTER = 10.0  # an answer is also kept for this many times as long as its reading took
READ_WAIT_S = 0.3  # the longest a job's answer waits for a reading it needs
STALE_S = 30.0         # a job's answer may come from a reading this old while a new one is read
HELPER_S = 120.0       # a worker that finished one of the job's tasks this recently still works on it
SEEN_S = 600.0         # an awake worker not heard from for longer is not counted on
MAX_JOBS = 200         # unfinished jobs one answer covers (the newest)
SPEED_BOUNDS = (0.05, 20.0)

_log = logging.getLogger(__name__)

#: Jobs that get an ETA; the others are finished, paused or on their way to either.
ESTIMATED = (JobStatus.QUEUED.value, JobStatus.ACTIVE.value)
#: The job statuses an unfinished job may be in (the answer says why those not ESTIMATED have none).
UNFINISHED = (*ESTIMATED, JobStatus.PAUSED.value, JobStatus.PAUSE_REQUESTED.value, JobStatus.REQUEUEING.value,
              JobStatus.CANCEL_REQUESTED.value, JobStatus.UNDER_CONSTRUCTION.value)
_WAITING = (TaskStatus.QUEUED.value, TaskStatus.SOFT_FAILED.value)
_ACTIVE = TaskStatus.ACTIVE.value  # read for every task of every job: a plain string, not the enum's lookup


@dataclass(frozen=True, slots=True)
class Estimate:
    """Seconds from now to the job's end, the ends of its range, and what it rests on."""

    seconds: float
    low: float
    high: float
    source: str
    basis: int
    workers: tuple[tuple[FarmWorker, float], ...]
    #: When each counted worker is done with its part of this job (seconds from now, by worker id).
    busy_until: dict[int, float] = field(default_factory=dict)


Kind = tuple[str, str]


def kind_key(blend: str, job_type: str) -> str:
    """The first half of a kind of work: the .blend file, else the job type."""
    return blend or f"type:{job_type}"


def kind_of(run: Run) -> Kind:
    """The kind of work a run did: its .blend file (else its job type), and its task type."""
    return kind_key(run.blend_key, run.job_type), run.task_type


@dataclass(frozen=True, slots=True)
class Speeds:
    """Workers' speeds against the farm's average (1: average, 2: twice as fast): on each kind of work
    a worker ran, and over all it ran (for work of a kind it never ran)."""

    overall: dict[int, float]
    by_kind: dict[tuple[int, Kind], float]

    def of(self, worker_id: int, kind: Kind) -> float:
        found = self.by_kind.get((worker_id, kind))
        return found if found is not None else self.overall.get(worker_id, 1.0)


NO_SPEEDS = Speeds({}, {})


def worker_speeds(runs: Iterable[Run]) -> Speeds:
    """Each worker's speed against the farm's average on the same kind of work: the geometric mean of
    the kind's mean seconds per step over each run's own; a worker with no runs has none (1)."""
    per_kind: dict[Kind, list[float]] = defaultdict(list)
    usable = [run for run in runs if run.seconds > 0 and run.steps > 0]
    for run in usable:
        per_kind[kind_of(run)].append(run.seconds / run.steps)
    means = {kind: sum(values) / len(values) for kind, values in per_kind.items()}
    logs: dict[int, list[float]] = defaultdict(list)
    kind_logs: dict[tuple[int, Kind], list[float]] = defaultdict(list)
    for run in usable:
        ratio = math.log(means[kind_of(run)] / (run.seconds / run.steps))
        logs[run.worker_id].append(ratio)
        kind_logs[run.worker_id, kind_of(run)].append(ratio)
    return Speeds({worker: _bounded(v) for worker, v in logs.items()},
                  {key: _bounded(v) for key, v in kind_logs.items()})


def _bounded(logs: list[float]) -> float:
    low, high = SPEED_BOUNDS
    return min(high, max(low, math.exp(sum(logs) / len(logs))))


def step_costs(runs: Iterable[Run], speeds: Speeds) -> list[tuple[str, float]]:
    """(task type, what a step of the run would cost an average worker in seconds) of each run."""
    return [(run.task_type, run.seconds / run.steps * speeds.of(run.worker_id, kind_of(run)))
            for run in runs if run.seconds > 0 and run.steps > 0]


class StepCost:
    """What a step costs an average worker: per task type where its runs say, else over all runs."""

    def __init__(self, costs: Sequence[tuple[str, float]]) -> None:
        by_type: dict[str, list[float]] = defaultdict(list)
        for task_type, cost in costs:
            by_type[task_type].append(cost)
        self.values = [cost for _, cost in costs]
        self.overall = sum(self.values) / len(self.values)
        self._by_type = {task_type: sum(v) / len(v) for task_type, v in by_type.items()}

    def of(self, task_type: str) -> float:
        return self._by_type.get(task_type, self.overall)


def finish_time(free_at: Sequence[float], speed: Callable[[int, str], float],
                waiting: Sequence[tuple[float, str]]) -> float:
    """When the last task ends: worker i is free `free_at[i]` seconds from now and works at
    `speed(i, task type)`; `waiting` is the work (an average worker's seconds) and type of each task
    not handed out yet, in the order they go, each to the worker free first."""
    return hand_out(free_at, speed, waiting)[0]


def hand_out(free_at: Sequence[float], speed: Callable[[int, str], float],
             waiting: Sequence[tuple[float, str]]) -> tuple[float, list[float]]:
    """`finish_time`, and when each worker is done with its part of the work."""
    heap = [(at, i) for i, at in enumerate(free_at)]
    if not heap:
        return math.inf, []
    heapq.heapify(heap)
    ends = list(free_at)
    for work, task_type in waiting:
        at, i = heapq.heappop(heap)
        done_at = at + work / speed(i, task_type)
        ends[i] = max(ends[i], done_at)
        heapq.heappush(heap, (done_at, i))
    return max(ends), ends


def spread(costs: Sequence[float], tasks_left: int) -> float:
    """How far (a fraction) the range reaches either side of the estimate."""
    n = len(costs)
    mean = sum(costs) / n
    cv = math.sqrt(sum((c - mean) ** 2 for c in costs) / n) / mean if mean > 0 else 0.0
    return min(0.9, 1 / math.sqrt(n) + cv / math.sqrt(max(1, tasks_left)))


@dataclass(slots=True)
class JobFacts:
    """What the store holds about one unfinished job, read in one transaction."""

    uuid: str
    status: str
    left: list[TaskLeft]
    own: list[Run]
    history: list[Run]
    history_source: str
    #: Only workers with this tag take the job's tasks (None: any worker).
    tag_id: int | None = None
    #: The job's .blend file, else its type (`kind_key`): with a task type, the kind of its work.
    kind: str = ""
    priority: int = 50


def estimate(facts: JobFacts, workers: Sequence[FarmWorker], busy: dict[int, int], job_id: int,
             speeds: Speeds, now: dt.datetime, tags: dict[int, set[int]] | None = None,
             history_costs: list[tuple[str, float]] | None = None,
             ahead: dict[int, float] | None = None) -> Estimate | str:
    """The job's estimate, or why there is none. `history_costs`: `step_costs` of its history, when
    the caller has them (jobs of one file or type share them). `ahead`: when each worker is done with
    the jobs ahead of this one in the queue (seconds from now, by worker id); a job that has not
    started (nothing of it runs or has finished) waits for them."""
    if facts.status not in ESTIMATED:
        return f"the job is {facts.status}"
    if not facts.left:
        return "nothing left to render"
    own = step_costs(facts.own, speeds)
    if len(own) >= MIN_OWN:
        costs = own
    else:
        costs = own + (history_costs if history_costs is not None else step_costs(facts.history, speeds))
    if not costs:
        return "no task of this job, its .blend file or its type has finished yet"
    source = "job" if len(own) >= MIN_OWN else facts.history_source if len(costs) > len(own) else "job"
    cost = StepCost(costs)
    team = _team(facts, workers, busy, job_id, now, tags or {})
    if not team:
        return "no awake worker takes its tasks"
    known: dict[tuple[int, str], float] = {}

    def speed(i: int, task_type: str) -> float:
        found = known.get((i, task_type))
        if found is None:
            found = known[i, task_type] = speeds.of(team[i].id, (facts.kind, task_type))
        return found

    started = bool(facts.own) or any(t.status == _ACTIVE for t in facts.left)
    queue = ahead if ahead and not started else {}
    free_at = [queue.get(w.id, 0.0) for w in team]
    slot = {w.id: i for i, w in enumerate(team)}
    for task in facts.left:
        if task.status == _ACTIVE and task.worker_id in slot:
            i = slot[task.worker_id]
            whole = max(1, task.steps_total) * cost.of(task.type) / speed(i, task.type)
            elapsed = (now - task.started_at).total_seconds() if task.started_at is not None else 0.0
            free_at[i] = max(whole - elapsed, whole / 10)
    waiting = [(work, t.type) for t in facts.left if t.status != _ACTIVE
               for work in [max(1, t.steps_total - t.steps_completed) * cost.of(t.type)] * t.alike]
    seconds, ends = hand_out(free_at, speed, waiting)
    if not math.isfinite(seconds):
        return "no awake worker takes its tasks"
    reach = spread(cost.values, sum(t.alike for t in facts.left))
    main_type = max(facts.left, key=lambda t: t.alike).type  # the speed shown is on the job's main work
    return Estimate(seconds, seconds * (1 - reach), seconds * (1 + reach), source, len(costs),
                    tuple((w, speed(i, main_type)) for i, w in enumerate(team)),
                    {w.id: end for w, end in zip(team, ends, strict=True)})


def _team(facts: JobFacts, workers: Sequence[FarmWorker], busy: dict[int, int], job_id: int,
          now: dt.datetime, tags: dict[int, set[int]]) -> list[FarmWorker]:
    """The workers counted on for the job (see the module's docstring)."""
    seen_since = now - dt.timedelta(seconds=SEEN_S)
    awake = {w.id: w for w in workers if w.last_seen_at is None or w.last_seen_at >= seen_since}
    on_it = {t.worker_id for t in facts.left if t.status == _ACTIVE and t.worker_id is not None}
    helped_since = now - dt.timedelta(seconds=HELPER_S)
    helping = {r.worker_id for r in facts.own if r.finished_at >= helped_since}
    team = on_it | {w for w in helping if w in awake and busy.get(w, job_id) == job_id}
    if team:
        # A worker running its task is counted even when its last word is old (a long frame).
        return [awake.get(w) or FarmWorker(w, "", "", "", "", None) for w in sorted(team)]
    types = {t.type.lower() for t in facts.left}
    return [w for w in awake.values() if not types.isdisjoint(w.task_types.split(","))
            and (facts.tag_id is None or facts.tag_id in tags.get(w.id, ()))]


class JobEtas:
    """The ETA of jobs, for the job's answer and the route that gives all unfinished jobs' at once."""

    def __init__(self, machine: StatusMachine, monotonic: Callable[[], float] = time.monotonic,
                 reader: Reader | None = None) -> None:
        self.machine = machine
        self.reader: Reader | Store = reader or machine.store  # the readings: beside the farm's writes
        self._monotonic = monotonic
        self._speeds: tuple[tuple[int, int], Speeds] | None = None  # ((batches written, unwritten), speeds)
        self._speeds_at = 0.0
        self._fresh = EtaFreshness(machine.bus)
        # The all-jobs route's readings, and those job answers start: a job's answer may take either,
        # the route only its own (a job's answer may have read a moment before the route was asked).
        self._route = _Readings(self._read_once, monotonic, lambda: self._fresh.generation)
        self._behind = _Readings(self._read_once, monotonic, lambda: self._fresh.generation)
        self.readings = 0  # answers for all unfinished jobs worked out (tests)
        # When the last reading of all jobs was made (monotonic) and, for each job that had not started,
        # when each worker would be done with the jobs ahead of it (seconds from that reading).
        self._queues: tuple[float, dict[str, dict[int, float]]] = (0.0, {})

    async def speeds(self, unwritten: Sequence[Run] = ()) -> Speeds:
        """The workers' measured speeds, measured again once new runs were written or reported (at most
        every SPEED_EVERY_S: runs come every few seconds on a busy farm, and measuring reads SPEED_RUNS).
        `unwritten`: runs reported but not stored yet, which count as the stored ones do."""
        seen, at = (self.machine.runs.flushes, len(unwritten)), self._monotonic()
        if self._speeds is None or (self._speeds[0] != seen and at - self._speeds_at >= SPEED_EVERY_S):
            since = self._now() - dt.timedelta(days=SPEED_DAYS)
            runs = await self.reader.call(run_stats.recent_runs, since, SPEED_RUNS)
            self._speeds, self._speeds_at = (seen, worker_speeds([*runs, *unwritten])), at
        return self._speeds[1]

    async def all_unfinished(self) -> dict[str, Any]:
        """`JobEtas` as JSON: the ETA of each unfinished job, and why the others have none. Callers
        within ANSWER_TTL_S of a reading, or while one is under way, share it."""
        kept = self._route.kept(self._route.ttl())
        return kept[1] if kept is not None else await asyncio.shield(self._route.read())

    async def _read_once(self) -> dict[str, Any]:
        at = self._monotonic()
        queues: dict[str, dict[int, float]] = {}
        answer, _ = await self._answers(None, queues=queues)
        self._queues = (at, queues)
        self.readings += 1
        return answer

    async def of_job(self, job_uuid: str) -> dict[str, Any] | None:
        """The job's `JobEta` as JSON, or None (a finished or paused job, or one with nothing to go by).
        A job that has not started waits for the jobs ahead of it: when each worker is done with them
        comes from the reading of all unfinished jobs (shared, ANSWER_TTL_S); a job not among them
        (MAX_JOBS) or submitted since waits for nothing."""
        queue = self._queue_of(job_uuid)
        if queue is not None:  # a fresh reading of the queue has it: one pass
            return (await self._answers(job_uuid, queue))[0]["jobs"].get(job_uuid)
        answer, unstarted = await self._answers(job_uuid)
        if job_uuid in unstarted and self._monotonic() - self._queues[0] > ANSWER_TTL_S:
            await self.all_unfinished()  # the queue, read at most every ANSWER_TTL_S for every caller
            queue = self._queue_of(job_uuid)
            if queue is not None:  # its own figures read now, the wait for the jobs ahead as of that reading
                answer, _ = await self._answers(job_uuid, queue)
        return answer["jobs"].get(job_uuid)

    def _queue_of(self, job_uuid: str) -> dict[int, float] | None:
        """When each worker is done with the jobs ahead of this one (seconds from now), from a reading
        of all jobs within ANSWER_TTL_S; None without one, or when nothing was ahead of it."""
        at, queues = self._queues
        ahead = queues.get(job_uuid)
        elapsed = self._monotonic() - at
        if not ahead or elapsed > ANSWER_TTL_S:
            return None
        return {worker: max(0.0, seconds - elapsed) for worker, seconds in ahead.items()}

    async def added_to(self, job: dict[str, Any]) -> dict[str, Any]:
        """A job's JSON answer with its `eta`, while it has one: from the shared reading, served up to
        STALE_S old while a new one is read; from a reading of its own for a job that one leaves out.
        A reading it must wait for is waited for READ_WAIT_S at most (module text)."""
        if job.get("status") not in ESTIMATED:
            return job
        job_uuid = str(job.get("id"))
        if max(self._route.took, self._behind.took) <= READ_WAIT_S:
            eta = await self._eta_of(job_uuid)  # readings are quick here: wait for the right figure
        else:
            try:
                async with asyncio.timeout(READ_WAIT_S):
                    eta = await self._eta_of(job_uuid)
            except TimeoutError:  # the reading goes on behind; the next answer has it
                eta = self._last_known(job_uuid)
        return {**job, "eta": eta} if eta is not None else job

    def _last_known(self, job_uuid: str) -> dict[str, Any] | None:
        """The job's figure in the newest reading of at most STALE_S, even one a change made wrong."""
        lasts = [last for last in (self._route.last(STALE_S), self._behind.last(STALE_S)) if last is not None]
        if not lasts:
            return None
        return max(lasts, key=lambda last: last[0])[1]["jobs"].get(job_uuid)

    async def _eta_of(self, job_uuid: str) -> dict[str, Any] | None:
        kept = max((k for k in (self._route.kept(STALE_S), self._behind.kept(STALE_S)) if k is not None),
                   default=None, key=lambda k: k[0])
        if kept is None:
            answer = await asyncio.shield(self._behind.read())
        else:
            answer = kept[1]
            if self._monotonic() - kept[0] > self._behind.ttl():
                self._behind.read()  # the next job's answer gets the newer one; this one does not wait
        if job_uuid in answer["jobs"]:
            eta = answer["jobs"][job_uuid]
        elif job_uuid in answer["reasons"]:
            eta = None
        else:  # newer than the reading, or past the MAX_JOBS it covers
            eta = await self.of_job(job_uuid)
        return eta

    async def _answers(self, job_uuid: str | None, ahead: dict[int, float] | None = None,
                       queues: dict[str, dict[int, float]] | None = None) -> tuple[dict[str, Any], set[str]]:
        """The answer for one job (or all unfinished ones), and the jobs in it that have not started.
        `ahead`: when each worker is done with the jobs before them; `queues`: filled with that for
        each job that has not started."""
        # A task reported a moment ago counts: its run, still in memory, is read with the stored ones.
        # Not flushed first: the flush queues behind a busy farm's claims (seconds at 1,000 workers).
        unwritten = [Run(r.worker_id, r.seconds, r.steps, r.job_type, r.task_type, r.blend_key, r.finished_at,
                         r.job_uuid) for r in self.machine.runs.unwritten() if r.outcome == "completed" and r.steps > 0]
        speeds = await self.speeds(unwritten)
        now = self._now()
        facts = await self.reader.call(_read_facts, job_uuid, now, unwritten)
        # Worked out on a thread: with 10,000 workers and tasks it is a few tenths of a second of
        # Python, which on the loop held up every request (a dashboard's GET among them) that long.
        # The thread hands the interpreter back every switch interval, so the loop keeps serving.
        return await asyncio.to_thread(_work_out, facts, speeds, now, ahead, queues)

    def _now(self) -> dt.datetime:
        """Naive UTC, as the store's times."""
        return self.machine.clock.now().astimezone(dt.UTC).replace(tzinfo=None)


def _work_out(facts: _Facts, speeds: Speeds, now: dt.datetime, ahead: dict[int, float] | None,
              queues: dict[str, dict[int, float]] | None) -> tuple[dict[str, Any], set[str]]:
    """`JobEtas._answers` from what was read: pure, so that it can run on a thread."""
    jobs: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    shared: dict[int, list[tuple[str, float]]] = {}  # jobs of one file or type share one history list
    # In the scheduler's order (job priority, then age), each worker busy until it is done with the
    # jobs before: a job that has not started waits for them, where the workers it shares.
    ahead = dict(ahead or {})
    unstarted: set[str] = set()
    for job_id, job_facts in sorted(facts.jobs.items(), key=lambda kv: (-kv[1].priority, kv[0])):
        history = job_facts.history
        if id(history) not in shared:
            shared[id(history)] = step_costs(history, speeds)
        if not job_facts.own and not any(t.status == _ACTIVE for t in job_facts.left):
            unstarted.add(job_facts.uuid)
            if queues is not None and ahead:
                queues[job_facts.uuid] = dict(ahead)
        found = estimate(job_facts, facts.workers, facts.busy, job_id, speeds, now, facts.tags,
                         shared[id(history)], ahead)
        if isinstance(found, str):
            reasons[job_facts.uuid] = found
            continue
        jobs[job_facts.uuid] = _json(found, now)
        for worker_id, end in found.busy_until.items():
            ahead[worker_id] = max(ahead.get(worker_id, 0.0), end)
    return {"jobs": jobs, "reasons": reasons}, unstarted


class _Readings:
    """The last reading of all unfinished jobs' ETAs, and the one under way (which callers share)."""

    def __init__(self, read: Callable[[], Awaitable[dict[str, Any]]], monotonic: Callable[[], float],
                 generation: Callable[[], int]) -> None:
        self._read, self._monotonic, self._generation = read, monotonic, generation
        self._last: tuple[float, int, dict[str, Any]] | None = None  # (read at, generation, answer)
        self._under_way: asyncio.Future[dict[str, Any]] | None = None
        self.took = 0.0  # seconds the last reading took, from start to answer

    def ttl(self) -> float:
        """How long an answer is fresh: ANSWER_TTL_S, longer where readings take long (module text)."""
        return max(ANSWER_TTL_S, READ_AGAIN_AFTER * self.took)

    def last(self, within_s: float) -> tuple[float, dict[str, Any]] | None:
        """(read at, answer) of the last reading, if at most `within_s` old, even if a change made it wrong."""
        if self._last is None or self._monotonic() - self._last[0] > within_s:
            return None
        return self._last[0], self._last[2]

    def kept(self, within_s: float) -> tuple[float, dict[str, Any]] | None:
        """(read at, answer) of the last reading, if at most `within_s` old and nothing made it wrong."""
        if self._last is None:
            return None
        at, generation, answer = self._last
        fits = self._monotonic() - at <= within_s and generation == self._generation()
        return (at, answer) if fits else None

    def read(self) -> asyncio.Future[dict[str, Any]]:
        """The reading under way, or a new one."""
        if self._under_way is None:
            self._under_way = asyncio.ensure_future(self._read_all(self._monotonic(), self._generation()))
            self._under_way.add_done_callback(_retrieved)
        return self._under_way

    async def _read_all(self, at: float, generation: int) -> dict[str, Any]:
        try:
            answer = await self._read()
            self._last = (at, generation, answer)
            self.took = self._monotonic() - at
            return answer
        finally:
            self._under_way = None


def _retrieved(reading: asyncio.Future[dict[str, Any]]) -> None:
    """A reading no caller waited for still says why it failed."""
    if not reading.cancelled() and reading.exception() is not None:
        _log.error("reading the jobs' ETAs failed", exc_info=reading.exception())


def _json(found: Estimate, now: dt.datetime) -> dict[str, Any]:
    def when(seconds: float) -> str:
        return to_rfc3339(now + dt.timedelta(seconds=seconds))
    workers = [EtaWorker(w.uuid, w.name, round(speed, 3)) for w, speed in found.workers if w.uuid]
    return JobEta(at=when(found.seconds), low=when(found.low), high=when(found.high),
                  seconds=round(found.seconds, 1), computed=to_rfc3339(now), source=found.source,
                  basis=found.basis, workers=workers).to_json()


@dataclass(slots=True)
class _Facts:
    jobs: dict[int, JobFacts]
    workers: list[FarmWorker]
    busy: dict[int, int]
    tags: dict[int, set[int]]


def _read_facts(job_uuid: str | None, now: dt.datetime, unwritten: Sequence[Run] = ()) -> _Facts:
    """Everything the estimates need, in one transaction on the store thread; `unwritten`: completed
    runs not stored yet, oldest first (a flush that stores them meanwhile has them counted twice, which
    shifts a mean by a run for a moment)."""
    if job_uuid is None:
        heads = run_stats.unfinished_jobs(UNFINISHED, MAX_JOBS)
    else:
        head = run_stats.one_job(job_uuid)
        heads = [head] if head is not None else []
    left = run_stats.tasks_left([h.id for h in heads if h.status in ESTIMATED], _WAITING)
    jobs: dict[int, JobFacts] = {}
    histories: dict[tuple[str, str], list[Run]] = {}  # jobs of one file or type share its history
    for head in heads:
        key = blend_key(head.settings, head.shaman_checkout_id)
        facts = JobFacts(head.uuid, head.status, left.get(head.id, []), [], [], "", head.worker_tag_id,
                         kind_key(key, head.job_type), head.priority)
        if head.status in ESTIMATED and facts.left:
            _read_history(facts, head.job_type, key, histories, unwritten)
        jobs[head.id] = facts
    tagged = any(f.tag_id is not None for f in jobs.values())
    return _Facts(jobs, run_stats.live_workers(["awake"]), run_stats.busy_workers(),
                  run_stats.worker_tags() if tagged else {})


def _read_history(facts: JobFacts, job_type: str, key: str, histories: dict[tuple[str, str], list[Run]],
                  unwritten: Sequence[Run] = ()) -> None:
    facts.own = run_stats.job_runs(facts.uuid) + [r for r in unwritten if r.job_uuid == facts.uuid]
    if len(facts.own) >= MIN_OWN:
        return
    for source, value in (("file", key), ("type", job_type)):
        if not value:
            continue
        if (source, value) not in histories:
            # Read once for every job of it (the job's own few runs may be among them: they count twice).
            query = {"blend_key": key} if source == "file" else {"job_type": job_type}
            newest = [r for r in reversed(unwritten)
                      if (r.blend_key == key if source == "file" else r.job_type == job_type)]
            stored = run_stats.history_runs(**query, other_than="", limit=HISTORY_RUNS)
            histories[source, value] = (newest + stored)[:HISTORY_RUNS]
        facts.history = histories[source, value]
        facts.history_source = source
        if facts.history:
            return

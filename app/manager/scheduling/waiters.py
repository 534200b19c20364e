"""Long-poll support: workers waiting for work, and tasks whose runners wait for a changed answer.

A waiter takes a generation number, checks its condition, and sleeps until the generation moves
on or its timeout ends. Notification is cheap (one counter and an Event swap), so the state machine
can notify on every change without knowing who listens.

Workers waiting for a task are not woken all at once (`WorkQueue`): that made every change cost one
scheduler query per idle worker, quadratic in the farm's size. They queue in the order they started
waiting, grouped by what they can run (task types and worker tags). A change that may make work
available starts one matching pass: per group with idle workers, one bounded query counts the
runnable tasks that group could take, and about that many of its longest-waiting workers are woken.
A woken worker that finds nothing (the work went to another worker, or it is blocklisted) passes the
wake-up on and is not woken again until the next change. A pass wakes at most WAKE_PER_TURN workers
per loop iteration: a job of 10,000 tasks arriving at 10,000 waiting workers woke them all at once,
and the iteration that resumed their 10,000 requests held up everything else on the loop (a
dashboard's GET among it) for about half a second.

Idle re-polls: a worker whose long-poll ended empty comes back every few seconds. When nothing that
may make work available has happened since its last full claim found nothing (same generation,
nothing about the worker changed), the scheduler query would find nothing again, so the re-poll
only refreshes "last seen" and the worker's state (`still_nothing`). A full claim still runs at least
every FULL_CLAIM_EVERY_S, so a change nobody signalled cannot strand a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from app.common.loops import Wakeup

_log = logging.getLogger(__name__)

# What a worker can run: (sorted task types, sorted worker-tag row ids, and what it has for jobs'
# scene requirements: `persistence.requirements.worker_has`). Workers alike in all three wait together.
Profile = tuple[tuple[str, ...], tuple[int, ...], tuple[int, int, int]]
# Counts runnable tasks per (profile, limit): one store transaction for one matching pass.
Counter = Callable[[Sequence[tuple[Profile, int]]], Awaitable[Sequence[int]]]


# A generation counter plus an event: the same primitive as the background loops' poke.
_Signal = Wakeup

FULL_CLAIM_EVERY_S = 60.0  # the longest an idle worker's re-polls skip the scheduler query
WAKE_PER_TURN = 256  # workers a matching pass wakes per loop iteration (module text)


@dataclass(eq=False)
class WorkWaiter:
    """One worker's place in the queue, kept from its first empty claim until it leaves."""

    ticket: int
    worker_uuid: str
    profile: Profile
    tried: int = -1  # the generation at which its last claim found nothing
    woken: bool = False  # woken for work and not yet back from its claim
    gone: bool = False
    _future: asyncio.Future[None] | None = field(default=None, repr=False)

    def __lt__(self, other: WorkWaiter) -> bool:
        return self.ticket < other.ticket


class _Group:
    """Idle waiters of one profile, longest-waiting first; `woken` counts those out claiming."""

    def __init__(self) -> None:
        self.heap: list[WorkWaiter] = []
        self.idle = 0
        self.woken = 0


class WorkQueue:
    """Waiting workers, woken about one per runnable task they can run, in FIFO order."""

    def __init__(self) -> None:
        self.generation = 0
        self._tickets = itertools.count()
        self._groups: dict[Profile, _Group] = defaultdict(_Group)
        self._by_worker: dict[str, WorkWaiter] = {}
        self._counter: Counter | None = None
        self._dirty = False
        self._pass: asyncio.Task[None] | None = None
        self._parked: list[WorkWaiter] = []
        self._parked_generation = -1
        self.passes = 0  # matching passes run (tests, benches)
        self.wakeups = 0  # workers woken for work
        # Worker uuid -> (generation, profile, when) of its last full claim that found nothing.
        self._empty: dict[str, tuple[int, Profile, float]] = {}
        self.skipped_claims = 0  # re-polls answered without the scheduler query (tests, benches)

    def set_counter(self, counter: Counter) -> None:
        self._counter = counter

    # --- notification ------------------------------------------------------------------------
    def work_available(self) -> None:
        """Something changed that may make work runnable: match waiting workers to it."""
        self.generation += 1
        if self._by_worker:  # nobody waiting: whoever comes next looks for itself
            self._request_pass()

    def worker_changed(self, worker_uuid: str) -> None:
        """A waiting worker's own state changed (tags, status request): let it look again now."""
        self._empty.pop(worker_uuid, None)
        waiter = self._by_worker.get(worker_uuid)
        if waiter is not None and not waiter.woken and not waiter.gone:
            group = self._groups[waiter.profile]
            group.idle -= 1
            self._wake(waiter, group)  # its stale heap entry is skipped: it is woken now

    # --- idle re-polls -------------------------------------------------------------------------
    def found_nothing(self, worker_uuid: str, generation: int, profile: Profile) -> None:
        """A full claim by this worker at `generation` found no task."""
        self._empty[worker_uuid] = (generation, profile, time.monotonic())

    def found_task(self, worker_uuid: str) -> None:
        self._empty.pop(worker_uuid, None)

    def still_nothing(self, worker_uuid: str) -> Profile | None:
        """The worker's profile when a claim now would find nothing again (see the module text)."""
        entry = self._empty.get(worker_uuid)
        if entry is None:
            return None
        generation, profile, when = entry
        if generation != self.generation or time.monotonic() - when > FULL_CLAIM_EVERY_S:
            del self._empty[worker_uuid]
            return None
        self.skipped_claims += 1
        return profile

    # --- the waiting side --------------------------------------------------------------------
    def enter(self, worker_uuid: str, profile: Profile, generation: int) -> WorkWaiter:
        """Queue a worker whose claim at `generation` found nothing."""
        waiter = WorkWaiter(next(self._tickets), worker_uuid, profile, tried=generation)
        self._by_worker[worker_uuid] = waiter
        self._push(waiter)
        return waiter

    async def wait(self, waiter: WorkWaiter, generation: int, profile: Profile, timeout: float) -> bool:
        """After a claim at `generation` found nothing: wait to be woken; False on timeout."""
        if waiter.woken:
            # Woken, and the claim found nothing: the work went elsewhere or is not for this
            # worker. Back in its place in the line, and let the next one try.
            waiter.woken = False
            self._groups[waiter.profile].woken -= 1
            self._drop_empty(waiter.profile)
            waiter.profile, waiter.tried = profile, generation
            self._push(waiter)
            self._request_pass()
        elif profile != waiter.profile:
            self._regroup(waiter, profile)
            waiter.tried = generation
        else:
            waiter.tried = generation
        if self.generation != generation:
            return True  # something changed during the claim: look again at once
        future = waiter._future = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await future
            return True
        except TimeoutError:
            return waiter.woken  # woken as the time ran out: take the claim anyway
        finally:
            waiter._future = None

    def leave(self, waiter: WorkWaiter, claimed: bool) -> None:
        """The request is over (a task, a refusal, a timeout, a disconnect)."""
        if waiter.gone:
            return
        waiter.gone = True
        if self._by_worker.get(waiter.worker_uuid) is waiter:
            del self._by_worker[waiter.worker_uuid]
        group = self._groups[waiter.profile]
        if waiter.woken:
            group.woken -= 1
            if not claimed:  # it was woken for work it did not take: someone else may
                self._request_pass()
        else:
            group.idle -= 1  # its heap entry is dropped when reached
        self._drop_empty(waiter.profile)

    @property
    def waiting(self) -> int:
        return len(self._by_worker)

    # --- matching ----------------------------------------------------------------------------
    def _push(self, waiter: WorkWaiter) -> None:
        group = self._groups[waiter.profile]
        group.idle += 1
        heapq.heappush(group.heap, waiter)
        if len(group.heap) > 2 * group.idle + 64:
            # Entries of waiters that left (timeouts) are dropped when reached; when no work
            # comes for a long time nothing is reached, so sweep them out now and then.
            profile = waiter.profile
            live = {id(w): w for w in group.heap if not w.gone and not w.woken and w.profile == profile}
            group.heap = list(live.values())
            heapq.heapify(group.heap)

    def _regroup(self, waiter: WorkWaiter, profile: Profile) -> None:
        # Its tags or task types changed. Its entry in the old group's heap is skipped when reached
        # (the profile no longer matches); the ticket, its place in line, stays.
        old = waiter.profile
        self._groups[old].idle -= 1
        waiter.profile = profile
        self._drop_empty(old)
        self._push(waiter)

    def _drop_empty(self, profile: Profile) -> None:
        group = self._groups.get(profile)
        if group is not None and group.idle <= 0 and group.woken <= 0:
            del self._groups[profile]

    def _wake(self, waiter: WorkWaiter, group: _Group) -> None:
        waiter.woken = True
        group.woken += 1
        self.wakeups += 1
        if waiter._future is not None and not waiter._future.done():
            waiter._future.set_result(None)

    def _request_pass(self) -> None:
        self._dirty = True
        if self._pass is None or self._pass.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (synchronous tests): nobody can be waiting
            self._pass = loop.create_task(self._run_passes(), name="work-queue")

    async def _run_passes(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                await self._match()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - never leave a waiting worker stranded
                _log.exception("matching waiting workers to work failed; waking them all")
                self._wake_all()

    async def _match(self) -> None:
        self.passes += 1
        if self._parked and self._parked_generation != self.generation:
            for waiter in self._parked:
                if not waiter.gone and not waiter.woken:
                    heapq.heappush(self._groups[waiter.profile].heap, waiter)
            self._parked = []
        wanted = [(profile, group.idle + group.woken) for profile, group in self._groups.items() if group.idle > 0]
        if not wanted:
            return
        if self._counter is None:
            self._wake_all()
            return
        generation = self.generation
        counts = await self._counter(wanted)
        woken: list[WorkWaiter] = []
        for (profile, _), count in zip(wanted, counts, strict=True):
            group = self._groups.get(profile)
            if group is None:
                continue
            need = count - group.woken
            while need > 0 and group.heap:
                waiter = heapq.heappop(group.heap)
                if waiter.gone or waiter.woken or waiter.profile != profile:
                    continue  # a stale entry: left, woken directly, or moved to another group
                if waiter.tried >= generation:
                    # It found nothing since the change this pass answers: not for it.
                    self._parked.append(waiter)
                    self._parked_generation = generation
                    continue
                group.idle -= 1
                waiter.woken = True
                group.woken += 1
                woken.append(waiter)
                need -= 1
        # Oldest first, so the worker waiting longest claims first when two are woken for one task.
        woken.sort()
        for start in range(0, len(woken), WAKE_PER_TURN):
            if start:
                await asyncio.sleep(0)  # the next ones in the next iteration, after the loop's other work
            for waiter in woken[start:start + WAKE_PER_TURN]:
                self.wakeups += 1
                # One that left or timed out meanwhile has no future: it took its claim, or gave it back.
                if waiter._future is not None and not waiter._future.done():
                    waiter._future.set_result(None)

    def _wake_all(self) -> None:
        for waiter in list(self._by_worker.values()):
            if not waiter.woken and not waiter.gone:
                group = self._groups[waiter.profile]
                group.idle -= 1
                self._wake(waiter, group)

    async def close(self) -> None:
        if self._pass is not None and not self._pass.done():
            self._pass.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pass


class Waiters:
    def __init__(self) -> None:
        self.work = WorkQueue()
        self.deletion = _Signal()
        self.schedules = _Signal()
        self._tasks: dict[str, _Signal] = defaultdict(_Signal)
        self._workers: dict[str, _Signal] = defaultdict(_Signal)

    def work_available(self) -> None:
        self.work.work_available()

    def task_changed(self, task_uuid: str) -> None:
        sig = self._tasks.get(task_uuid)
        if sig is not None:
            sig.fire()

    def worker_changed(self, worker_uuid: str) -> None:
        sig = self._workers.get(worker_uuid)
        if sig is not None:
            sig.fire()
        self.work.worker_changed(worker_uuid)

    def task_signal(self, task_uuid: str) -> _Signal:
        return self._tasks[task_uuid]

    def worker_signal(self, worker_uuid: str) -> _Signal:
        return self._workers[worker_uuid]

    def forget_task(self, task_uuid: str) -> None:
        self._tasks.pop(task_uuid, None)

"""The work queue's bookkeeping, with a scripted counter in place of the store (unit tests)."""

from __future__ import annotations

import asyncio

from app.manager.scheduling.waiters import WAKE_PER_TURN, WorkQueue

MISC = (("misc",), ())
BLENDER = (("blender",), ())


class Runnable:
    """Stands in for the store: how many tasks each profile could run."""

    def __init__(self) -> None:
        self.tasks: dict[tuple, int] = {}
        self.calls = 0

    async def __call__(self, wanted):
        self.calls += 1
        return [min(self.tasks.get(profile, 0), limit) for profile, limit in wanted]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _queue() -> tuple[WorkQueue, Runnable]:
    queue, runnable = WorkQueue(), Runnable()
    queue.set_counter(runnable)
    return queue, runnable


async def _waiting(queue: WorkQueue, name: str, profile=MISC):
    """A worker whose claim found nothing, now waiting; returns (waiter, wait task)."""
    generation = queue.generation
    waiter = queue.enter(name, profile, generation)
    task = asyncio.create_task(queue.wait(waiter, generation, profile, 30))
    await _settle()
    return waiter, task


async def test_wakes_as_many_as_there_are_tasks_oldest_first():
    queue, runnable = _queue()
    waiting = [await _waiting(queue, f"w{i}") for i in range(10)]
    runnable.tasks[MISC] = 3
    queue.work_available()
    await _settle()
    woken = [t.done() for _, t in waiting]
    assert woken == [True] * 3 + [False] * 7
    assert queue.wakeups == 3


async def test_work_for_another_profile_wakes_nobody():
    queue, runnable = _queue()
    waiting = [await _waiting(queue, f"w{i}") for i in range(5)]
    runnable.tasks[BLENDER] = 4
    queue.work_available()
    await _settle()
    assert not any(t.done() for _, t in waiting) and queue.wakeups == 0


async def test_a_woken_worker_that_finds_nothing_passes_the_wakeup_on():
    queue, runnable = _queue()
    (w0, t0), (w1, t1) = await _waiting(queue, "w0"), await _waiting(queue, "w1")
    runnable.tasks[MISC] = 1
    queue.work_available()
    await _settle()
    assert t0.done() and not t1.done()
    # w0's claim finds nothing (blocklisted, say); the task is still runnable for others.
    generation = queue.generation
    again = asyncio.create_task(queue.wait(w0, generation, MISC, 30))
    await _settle()
    assert t1.done() and not again.done()  # w1 got the wake-up, w0 is not woken again for it
    queue.leave(w1, claimed=True)
    # The next change makes w0 eligible again, in its old place.
    runnable.tasks[MISC] = 1
    queue.work_available()
    await _settle()
    assert again.done()
    queue.leave(w0, claimed=True)
    assert queue.waiting == 0


async def test_leaving_unclaimed_after_a_wakeup_passes_it_on():
    queue, runnable = _queue()
    (w0, t0), (_w1, t1) = await _waiting(queue, "w0"), await _waiting(queue, "w1")
    runnable.tasks[MISC] = 1
    queue.work_available()
    await _settle()
    assert t0.done()
    queue.leave(w0, claimed=False)  # disconnected, or told to sleep, before claiming
    await _settle()
    assert t1.done()


async def test_timeouts_leave_no_trace():
    queue, runnable = _queue()
    for _ in range(50):
        waiter = queue.enter("w", MISC, queue.generation)
        assert not await queue.wait(waiter, queue.generation, MISC, 0.001)
        queue.leave(waiter, claimed=False)
    assert queue.waiting == 0 and not queue._groups
    runnable.tasks[MISC] = 5
    queue.work_available()
    await _settle()
    assert runnable.calls == 0  # nobody waits: no query


async def test_heap_of_a_long_idle_group_stays_small():
    queue, _ = _queue()
    keep, _task = await _waiting(queue, "keeper")
    for i in range(1000):
        waiter = queue.enter(f"w{i}", MISC, queue.generation)
        queue.leave(waiter, claimed=False)
    assert len(queue._groups[MISC].heap) < 100
    queue.leave(keep, claimed=False)


async def test_a_change_to_the_waiting_worker_wakes_it():
    queue, _ = _queue()
    _, t0 = await _waiting(queue, "w0")
    queue.worker_changed("w0")
    await _settle()
    assert t0.done()


async def test_without_a_counter_everyone_is_woken():
    queue = WorkQueue()
    waiting = [await _waiting(queue, f"w{i}") for i in range(3)]
    queue.work_available()
    await _settle()
    assert all(t.done() for _, t in waiting)


async def test_a_big_pass_wakes_a_bounded_number_per_loop_iteration_oldest_first():
    queue, runnable = _queue()
    count = 2 * WAKE_PER_TURN + 50
    waiting = [await _waiting(queue, f"w{i}") for i in range(count)]
    runnable.tasks[MISC] = count
    queue.work_available()
    done_before, most = 0, 0
    for _ in range(20):
        await asyncio.sleep(0)
        done = [t.done() for _, t in waiting]
        assert done == sorted(done, reverse=True)  # always the longest waiting ones
        most = max(most, sum(done) - done_before)
        done_before = sum(done)
    assert done_before == count and queue.wakeups == count
    assert 0 < most <= WAKE_PER_TURN

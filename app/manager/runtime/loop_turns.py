"""Turns on the event loop for quick store calls: at most PER_TURN of them per loop iteration.

A quick call (`Store.try_quick`: a claim, a task update) runs its transaction right on the event
loop, because the hop to the store thread costs more than the queries. But asyncio runs every
handle that is ready at the start of an iteration before it looks at anything new; with 10,000
workers each holding a request, one iteration held thousands of claims and lasted seconds. A
step of anything else (the store thread handing back a dashboard's GET, the next step of a job
submission, a websocket message) waited that whole iteration, and a GET with a 10 s timeout failed.

Here the quick calls of one iteration beyond PER_TURN wait in line, first come first served, and
PER_TURN of them are let through in each following iteration. Everything else gets its turn in
between, so it waits for about PER_TURN transactions, whatever the size of the farm. Work is not
done slower for it: the transactions run one after another either way. When the loop is not busy
a call goes through at once, without a hop. Workers woken together for new work (`WorkQueue`) line
up here in the order they were woken, which is the order they started waiting.

Running work goes first: a call made with `first=True` (a running task's update, "may I go on")
waits only behind others of its kind. A burst of thousands of sign-ups or claims then cannot hold
up the workers that are rendering. Every first call is followed by a normal one from the same
worker (its next claim), so the normal line is never starved.

A call that was let through but found the store thread at work waits for it and then comes back
with `again=True`: that line goes before both others, so a call never loses its place to one that
came later (a woken worker waiting longest must still claim first).
"""

from __future__ import annotations

import asyncio
from collections import deque

PER_TURN = 16


class LoopTurns:
    def __init__(self, per_turn: int = PER_TURN) -> None:
        self.per_turn = per_turn
        self._granted = 0  # calls let through since the last pump
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._first: deque[asyncio.Future[None]] = deque()  # running work: before `_waiting`
        self._again: deque[asyncio.Future[None]] = deque()  # back from the store thread: before all
        self._pump_armed = False
        self.stalled = 0  # calls let through that wait for the store thread (see StatusMachine.run_quick)
        self.queued = 0  # calls that had to wait for a later iteration (tests, benches)

    @property
    def waiting(self) -> int:
        return len(self._waiting) + len(self._first) + len(self._again)

    async def turn(self, first: bool = False, again: bool = False) -> None:
        """Return when this call may run; at once while fewer than PER_TURN ran this iteration."""
        if again:
            line, ahead = self._again, bool(self._again)
        elif first:
            line, ahead = self._first, bool(self._again or self._first)
        else:
            line, ahead = self._waiting, bool(self._again or self._first or self._waiting)
        if not ahead and self._granted < self.per_turn:
            self._granted += 1
            self._arm()
            return
        future = asyncio.get_running_loop().create_future()
        line.append(future)
        self.queued += 1
        self._arm()
        await future  # cancelled while waiting: the pump skips it

    def _arm(self) -> None:
        if not self._pump_armed:
            self._pump_armed = True
            asyncio.get_running_loop().call_soon(self._pump)

    def _pump(self) -> None:
        """Once per iteration while anything was let through or waits: let the next ones through."""
        self._pump_armed = False
        self._granted = 0
        for line in (self._again, self._first, self._waiting):
            while line and self._granted < self.per_turn:
                future = line.popleft()
                if not future.done():
                    future.set_result(None)
                    self._granted += 1
        if self._again or self._first or self._waiting:
            self._arm()

"""The JS engine host: runs job-type scripts in a child process, one at a time, with a time limit.

The Manager uses several of these through `engine_pool.EnginePool`, so that a slow script of one
job type does not hold up the others; each engine here is one child process.

dukpy evaluates JavaScript in C while holding the thread, and has no way to interrupt a
script from outside. So scripts run in a persistent child process (`jsruntime.serve`),
started with the 'spawn' method (no fork of the Manager's threads and sockets). The
Manager's event loop only waits on a pipe from a worker thread. A script that runs past
its time limit gets the whole child killed; the next request starts a fresh one.

Measured on the (slow, 2-core) development VM: starting the child costs 0.2-0.3 s, while
a whole small compile on a warm child (fresh QuickJS context, prelude, script, round
trip) takes about 5 ms. A process per compile would pay the start-up every time, so the
child is kept. In the child, RLIMIT_AS (POSIX) turns a script that allocates without
end into a quick "out of memory" error instead of a swapping machine.

The child is started with multiprocessing's 'spawn' method, which re-imports the
host's `__main__` module: entry points must keep the `if __name__ == "__main__":` guard
(`app/__main__.py` and the `tablao` console script do), and a frozen build must call
`multiprocessing.freeze_support()` first thing.

`JsEngine` is the protocol the compiler needs; tests may pass a fake.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from app.manager.job_compilers import jsruntime

_log = logging.getLogger(__name__)

_START_TIMEOUT_S = 60.0  # a cold start on a busy machine can take seconds; scripts get their own limit
_STOP_TIMEOUT_S = 2.0
DEFAULT_MAX_MEMORY_BYTES = 3 * 1024**3


class ScriptTimeout(Exception):
    """The script did not finish in time; its process was killed."""


class EngineFailure(Exception):
    """The engine process could not be started or died while running a script."""


class JsEngine(Protocol):
    async def run(self, op: str, timeout_s: float, *, lane: str = "", **kwargs: Any) -> dict[str, Any]:
        """Run `jsruntime.<op>(**kwargs)` in the engine and return its decoded reply.

        Runs in one `lane` (the job type) happen one at a time; an engine with several
        processes may run other lanes meanwhile (`engine_pool.EnginePool`).
        """
        ...

    async def close(self) -> None: ...


class ProcessJsEngine:
    """A `JsEngine` backed by one long-lived child process, restarted after a timeout or crash."""

    def __init__(self, max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES):
        # 'spawn' everywhere: forking a Manager that runs threads and holds sockets is
        # unsafe, and it is the only method Windows has anyway.
        self._context = multiprocessing.get_context("spawn")
        self._max_memory_bytes = max_memory_bytes
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def _loop_lock(self) -> asyncio.Lock:
        # Made per event loop: an asyncio.Lock belongs to the loop that first waits on it,
        # and tests may share one engine between several loops.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    @property
    def warm(self) -> bool:
        """Whether the child process is running (a request needs no process start)."""
        return self._process is not None and self._process.is_alive()

    async def start(self) -> None:
        """Start the child now rather than on the first request (optional)."""
        async with self._loop_lock():
            await self._ensure_started()

    async def run(self, op: str, timeout_s: float, *, lane: str = "", **kwargs: Any) -> dict[str, Any]:
        # One process: every lane waits for the one before it.
        async with self._loop_lock():
            await self._ensure_started()
            assert self._conn is not None
            conn = self._conn
            try:
                return await asyncio.to_thread(_round_trip, conn, (op, kwargs), timeout_s)
            except ScriptTimeout:
                _log.warning("stopping job compiler process: %r ran longer than %.1f s", op, timeout_s)
                await asyncio.to_thread(self._discard)
                raise
            except EngineFailure:
                await asyncio.to_thread(self._discard)
                raise
            except asyncio.CancelledError:
                # The reply to this request would confuse the next one; start afresh.
                self._discard(wait=False)
                raise

    async def close(self) -> None:
        """Stop the child process (politely, then forcibly)."""
        if self._process is None:
            return
        await asyncio.to_thread(self._stop)

    # ---- process management (blocking; called in a worker thread) -----------------------

    async def _ensure_started(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        if self._process is not None:
            _log.warning(
                "job compiler process exited with code %s; starting a new one", self._process.exitcode
            )
            self._discard(wait=False)
        # Started from the event loop's own thread, which lives as long as the Manager: on Linux
        # the child asks to die with the thread that started it (see jsruntime._die_with_parent),
        # and a pool thread may retire long before the Manager does.
        process, parent_conn = self._start_process()
        await asyncio.to_thread(self._await_ready, process, parent_conn)

    def _start_process(self) -> tuple[BaseProcess, Connection]:
        parent_conn, child_conn = self._context.Pipe()
        process = self._context.Process(
            target=jsruntime.serve,
            args=(child_conn, self._max_memory_bytes),
            name="tablao-job-compiler",
            daemon=True,  # dies with the Manager
        )
        process.start()
        child_conn.close()
        return process, parent_conn

    def _await_ready(self, process: BaseProcess, parent_conn: Connection) -> None:
        try:
            _round_trip(parent_conn, ("ping", {}), _START_TIMEOUT_S)
        except (ScriptTimeout, EngineFailure) as exc:
            process.kill()
            process.join(_STOP_TIMEOUT_S)
            raise EngineFailure(f"the job compiler process did not start: {exc}") from None
        self._process, self._conn = process, parent_conn
        _log.info("started job compiler process, pid %s", process.pid)

    def _discard(self, wait: bool = True) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is None:
            return
        if process.is_alive():
            process.kill()
        if wait:
            process.join(_STOP_TIMEOUT_S)
            if conn is not None:
                conn.close()
        # Without waiting, a thread may still be reading `conn`; the kill gives it EOF and
        # the connection is closed when it is garbage. multiprocessing reaps the process.

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        try:
            conn.send(None)
            process.join(_STOP_TIMEOUT_S)
        except OSError:
            pass
        self._discard()
        _log.info("stopped job compiler process")


def _round_trip(conn: Connection, request: tuple[str, dict[str, Any]], timeout_s: float) -> dict[str, Any]:
    """Send one request and wait for its reply; decoding happens here, off the event loop."""
    try:
        conn.send(request)
        if not conn.poll(timeout_s):
            raise ScriptTimeout(f"no reply within {timeout_s:.1f} s")
        raw = conn.recv_bytes()
    except (EOFError, OSError) as exc:
        raise EngineFailure(
            f"the job compiler process stopped unexpectedly ({exc.__class__.__name__})"
        ) from None
    reply: dict[str, Any] = json.loads(raw)
    return reply

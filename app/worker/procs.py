"""Running external programs (Blender, FFmpeg, ...) for worker commands.

Owns: starting a process in its own process group/session so its whole tree can be stopped,
streaming merged stdout/stderr as text lines (long lines split at UTF-8 boundaries), and killing
the whole process tree with psutil when the command is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import psutil

from app.worker.aiotools import cancel_and_wait

_log = logging.getLogger(__name__)

#: Longer lines are split; Blender can print huge lines (e.g. Python tracebacks with data).
MAX_LINE_BYTES = 40 * 1024
_READ_CHUNK = 64 * 1024
_IS_POSIX = os.name == "posix"


def command_line(argv: Sequence[str]) -> str:
    """A copy-pasteable shell-quoted command line for logs."""
    if sys.platform == "win32":
        return subprocess.list2cmdline(list(argv))
    return shlex.join(argv)


class LineSplitter:
    """Turns a byte stream into text lines.

    Lines end at `\\n` or `\\r` (FFmpeg redraws its progress with `\\r`). Empty lines are dropped.
    A line longer than `max_bytes` is cut into pieces, never inside a UTF-8 sequence.
    """

    def __init__(self, max_bytes: int = MAX_LINE_BYTES):
        self.max_bytes = max_bytes
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[str]:
        self._pending.extend(data)
        lines: list[str] = []
        while True:
            cut = _first_line_end(self._pending)
            if cut < 0:
                break
            self._emit(bytes(self._pending[:cut]), lines)
            del self._pending[: cut + 1]
        while len(self._pending) > self.max_bytes:
            cut = _utf8_boundary(self._pending, self.max_bytes)
            self._emit(bytes(self._pending[:cut]), lines)
            del self._pending[:cut]
        return lines

    def flush(self) -> list[str]:
        lines: list[str] = []
        self._emit(bytes(self._pending), lines)
        self._pending.clear()
        return lines

    def _emit(self, raw: bytes, out: list[str]) -> None:
        while len(raw) > self.max_bytes:
            cut = _utf8_boundary(raw, self.max_bytes)
            out.append(raw[:cut].decode("utf-8", errors="replace"))
            raw = raw[cut:]
        if raw:
            out.append(raw.decode("utf-8", errors="replace"))


def _first_line_end(buf: bytearray) -> int:
    n, r = buf.find(b"\n"), buf.find(b"\r")
    if n < 0:
        return r
    if r < 0:
        return n
    return min(n, r)


def _utf8_boundary(buf: bytes | bytearray, limit: int) -> int:
    """The largest cut position <= limit that does not split a UTF-8 sequence."""
    cut = limit
    # Continuation bytes look like 0b10xxxxxx; step back over at most 3 of them.
    while cut > limit - 4 and cut > 0 and (buf[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > 0 else limit


async def run_process(
    argv: Sequence[str],
    on_line: Callable[[str], None],
    *,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
    kill_grace_s: float = 1.0,
    oom_score_adjust: int | None = None,
) -> int:
    """Run `argv` (no shell), feed each output line to `on_line`, return the exit code.

    On cancellation the whole process tree is terminated, given `kill_grace_s` to exit, then
    killed, and the `CancelledError` propagates. `FileNotFoundError`/`PermissionError` propagate
    when the executable cannot be started.
    """
    kwargs: dict = {}
    if _IS_POSIX:
        # A new session makes the process a group leader, so one killpg reaches every descendant
        # that did not move itself elsewhere.
        kwargs["start_new_session"] = True
    else:
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    if oom_score_adjust is not None and sys.platform == "linux":
        kwargs["preexec_fn"] = oom_score_adjust_hook(oom_score_adjust)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
        env=env,
        **kwargs,
    )
    if oom_score_adjust is not None:
        set_oom_score_adjust(proc.pid, oom_score_adjust)
    if on_start is not None:
        on_start(proc.pid)
    pump = asyncio.create_task(_pump_lines(proc, on_line))
    try:
        returncode = await _wait_for_exit(proc, pump)
        await _finish_pump(proc, pump)
        return returncode
    except asyncio.CancelledError:
        _log.info("cancelled; killing process tree of pid %d", proc.pid)
        await _shielded(kill_process_tree(proc, kill_grace_s))
        await cancel_and_wait(pump)
        raise


def oom_score_adjust_hook(value: int) -> Callable[[], None]:
    """A pre-exec hook that sets the child's `oom_score_adj` before it runs anything.

    Setting it from outside after the start comes too late for a program that at once starts the
    real work in a child (bubblewrap starts Blender within a millisecond): children inherit the
    value at the moment they are forked.
    """
    data = f"{value}\n".encode()

    def hook() -> None:
        try:
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        except OSError:
            return
        try:
            os.write(fd, data)
        except OSError:
            pass
        finally:
            os.close(fd)

    return hook


def set_oom_score_adjust(pid: int, value: int) -> bool:
    """Linux: make the kernel's out-of-memory killer pick `pid` (and what it starts) sooner.

    Set right after the start (`oom_score_adjust_hook` set it already; this reports a refusal).
    Raising the value needs no privileges. Elsewhere, or when refused, it logs and goes on: never a
    task failure.
    """
    if sys.platform != "linux":
        return False
    try:
        Path(f"/proc/{pid}/oom_score_adj").write_text(f"{value}\n")
    except OSError as exc:
        _log.warning("could not set oom_score_adj of pid %d to %d: %s", pid, value, exc.strerror or exc)
        return False
    return True


async def _wait_for_exit(proc: asyncio.subprocess.Process, pump: asyncio.Task[None]) -> int:
    """The exit code, as soon as the process exits.

    `proc.wait()` (Python 3.11) only resolves once the output pipe is closed too, which a leftover
    grandchild holding our stdout can delay forever; `returncode` is set at exit itself.
    """
    while proc.returncode is None and not pump.done():
        await asyncio.wait({pump}, timeout=0.1)
    if proc.returncode is None:
        # Output ended first (EOF); the exit follows right away.
        return await proc.wait()
    return proc.returncode


async def _wait_returncode(proc: asyncio.subprocess.Process, timeout_s: float) -> bool:
    """Wait up to `timeout_s` for the process to exit; True when it did."""
    deadline = time.monotonic() + timeout_s
    while proc.returncode is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return proc.returncode is not None


async def _pump_lines(proc: asyncio.subprocess.Process, on_line: Callable[[str], None]) -> None:
    assert proc.stdout is not None
    splitter = LineSplitter()
    while True:
        chunk = await proc.stdout.read(_READ_CHUNK)
        if not chunk:
            break
        for line in splitter.feed(chunk):
            on_line(line)
    for line in splitter.flush():
        on_line(line)


async def _finish_pump(proc: asyncio.subprocess.Process, pump: asyncio.Task[None]) -> None:
    """Read the remaining output; don't hang on orphans that inherited the pipe and keep it open."""
    done, _ = await asyncio.wait({pump}, timeout=2.0)
    if not done:
        _log.warning("pid %d exited but its output pipe stays open; killing leftover processes", proc.pid)
        await asyncio.to_thread(_kill_group, proc.pid, 1.0)
        await cancel_and_wait(pump)


async def _shielded(coro: Awaitable[None]) -> None:
    """Await cleanup to the end even if our task is cancelled again meanwhile."""
    fut = asyncio.ensure_future(coro)
    while not fut.done():
        try:
            await asyncio.shield(fut)
        except asyncio.CancelledError:
            continue
    fut.result()


async def kill_process_tree(proc: asyncio.subprocess.Process, grace_s: float = 1.0) -> None:
    """Terminate `proc` and all its descendants; kill whatever survives `grace_s`; reap `proc`."""
    descendants = _descendants(proc.pid)
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    for p in descendants:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    # The root is our child: asyncio reaps it. The others are polled with psutil in a thread.
    waiter = asyncio.create_task(asyncio.to_thread(_wait_gone, descendants, grace_s))
    await _wait_returncode(proc, grace_s)
    survivors = await waiter
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    _signal_group(proc.pid, signal.SIGKILL if _IS_POSIX else signal.SIGTERM)
    for p in survivors:
        _log.info("killing pid %d that ignored the termination request", p.pid)
        with contextlib.suppress(psutil.Error):
            p.kill()
    if not await _wait_returncode(proc, 2.0):
        _log.error("pid %d did not exit after SIGKILL", proc.pid)
    await asyncio.to_thread(_wait_gone, survivors, 1.0)


def _descendants(pid: int) -> list[psutil.Process]:
    """All processes below `pid`, plus members of its process group that were re-parented."""
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children(recursive=True):
            found[child.pid] = child
    if _IS_POSIX:
        for p in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if p.pid != pid and os.getpgid(p.pid) == pid:
                    found.setdefault(p.pid, p)
    return list(found.values())


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    if not _IS_POSIX:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _is_alive(p: psutil.Process) -> bool:
    try:
        # A zombie has exited already; only its parent's bookkeeping is left.
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(procs: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Poll until all `procs` are gone or `timeout_s` passed; return the survivors."""
    deadline = time.monotonic() + timeout_s
    alive = [p for p in procs if _is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _is_alive(p)]
    return alive


def _kill_group(pgid: int, grace_s: float) -> None:
    """Stop leftovers of a process group whose leader has already exited."""
    members = _descendants(pgid)
    _signal_group(pgid, signal.SIGTERM)
    for p in members:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    for p in _wait_gone(members, grace_s):
        with contextlib.suppress(psutil.Error):
            p.kill()
    _signal_group(pgid, signal.SIGKILL if _IS_POSIX else signal.SIGTERM)

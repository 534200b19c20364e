"""The worker's one warm Blender: when it is reused, reloaded, recycled and released.

`WarmBlenders.render()` renders a warm request's frames, reusing the running Blender when it was
started for the same command line (apart from the frames) and nothing it loaded changed on disk
since; otherwise it starts a fresh one first. A Blender that crashes, fails a frame or is
cancelled is killed (with its tree) and forgotten, so the next task starts afresh. After a task,
it is recycled once it rendered `warm_blender_max_frames` frames or grew past
`warm_blender_max_memory_mb`; it is released after `warm_blender_idle_s` without work, when the
worker goes to sleep, and when the worker stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.worker import procs
from app.worker.aiotools import cancel_and_wait
from app.worker.config import WorkerConfig
from app.worker.sandbox import Sandbox, SandboxError, bwrap
from app.worker.warm.process import CONTROL_SCRIPT, WarmBlender, WarmBlenderExited, WarmRenderFailed
from app.worker.warm.request import WarmRequest

_log = logging.getLogger(__name__)

#: The sandbox's scratch folder for the warm Blender (there is one at a time).
WARM_SCRATCH = "warm"

FileStamp = tuple[int, int, int] | None


class WarmFailed(Exception):
    """The warm render failed the way a cold one would (the message says how)."""


class MustRunCold(Exception):
    """The loaded scene cannot be rendered warm (e.g. it writes a movie); run this task cold."""


@dataclass(frozen=True)
class TaskHooks:
    """Where a warm render reports: task-log lines and Blender's output lines."""

    log: Callable[[str], None]
    output: Callable[[int, str], None]


def _stamp(path: str) -> FileStamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _stamps(paths: Iterable[str]) -> dict[str, FileStamp]:
    return {p: _stamp(p) for p in paths}


class _Slot:
    """A running warm Blender plus what it was started for."""

    def __init__(
        self, blender: WarmBlender, request: WarmRequest, stamps: dict[str, FileStamp], confined: bool
    ):
        self.blender = blender
        self.key = request.key
        self.sandbox = request.sandbox
        self.stamps = stamps
        #: Whether it runs in the sandbox (and so has a scratch folder to empty when it ends).
        self.confined = confined

    def changed_file(self) -> str | None:
        for path, stamp in self.stamps.items():
            if _stamp(path) != stamp:
                return path
        return None


class WarmBlenders:
    """Holds at most one warm Blender for this worker. Not for concurrent renders."""

    def __init__(self, config: WorkerConfig, sandbox: Sandbox | None = None):
        self._config = config
        self._sandbox = sandbox if sandbox is not None else Sandbox(config)
        self._slot: _Slot | None = None
        self._lock = asyncio.Lock()
        self._idle_timer: asyncio.Task[None] | None = None
        #: Command lines whose scene turned out not to work warm; they run cold from then on.
        self._cold_keys: dict[tuple[str, ...], str] = {}

    @property
    def pid(self) -> int:
        """The pid of the warm Blender, 0 when there is none."""
        return self._slot.blender.pid if self._slot is not None and self._slot.blender.alive else 0

    def cold_reason(self, request: WarmRequest) -> str | None:
        return self._cold_keys.get(request.key)

    async def render(self, request: WarmRequest, hooks: TaskHooks) -> None:
        """Render the request's frames warm. Raises `WarmFailed`, `MustRunCold`, or is cancelled."""
        await cancel_and_wait(*([self._idle_timer] if self._idle_timer else []))
        async with self._lock:
            try:
                slot = await self._slot_for(request, hooks)
                await self._render_frames(slot, request, hooks)
            except BaseException:
                # Crash, failed frame, cancel: this process can no longer be trusted.
                await self._drop("the task did not finish", kill=True)
                raise
            finally:
                # Between tasks, whatever Blender prints belongs to no task log.
                if self._slot is not None:
                    self._slot.blender.on_line = _debug_line
            await self._recycle_if_due(hooks)
        self._arm_idle_timer()

    async def release(self, why: str) -> None:
        """Stop the warm Blender now (worker asleep, stopping, idle)."""
        await cancel_and_wait(*([self._idle_timer] if self._idle_timer else []))
        async with self._lock:
            await self._drop(why)

    async def close(self) -> None:
        await self.release("the worker is stopping")

    async def _slot_for(self, request: WarmRequest, hooks: TaskHooks) -> _Slot:
        slot = self._slot
        if slot is not None:
            why = None
            if not slot.blender.alive:
                why = "it exited"
            elif slot.key != request.key:
                why = "this task has a different command line"
            elif slot.sandbox != request.sandbox:
                why = "this task needs a different sandbox"
            elif (path := slot.changed_file()) is not None:
                why = f"{path} changed on disk"
            if why is None:
                b = slot.blender
                hooks.log(f"warm Blender: reusing pid {b.pid} (loaded {time.monotonic() - b.started_at:.1f}s "
                          f"ago, {b.frames_rendered} frames rendered since)")
                if slot.confined and slot.sandbox is not None:
                    for note in slot.sandbox.notes:
                        hooks.log(f"sandbox: {note}")
                return slot
            hooks.log(f"warm Blender: reloading, {why}")
            await self._drop(why)
        return await self._start(request, hooks)

    async def _start(self, request: WarmRequest, hooks: TaskHooks) -> _Slot:
        # Stamp before loading, so a change during the load still counts as a change.
        stamps = _stamps([request.blendfile, *request.scripts])
        prefix = await self._sandbox_prefix(request, hooks)
        blender = WarmBlender(request.key, self._config.oom_score_adjust, prefix)
        hooks.log(f"going to run: {procs.command_line(blender.argv)}")
        blender.on_line = lambda line: hooks.output(blender.pid, line)
        try:
            ready = await blender.start()
        except WarmBlenderExited as exc:
            raise WarmFailed(str(exc)) from None
        except WarmRenderFailed as exc:
            raise WarmFailed(f"warm Blender did not start: {exc}") from None
        finally:
            if prefix and not blender.alive:
                self._sandbox.reset_scratch(WARM_SCRATCH)
        _log.info("warm blender pid %d ready for %s", blender.pid, request.blendfile)
        hooks.log(f"warm Blender: pid {blender.pid} loaded the file in "
                  f"{time.monotonic() - blender.started_at:.1f}s")
        stamps.update(_stamps(d for d in ready.dependencies if d not in stamps))
        self._slot = _Slot(blender, request, stamps, confined=bool(prefix))
        if ready.movie:
            self._cold_keys[request.key] = "the scene writes a movie file"
            raise MustRunCold(self._cold_keys[request.key])
        return self._slot

    async def _sandbox_prefix(self, request: WarmRequest, hooks: TaskHooks) -> list[str]:
        """The sandbox's command line for this Blender; [] when it runs unconfined."""
        if request.sandbox is None:
            return []
        # The control script lies with the worker's code, which may be in a home folder.
        spec = dataclasses.replace(request.sandbox, trusted=(*request.sandbox.trusted, str(CONTROL_SCRIPT)))
        try:
            return await self._sandbox.prefix(spec, WARM_SCRATCH, hooks.log)
        except SandboxError as exc:
            raise WarmFailed(str(exc)) from None

    async def _render_frames(self, slot: _Slot, request: WarmRequest, hooks: TaskHooks) -> None:
        blender = slot.blender
        blender.on_line = lambda line: hooks.output(blender.pid, line)
        started = time.monotonic()
        for frame in request.frames:
            try:
                await blender.render(frame)
            except WarmBlenderExited as exc:
                note = bwrap.exit_note(exc.code) if blender.confined else ""
                hooks.log(f"pid={blender.pid} exited with code {exc.code}{note} after "
                          f"{time.monotonic() - started:.1f}s")
                raise WarmFailed(str(exc)) from None
            except WarmRenderFailed as exc:
                raise WarmFailed(f"blender failed to render {exc}") from None
        hooks.log(f"pid={blender.pid} rendered {len(request.frames)} frames warm after "
                  f"{time.monotonic() - started:.1f}s")

    async def _recycle_if_due(self, hooks: TaskHooks) -> None:
        slot = self._slot
        if slot is None:
            return
        blender, cfg = slot.blender, self._config
        why = None
        if cfg.warm_blender_max_frames and blender.frames_rendered >= cfg.warm_blender_max_frames:
            why = f"it rendered {blender.frames_rendered} frames (warm_blender_max_frames)"
        elif cfg.warm_blender_max_memory_mb:
            rss_mb = blender.rss_bytes() / 2**20
            if rss_mb > cfg.warm_blender_max_memory_mb:
                why = f"it uses {rss_mb:.0f} MB (warm_blender_max_memory_mb)"
        if why is not None:
            hooks.log(f"warm Blender: recycling pid {blender.pid}, {why}")
            await self._drop(why)

    async def _drop(self, why: str, kill: bool = False) -> None:
        """Forget the warm Blender: ask it to quit, or (`kill`) kill its tree at once."""
        slot, self._slot = self._slot, None
        if slot is None:
            return
        _log.info("stopping warm blender pid %d: %s", slot.blender.pid, why)
        try:
            await _shielded(slot.blender.kill() if kill else slot.blender.stop())
        finally:
            if slot.confined:
                self._sandbox.reset_scratch(WARM_SCRATCH)

    def _arm_idle_timer(self) -> None:
        idle_s = self._config.warm_blender_idle_s
        if self._slot is None or idle_s <= 0:
            return

        async def release_when_idle() -> None:
            await asyncio.sleep(idle_s)
            async with self._lock:
                await self._drop(f"idle for {idle_s:.0f}s")

        self._idle_timer = asyncio.create_task(release_when_idle(), name="warm-blender-idle")


def _debug_line(line: str) -> None:
    _log.debug("warm blender > %s", line)


async def _shielded(coro) -> None:
    """Finish stopping a process even when the caller is cancelled meanwhile."""
    fut = asyncio.ensure_future(coro)
    cancelled = False
    while not fut.done():
        try:
            await asyncio.shield(fut)
        except asyncio.CancelledError:
            cancelled = True
    fut.result()
    if cancelled:
        raise asyncio.CancelledError()

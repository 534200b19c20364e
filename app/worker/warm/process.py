"""One warm Blender process: start it, wait until the file is loaded, render frames, stop it.

The process runs `<command line without frames> --python scripts/warm_control.py` (after the
sandbox's command line when it runs confined) in its own session (one killpg reaches its tree),
with a parent-death signal on Linux so it dies with the worker even after `kill -9`. Requests go to its stdin as JSON lines; its merged stdout/stderr is
read line by line: lines that start with this process's random nonce are answers from the
control script, every other line is Blender output and goes to the current line handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from app.worker import procs
from app.worker.aiotools import cancel_and_wait
from app.worker.sandbox.bwrap import exit_note

_log = logging.getLogger(__name__)

CONTROL_SCRIPT = Path(__file__).resolve().parent / "scripts" / "warm_control.py"
_QUIT_GRACE_S = 2.0


class WarmBlenderExited(Exception):
    """The process ended before answering (crash, `sys.exit` in a script, killed)."""

    def __init__(self, code: int | None, note: str = ""):
        super().__init__(f"blender exited with code {code}{note}")
        self.code = code


class WarmRenderFailed(Exception):
    """Blender reported an error while rendering a frame (it is still running, but suspect)."""


@dataclass(frozen=True)
class Ready:
    """What the control script tells once the file is loaded."""

    pid: int
    scene: str
    #: Linked libraries and external images the file uses (absolute paths).
    dependencies: tuple[str, ...]
    movie: bool


def _die_with_parent(parent_pid: int, oom_score_adjust: int | None = None) -> Callable[[], None] | None:
    """A pre-exec hook: Linux kills the child (SIGKILL) when the worker dies, even by `kill -9`.

    It also sets the child's `oom_score_adj`, before a sandbox starts Blender as its child.
    """
    if not sys.platform.startswith("linux"):
        return None
    set_oom = procs.oom_score_adjust_hook(oom_score_adjust) if oom_score_adjust is not None else None

    def hook() -> None:
        import ctypes
        import signal

        if set_oom is not None:
            set_oom()
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent_pid:  # the worker died before prctl took effect
            os._exit(1)

    return hook


class WarmBlender:
    """A running Blender with a file loaded. Use `start()`, then `render()` per frame, then `stop()`."""

    def __init__(self, argv: Sequence[str], oom_score_adjust: int | None = None, prefix: Sequence[str] = ()):
        #: `prefix`: the sandbox's command line, when Blender runs confined.
        self.argv = [*prefix, *argv, "--python", str(CONTROL_SCRIPT)]
        self.confined = bool(prefix)
        self._oom = oom_score_adjust
        self._nonce = "@tablao-warm-" + secrets.token_hex(8)
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._answers: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()
        self.on_line: Callable[[str], None] = lambda line: _log.debug("warm blender > %s", line)
        self.ready: Ready | None = None
        self.frames_rendered = 0
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc is not None else 0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def rss_bytes(self) -> int:
        """Resident memory of the process and its children (a sandbox's Blender is one); 0 when gone."""
        if not self.alive:
            return 0
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    async def start(self) -> Ready:
        """Start Blender and wait until it has loaded the file and applied the arguments."""
        env = dict(os.environ, TABLAO_WARM_NONCE=self._nonce)
        kwargs: dict[str, Any] = {"start_new_session": True} if os.name == "posix" else {}
        hook = _die_with_parent(os.getpid(), self._oom)
        if hook is not None:
            kwargs["preexec_fn"] = hook
        self.started_at = time.monotonic()
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env, **kwargs)
        if self._oom is not None:
            procs.set_oom_score_adjust(self._proc.pid, self._oom)
        self._reader = asyncio.create_task(self._read(), name=f"warm-blender-{self._proc.pid}")
        try:
            data = await self._answer("ready")
        except BaseException:
            await self.kill()
            raise
        self.ready = Ready(pid=self._proc.pid, scene=str(data.get("scene", "")),
                           dependencies=tuple(str(p) for p in data.get("libraries", [])),
                           movie=bool(data.get("movie")))
        return self.ready

    async def render(self, frame: int) -> None:
        """Render one frame; its output lines go to `on_line` before this returns."""
        await self._send({"op": "render", "frame": frame})
        data = await self._answer("done")
        if not data.get("ok"):
            raise WarmRenderFailed(f"frame {frame}: {data.get('error') or 'render failed'}")
        self.frames_rendered += 1

    async def stop(self) -> None:
        """Ask Blender to quit; kill its tree when it does not within a short grace time."""
        if self._proc is None:
            return
        if self.alive:
            with contextlib.suppress(ConnectionError, RuntimeError, OSError):
                await self._send({"op": "quit"})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_QUIT_GRACE_S):
                    await self._proc.wait()
        await self.kill()

    async def kill(self) -> None:
        """Kill the whole process tree now (cancel, crash, hang) and reap it. Safe to repeat."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.returncode is None:
                await procs.kill_process_tree(proc, grace_s=0.5)
        finally:
            if self._reader is not None:
                await cancel_and_wait(self._reader)
            if proc.stdin is not None:
                proc.stdin.close()

    async def _send(self, request: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        if not self.alive:
            raise self._exited(self._proc.returncode)
        self._proc.stdin.write((json.dumps(request) + "\n").encode())
        try:
            await self._proc.stdin.drain()
        except (ConnectionError, OSError):
            raise self._exited(await self._exit_code()) from None

    async def _answer(self, kind: str) -> dict[str, Any]:
        answer = await self._answers.get()
        if answer is None:
            raise self._exited(await self._exit_code())
        got, data = answer
        if got != kind:
            raise WarmRenderFailed(f"unexpected answer {got!r} from the control script")
        return data

    def _exited(self, code: int | None) -> WarmBlenderExited:
        return WarmBlenderExited(code, exit_note(code) if self.confined else "")

    async def _exit_code(self) -> int | None:
        assert self._proc is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                return await self._proc.wait()
        return self._proc.returncode

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        splitter = procs.LineSplitter()
        try:
            while chunk := await self._proc.stdout.read(64 * 1024):
                for line in splitter.feed(chunk):
                    self._dispatch(line)
            for line in splitter.flush():
                self._dispatch(line)
        finally:
            self._answers.put_nowait(None)

    def _dispatch(self, line: str) -> None:
        if line.startswith(self._nonce + " "):
            kind, _, payload = line[len(self._nonce) + 1:].partition(" ")
            try:
                data = json.loads(payload) if payload else {}
            except ValueError:
                data = {}
            self._answers.put_nowait((kind, data if isinstance(data, dict) else {}))
            return
        self.on_line(line)
